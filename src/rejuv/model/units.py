"""Parsing and formatting of quantities with units: durations, rates, throughputs.

Durations are stored in seconds. Text such as ``"59s"``, ``"6.5min"``, ``"28d"``,
``"7 days"`` or ``"2 weeks"`` is accepted wherever a duration is, and so are
Prometheus-style compounds (``"15m"``, ``"1h30m"``, ``"2d12h"``, ``"1m30s500ms"``);
a bare number means seconds. Rates are fractions in [0, 1] and also accept ``"61%"``.
"""

from __future__ import annotations

import math
import re

__all__ = ["SECONDS_PER_UNIT", "format_duration", "parse_duration", "parse_number", "parse_rate"]

SECONDS_PER_UNIT: dict[str, float] = {
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,  # Prometheus' minute
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "wk": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
    # A Julian year, so that "per year" figures do not depend on the calendar.
    "y": 31557600.0,
    "yr": 31557600.0,
    "year": 31557600.0,
    "years": 31557600.0,
}

#: Prometheus' duration units, largest first: a compound names each at most once, in this order.
_COMPOUND_UNITS = ("y", "w", "d", "h", "m", "s", "ms")
_COMPOUND_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|y|w|d|h|m|s)")
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z%/]*)\s*$")


def _kind(value: object) -> str:
    """A value's TOML kind for a message: ``a list``, ``a table``, ``a date-time``."""
    names = {"list": "a list", "dict": "a table", "datetime": "a date-time", "date": "a date", "time": "a time"}
    return names.get(type(value).__name__, f"a {type(value).__name__}")


def _split(text: str) -> tuple[float, str]:
    if not isinstance(text, str):  # a TOML list, table or date-time given where one value belongs
        raise ValueError(f"expected a number or a text such as '59s', got {_kind(text)}")
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"cannot read {text!r} as a number with an optional unit")
    return float(match.group(1)), match.group(2)


def parse_number(value: str | float | int) -> float:
    """Read a plain number (``"11"``, ``560``, ``"560 req/s"``); raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    number, unit = _split(value)
    if unit not in ("", "req/s", "VMs", "vms", "hosts"):
        raise ValueError(f"unexpected unit {unit!r} in {value!r}")
    return number


def parse_duration(value: str | float | int) -> float:
    """Read a duration in seconds from a number (seconds) or text with a unit.

    >>> parse_duration("6.5min")
    390.0
    >>> parse_duration("7 days")
    604800.0

    Raises ValueError naming the text and the units understood.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    compound = _compound(value) if isinstance(value, str) else None
    if compound is not None:
        return compound
    number, unit = _split(value)
    if unit == "":
        return number
    try:
        return number * SECONDS_PER_UNIT[unit.lower()]
    except KeyError:
        known = "s, min, h, d, w, y (their long forms, m for min), or a compound such as 1h30m"
        raise ValueError(f"unknown time unit {unit!r} in {value!r}; use one of {known}") from None


def _compound(text: str) -> float | None:
    """Seconds in a Prometheus-style compound of two parts or more (``1h30m``), or None if ``text`` is not one."""
    text = text.strip()
    parts = list(_COMPOUND_PART.finditer(text))
    if len(parts) < 2 or "".join(part.group(0) for part in parts) != text:
        return None
    order = [_COMPOUND_UNITS.index(part.group(2)) for part in parts]
    if order != sorted(set(order)):
        raise ValueError(f"cannot read {text!r}: a compound duration names each unit once, largest first (1h30m)")
    return sum(float(part.group(1)) * SECONDS_PER_UNIT[part.group(2)] for part in parts)


def parse_rate(value: str | float | int) -> float:
    """Read a fraction from a number (``0.61``) or a percentage (``"61%"``)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a rate, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    number, unit = _split(value)
    if unit == "%":
        return number / 100.0
    if unit == "":
        return number
    raise ValueError(f"unexpected unit {unit!r} in {value!r}; a rate is a fraction or a percentage")


def format_duration(seconds: float) -> str:
    """Format seconds readably: ``"28 d"``, ``"390 min"``, ``"390 s"``, ``"17.36 d"``.

    The largest of days, hours and minutes is used when it states the value
    exactly or the value is at least 10 of that unit; else seconds.
    """
    if not math.isfinite(seconds):
        return str(seconds)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if abs(seconds) >= size and (seconds % size == 0 or abs(seconds) >= 10 * size):
            return f"{seconds / size:.4g} {unit}"
    return f"{seconds:g} s"
