"""JSON that every reader accepts: a float that is not finite is written as null.

Python's :mod:`json` writes ``Infinity`` and ``NaN``, which no JSON reader
accepts; a result past a float's range (``T_vmm = 1e308``) or undefined is
``null`` instead. Every JSON rejuv prints or writes goes through :func:`to_json`.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["to_json"]


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def to_json(document: Any) -> str:
    """``document`` as indented JSON, with null for every float that is not finite."""
    return json.dumps(_finite(document), indent=2, allow_nan=False)
