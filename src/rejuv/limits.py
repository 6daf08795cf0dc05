"""Resource limits: what an input will cost is checked before it is spent.

A few bytes of input (a CSV whose last time is ``1e9``, ``--step 1e-6s``) can
ask for terabytes. Each command estimates the memory an input needs and calls
:func:`check_memory` before allocating it; past the limit it raises
:class:`~rejuv.errors.ResourceLimitError` with the estimate, the input to
change and how to raise the limit.

The limit is a quarter of the machine's physical memory unless
``REJUV_MEMORY_LIMIT`` says otherwise (``rejuv --memory-limit SIZE`` sets it
for one command and the processes it starts, Dask workers included).
"""

from __future__ import annotations

import os
import re

from rejuv.errors import ParameterError, ResourceLimitError

__all__ = [
    "check_memory",
    "memory_limit",
    "parse_size",
    "format_size",
    "physical_memory",
    "MEMORY_LIMIT_VARIABLE",
    "DEFAULT_MEMORY_FRACTION",
]

#: The environment variable that sets the memory limit (a size: ``8G``, ``512MiB``, ``1e9``).
MEMORY_LIMIT_VARIABLE = "REJUV_MEMORY_LIMIT"
#: Without it, the limit is this fraction of physical memory.
DEFAULT_MEMORY_FRACTION = 0.25

_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SIZE = re.compile(r"\s*([0-9.eE+]+)\s*([kmgtKMGT]?)(?:i?[bB])?\s*")


def parse_size(text: str, what: str = "--memory-limit") -> int:
    """``"8G"``, ``"512MiB"``, ``"1.5GB"`` or ``"1e9"`` (bytes) as a byte count; K, M, G, T are powers of 1024."""
    found = _SIZE.fullmatch(text)
    try:
        number = float(found.group(1)) if found else float("nan")
    except ValueError:
        number = float("nan")
    if found is None or not number > 0 or number == float("inf"):
        raise ParameterError(what, f"expected a positive size such as 8G, 512M or 1e9 (bytes), got {text!r}")
    return int(number * _UNITS[found.group(2).lower()])


def format_size(size: float) -> str:
    """A byte count for people: ``7.5 GiB``."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size:.0f} B"


def physical_memory() -> int:
    """The machine's physical memory, in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_limit() -> int:
    """The most memory one input may ask for, in bytes (``REJUV_MEMORY_LIMIT``, else a quarter of RAM)."""
    text = os.environ.get(MEMORY_LIMIT_VARIABLE)
    if text:
        return parse_size(text, MEMORY_LIMIT_VARIABLE)
    return int(physical_memory() * DEFAULT_MEMORY_FRACTION)


def check_memory(what: str, needed: float, remedy: str) -> None:
    """Refuse an input that needs more than :func:`memory_limit` bytes.

    ``what`` names the input (``--step``, ``run.csv``), ``needed`` is the
    estimate in bytes and ``remedy`` says what to change (``use a coarser
    --step``). Raises :class:`ResourceLimitError`.
    """
    limit = memory_limit()
    if needed > limit:
        raise ResourceLimitError(
            what,
            f"needs about {format_size(needed)} of memory, more than the limit of {format_size(limit)}; "
            f"{remedy}, or raise the limit with rejuv --memory-limit SIZE",
        )
