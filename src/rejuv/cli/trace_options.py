"""Option types shared by the trace commands (fit, synth, plot-trace): each refuses nonsense by name.

argparse calls a type with the text the user typed; an
:class:`argparse.ArgumentTypeError` becomes ``error: --option: <why>``, exit 2.
NaN, infinity, zero and negative values are refused where they mean nothing,
so no command ever runs on them.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

from rejuv.errors import ParameterError
from rejuv.model import parse_duration

__all__ = [
    "positive_duration",
    "nonnegative_duration",
    "positive_number",
    "open_fraction",
    "bounded",
    "whole",
    "not_an_input",
    "announce",
]

#: Input files from which reading takes more than a few seconds: CSV text parses at about 5 MB/s
#: on this busy 2-core machine (a 9 MB CSV took 1.9 s), and 20 MB of .trace holds over 10^6 samples.
LARGE_INPUT = 20 * 2**20


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite duration, got {text!r}")
    return value


def positive_duration(text: str) -> float:
    """A duration > 0 s, finite, with or without a unit (``30``, ``30s``, ``2min``)."""
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a duration > 0 s, got {text!r}")
    return value


def nonnegative_duration(text: str) -> float:
    """A duration >= 0 s, finite, with or without a unit."""
    value = _seconds(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a duration >= 0 s, got {text!r}")
    return value


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


def not_an_input(out: Path | None, inputs: list[Path], option: str = "--out") -> None:
    """Refuse an output that is one of the inputs: writing it would destroy what was read."""
    if out is None:
        return
    for path in inputs:
        if path.exists() and out.exists() and out.resolve() == path.resolve():
            raise ParameterError(option, f"{out} is an input; writing it would destroy it, so choose another file")


def announce(command: str, path: Path) -> None:
    """Say on stderr that a large input is being read, so that a long silence is not taken for a hang."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # the reader names the problem
    if size >= LARGE_INPUT:
        print(f"{command}: reading {path} ({size / 2**20:.0f} MiB)", file=sys.stderr)
