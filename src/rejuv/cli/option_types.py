"""The types of every command's options: each refuses nonsense by name.

argparse calls a type with the text the user typed; an
:class:`argparse.ArgumentTypeError` becomes ``error: --option: <why>``, exit 2.
NaN, infinity, zero and negative values are refused where they mean nothing,
so no command ever runs on them. Every duration goes through the one parser,
:func:`rejuv.model.units.parse_duration` (``30``, ``30s``, ``5min``, ``15m``,
``1h30m``).

A renamed option keeps its old spelling as a hidden alias (:func:`renamed`)
that still works and warns on stderr, so that no user's script breaks.
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from rejuv.model.units import parse_duration

__all__ = [
    "duration",
    "positive_duration",
    "nonnegative_duration",
    "positive_number",
    "open_fraction",
    "bounded",
    "whole",
    "event_count",
    "timestamp",
    "renamed",
]


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def duration(text: str) -> float:
    """A duration in seconds, with or without a unit (``30``, ``30s``, ``5min``, ``15m``, ``1h30m``); any value.

    The command checks the range (``rejuv lab`` names its own limits); the
    variants below refuse what is never meaningful.
    """
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _finite_duration(text: str) -> float:
    value = duration(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite duration, got {text!r}")
    return value


def _duration_where(text: str, holds: Callable[[float], bool], rule: str) -> float:
    value = _finite_duration(text)
    if not holds(value):
        raise argparse.ArgumentTypeError(f"must be a duration {rule}, got {text!r}")
    return value


def positive_duration(text: str) -> float:
    """A finite duration > 0 s (see :func:`duration`)."""
    return _duration_where(text, lambda value: value > 0, "> 0 s")


def nonnegative_duration(text: str) -> float:
    """A finite duration >= 0 s (see :func:`duration`)."""
    return _duration_where(text, lambda value: value >= 0, ">= 0 s")


def positive_number(text: str) -> float:
    """A finite number > 0."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def open_fraction(text: str) -> float:
    """A fraction strictly between 0 and 1 (a tolerance: 0 would never match, 1 would always)."""
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1 (exclusive), got {text!r}")
    return value


def bounded(low: float, high: float) -> Callable[[str], float]:
    """A type for a finite number in ``[low, high]``."""

    def parse(text: str) -> float:
        value = _number(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low:g}, {high:g}], got {text!r}")
        return value

    parse.__name__ = f"number in [{low:g}, {high:g}]"
    return parse


def whole(minimum: int) -> Callable[[str], int]:
    """A type for a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, got {text!r}")
        return value

    parse.__name__ = "whole number"
    return parse


def event_count(text: str) -> int:
    """A whole number of events >= 1 (``1e9`` accepted)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1):
        raise argparse.ArgumentTypeError(f"expected a whole number of events >= 1 such as 1e9, got {text!r}")
    return int(value)


def timestamp(text: str) -> float:
    """A moment as Unix seconds: RFC 3339 (``2026-11-30T14:00:00Z``), Unix seconds, ``now`` or ``now-1h``.

    The relative form subtracts a duration (:func:`duration`) from the time the command was started.
    """
    stripped = text.strip()
    if stripped.startswith("now"):
        rest = stripped[3:].strip()
        if not rest:
            return time.time()
        if not rest.startswith("-"):
            raise argparse.ArgumentTypeError(f"expected now or now-<duration> such as now-1h, got {text!r}")
        return time.time() - nonnegative_duration(rest[1:].strip())
    try:
        value = float(stripped)
    except ValueError:
        return _rfc3339(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"Unix seconds must be a finite number >= 0, got {text!r}")
    return value


def _rfc3339(text: str) -> float:
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected RFC 3339 (2026-11-30T14:00:00Z), Unix seconds or now-1h, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"RFC 3339 needs a time zone (Z or +01:00), got {text!r}")
    return moment.timestamp()


class _Renamed(argparse.Action):
    """An option's old spelling: stores into the new option's destination and warns on stderr."""

    def __init__(self, option_strings: Sequence[str], dest: str, new: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.new = new

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        print(f"warning: {option_string} is deprecated; use {self.new} (same value)", file=sys.stderr)
        setattr(namespace, self.dest, values)


def renamed(parser: argparse.ArgumentParser | argparse._ArgumentGroup, old: str, new: argparse.Action) -> None:
    """Keep ``old`` as a hidden, deprecated spelling of the option ``new`` (same type and destination)."""
    typed: dict[str, Any] = {} if new.type is None else {"type": new.type}
    parser.add_argument(
        old,
        dest=new.dest,
        metavar=new.metavar,
        action=_Renamed,
        new=new.option_strings[0],
        help=argparse.SUPPRESS,
        default=argparse.SUPPRESS,
        **typed,
    )
