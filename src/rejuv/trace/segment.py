"""Segmentation: baseline, downtime, degraded period and degradation rate of each event.

For an event that starts at sample s (from a marker, or detected):

1. **baseline** b: the median of the samples in the window before s (and the
   noise σ from their median absolute deviation);
2. **downtime**: the first run of samples below ``down_fraction`` b that
   starts at or after s; it ends at the first sample back above it;
3. **degraded period**: from recovery until throughput is back within
   ``tolerance`` of b. The end is the later of two estimates: the least-squares
   change point between a degraded level and b (unbiased for a step), and the
   first window of samples whose mean is within the tolerance, and stays so
   over four windows (``window`` samples, or more where noise would make a
   window that short unreliable)
   (which catches slow ramps, such as a page cache refilling); the change
   point is sought only up to two windows past that crossing;
4. **degradation rate**: 1 - mean(throughput over the degraded period) / b,
   the paper's definition.

Each estimate carries an uncertainty (one standard error, or the sampling
step where quantisation dominates). Missing samples (NaN) are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import TraceError

__all__ = ["Estimate", "Segment", "Settings", "DEFAULT_SETTINGS", "segment_event", "detect_events"]

Array = NDArray[np.float64]
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Estimate:
    """A value with its uncertainty (one standard error), in ``unit``."""

    value: float
    uncertainty: float
    unit: str

    def __str__(self) -> str:
        return f"{self.value:.4g} ± {self.uncertainty:.2g} {self.unit}".rstrip()


@dataclass(frozen=True)
class Settings:
    """How segmentation reads a series; the defaults suit 1 s samples of a web workload."""

    baseline_window: float = 30.0  #: seconds before the event used for the baseline
    min_baseline_samples: int = 5
    down_fraction: float = 0.1  #: below this fraction of the baseline a sample counts as down
    tolerance: float = 0.05  #: within this fraction of the baseline, throughput is back
    window: int = 5  #: samples averaged when deciding that throughput is back


DEFAULT_SETTINGS = Settings()


@dataclass(frozen=True)
class Segment:
    """What one event did to one series."""

    start: float  #: s from the start of the trace
    baseline: Estimate  #: req/s
    downtime: Estimate  #: s
    degraded_period: Estimate  #: s
    degradation: Estimate  #: fraction of the baseline lost during the degraded period
    recovered: bool  #: throughput came back within the tolerance before the trace (or the next event) ended


def _baseline(source: str, values: Array, start: int, settings: Settings, step: float) -> tuple[float, float, float]:
    first = max(0, start - max(1, round(settings.baseline_window / step)))
    window = values[first:start]
    window = window[np.isfinite(window)]
    if len(window) < settings.min_baseline_samples:
        raise TraceError(
            source,
            f"baseline window too short before the event at {start * step:g} s: {len(window)} valid samples, "
            f"need at least {settings.min_baseline_samples}",
        )
    level = float(np.median(window))
    sigma = _MAD_TO_SIGMA * float(np.median(np.abs(window - level)))
    if level <= 0:
        raise TraceError(source, f"no throughput before the event at {start * step:g} s (baseline 0)")
    return level, sigma, 1.2533 * sigma / np.sqrt(len(window))


def _first(mask: NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def _change_point(values: Array, level: float) -> int:
    """k minimising the squared error of: own mean on [0, k), ``level`` on [k, end)."""
    finite = np.isfinite(values)
    x = np.where(finite, values, 0.0)
    count = np.concatenate(([0], np.cumsum(finite)))
    total = np.concatenate(([0.0], np.cumsum(x)))
    squares = np.concatenate(([0.0], np.cumsum(x * x)))
    after = np.concatenate(([0.0], np.cumsum(np.where(finite, (x - level) ** 2, 0.0)[::-1])))[::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        before = squares - np.where(count > 0, total**2 / count, 0.0)
    return int(np.argmin(before + after))


def segment_event(
    values: Array, start: int, stop: int, step: float, settings: Settings = DEFAULT_SETTINGS, source: str = "trace"
) -> Segment:
    """Segment the event that starts at sample ``start``; look no further than sample ``stop``.

    Raises :class:`~rejuv.errors.TraceError` naming ``source`` if the baseline
    window before the event is too short or empty.
    """
    level, sigma, level_error = _baseline(source, values, start, settings, step)
    span = values[start:stop]
    valid = np.isfinite(span)
    down = valid & (span < settings.down_fraction * level)
    first_down = _first(down)
    if first_down is None:
        down_start = recovery = 0
    else:
        down_start = first_down
        back = _first(valid[down_start:] & ~down[down_start:])
        recovery = len(span) if back is None else down_start + back
    rest = span[recovery:]
    threshold = (1 - settings.tolerance) * level
    # Average enough samples that noise alone puts a degraded window over the threshold
    # less than once in 30,000 (4 standard errors).
    enough = int(np.ceil((4 * sigma / (settings.tolerance * level)) ** 2))
    width = max(1, min(max(settings.window, enough), len(rest)))
    finite = np.isfinite(rest)
    total = np.concatenate(([0.0], np.cumsum(np.where(finite, rest, 0.0))))
    count = np.concatenate(([0], np.cumsum(finite)))

    def forward_mean(length: int) -> Array:
        index = np.arange(len(rest))
        until = np.minimum(index + length, len(rest))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean: Array = (total[until] - total[index]) / (count[until] - count[index])
        return mean

    # Back means back for good: this window and the four after it reach the threshold.
    back_in = _first((forward_mean(width) >= threshold) & (forward_mean(4 * width) >= threshold))
    recovered = back_in is not None
    crossing = back_in if back_in is not None else len(rest)
    # Far from the step, a slightly wrong baseline would pull the change point away; look near it.
    end = max(_change_point(rest[: crossing + 2 * width], level), crossing)
    degraded = rest[:end]
    degraded = degraded[np.isfinite(degraded)]
    if len(degraded):
        rate = 1 - float(np.mean(degraded)) / level
        spread = sigma / np.sqrt(len(degraded)) / level
        rate_error = float(np.hypot(spread, (1 - rate) * level_error / level))
    else:
        rate, rate_error = 0.0, float(sigma / level)
    # A change point's standard error, in samples, is about (σ / step height)^2.
    height = max(rate * level, sigma, 1e-12)
    period_error = step * max(1.0, (sigma / height) ** 2)
    return Segment(
        start=start * step,
        baseline=Estimate(level, level_error, "req/s"),
        downtime=Estimate((recovery - down_start) * step, step, "s"),
        degraded_period=Estimate(end * step, period_error, "s"),
        degradation=Estimate(rate, rate_error, ""),
        recovered=recovered,
    )


def detect_events(values: Array, settings: Settings = DEFAULT_SETTINGS, min_gap: int = 10) -> list[int]:
    """Starts of the runs where throughput falls below ``down_fraction`` of the series' median.

    Runs closer than ``min_gap`` samples are one event. Events that lose no
    service (a live migration, say) need markers: they are not detected.
    """
    level = float(np.nanmedian(values))
    down = np.isfinite(values) & (values < settings.down_fraction * level)
    edges = np.flatnonzero(np.diff(down.astype(np.int8)) == 1) + 1
    starts = ([0] if len(down) and down[0] else []) + [int(e) for e in edges]
    merged: list[int] = []
    ends = np.flatnonzero(np.diff(down.astype(np.int8)) == -1) + 1
    for begin in starts:
        previous_end = ends[ends <= begin]
        if merged and len(previous_end) and begin - int(previous_end[-1]) < min_gap:
            continue
        merged.append(begin)
    return merged
