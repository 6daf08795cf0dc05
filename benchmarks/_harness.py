"""What every benchmark here shares: timings with medians, memory peaks, and the machine they ran on.

The machines are shared and noisy, so each benchmark runs the things it
compares interleaved, quotes medians and ratios, and warns (as pyperf does)
when a timing's standard deviation exceeds 10% of its mean.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata

from rejuv.provenance import machine

UNSTABLE = 0.10  #: std / mean above which a timing is reported as unstable


@dataclass
class Timing:
    """Wall-clock times of repeated runs of one thing, in seconds; ``points`` items per run, if counted."""

    label: str
    points: int = 0
    times: list[float] = field(default_factory=list)

    def run(self, function: Callable[[], object]) -> object:
        """Run ``function`` once, timed; return its result."""
        start = time.perf_counter()
        result = function()
        self.times.append(time.perf_counter() - start)
        return result

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def relative_stdev(self) -> float:
        return statistics.stdev(self.times) / statistics.mean(self.times) if len(self.times) > 1 else 0.0


def warn_unstable(timings: Sequence[Timing]) -> None:
    """A warning line for each timing whose std / mean exceeds :data:`UNSTABLE`."""
    for timing in timings:
        if timing.relative_stdev > UNSTABLE:
            print(f"  warning: {timing.label}: unstable, std/mean {timing.relative_stdev:.0%} > {UNSTABLE:.0%}")


def rate(points: float, seconds: float) -> str:
    """``points / seconds`` with an SI prefix: ``14.1 M``."""
    value = points / seconds
    for prefix, factor in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= factor:
            return f"{value / factor:.3g} {prefix}"
    return f"{value:.3g}  "


def size_text(size: float) -> str:
    """Bytes in MiB or GiB."""
    return f"{size / 2**30:.2f} GiB" if size >= 2**30 else f"{size / 2**20:.1f} MiB"


def peak_of(function: Callable[[], object]) -> int:
    """The tracemalloc peak, in bytes, of the allocations ``function`` makes."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def peak_rss() -> int:
    """The process's peak resident set size so far, in bytes (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, now."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def print_metadata(title: str, packages: Sequence[str] = ("numpy",)) -> None:
    """The benchmark's title, then the machine and software its figures belong to, as pyperf records them."""
    facts = machine()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else facts["cores"]
    rows = [
        ("date", time.strftime("%Y-%m-%d %H:%M:%S %z")),
        ("python", f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})"),
        *((name, metadata.version(name)) for name in (*packages, "rejuv")),
        ("platform", facts["os"]),
        ("cpu", f"{facts['cpu']}; cpu_count {facts['cores']}, usable {usable}"),
        ("load average", f"{load_average()} (1, 5, 15 min, at start)"),
    ]
    print(title)
    for key, value in rows:
        print(f"  {key:<13} {value}")


def count(text: str) -> int:
    """An argparse type: a whole number >= 1, written plainly or as ``1e7`` or ``10_000``."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(value)
