"""Plain-text tables for people."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

__all__ = ["table", "to_json"]


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def to_json(document: Any) -> str:
    """``document`` as indented JSON; a float that is not finite (past a float's range, or undefined) is null.

    Python's json writes ``Infinity`` and ``NaN``, which no JSON reader accepts.
    """
    return json.dumps(_finite(document), indent=2, allow_nan=False)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "", indent: str = "  ") -> str:
    """Columns aligned: ``align`` has one letter per column, ``l`` or ``r`` (default: first left, rest right)."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    align = align or "l" + "r" * (len(header) - 1)

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.ljust(width) if side == "l" else cell.rjust(width)
            for cell, width, side in zip(cells, widths, align, strict=True)
        )
        return indent + "  ".join(padded).rstrip()

    return "\n".join([line(header), *(line(row) for row in rows)])
