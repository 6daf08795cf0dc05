"""Segmentation: baseline, downtime, degraded period and degradation rate of each event.

For an event that starts at sample s (from a marker, or detected):

1. **baseline** b: the median of the samples in the window before s (their
   mean where the median is 0 but the mean is not: one VM's replies in 0.1 s bins) (and the
   noise σ from their median absolute deviation, or their standard deviation
   where that is 0, as for requests counted in bins of a tenth of a second); by default 30 s, widened to
   ``min_baseline_samples`` steps for coarse data such as Prometheus's 15 s or 30 s;
2. **downtime**: the first run of samples below ``down_fraction`` b that
   starts at s or within the two samples after it (a stop begun late in s
   leaves s and the next partly served, and a series that lags its events,
   such as Prometheus's ``irate()``, a sample more), or failing that the first such run
   that starts later and lasts at least a window (below); it ends at the first
   sample back above the line. A shorter run later on is noise dipping under
   the line from a degraded level, not downtime;
   Where the client recorded every request, the downtime is given instead
   (:mod:`rejuv.trace.outages`): known to the request, not to the step;
3. **catch-up**: the samples right after recovery that lie above
   ``(1 + tolerance)`` b are the queued requests answered in a burst when
   service resumes: service, not degradation; the degraded period follows them;
4. **degraded period**: from recovery until throughput is back within
   ``tolerance`` of b. The end is the later of two estimates: the least-squares
   change point between a degraded level and b (unbiased for a step), and the
   first window of samples whose mean is within the tolerance, and stays so
   over four windows (``recovery_window`` seconds, at least a sample, or more
   where noise would make a window that short unreliable)
   (which catches slow ramps, such as a page cache refilling); the change
   point is sought only up to two windows past that crossing;
5. **degradation rate**: 1 - mean(throughput over the degraded period) / b,
   the paper's definition. A period whose mean is clearly above b (4
   standard errors) is no degradation: the period is then empty. Within the
   noise above b, the rate reads 0. So the rate always lies in [0, 1].

Each estimate carries an uncertainty (one standard error, or the sampling
step where quantisation dominates). Missing samples (NaN) are ignored; those
at the edges of the downtime widen the uncertainty of the downtime and of the
degraded period, since the edges could lie anywhere in them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import TraceError

__all__ = ["Estimate", "Segment", "Settings", "DEFAULT_SETTINGS", "baseline", "segment_event", "detect_events"]

Array = NDArray[np.float64]
_MAD_TO_SIGMA = 1.4826
DEFAULT_BASELINE = 30.0  #: seconds: the baseline window at steps up to a fifth of it
_FIRST_LOOK = 4096  #: samples after an event's start read first; enough for most events
_DOWN_SLACK = 2  #: samples after an event's start within which a run below the line is its downtime, however short


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
    """How segmentation reads a series; windows are in seconds, so the defaults suit 1 s to 30 s steps.

    The default baseline window is 30 s, or ``min_baseline_samples`` steps where the step is coarser than
    a fifth of that (75 s at a 15 s step, 150 s at 30 s). A window set explicitly is used as it is.
    """

    baseline_window: float | None = None  #: seconds before the event used for the baseline; None: the default
    min_baseline_samples: int = 5
    down_fraction: float = 0.1  #: below this fraction of the baseline a sample counts as down
    tolerance: float = 0.05  #: within this fraction of the baseline, throughput is back
    recovery_window: float = 5.0  #: seconds averaged when deciding that throughput is back (at least a sample)

    def baseline_seconds(self, step: float) -> float:
        """The baseline window at a sampling ``step``: as set, or the default sized for the step."""
        if self.baseline_window is not None:
            return self.baseline_window
        return max(DEFAULT_BASELINE, self.min_baseline_samples * step)

    def baseline_samples(self, step: float) -> int:
        """Samples in the baseline window at ``step`` (at least 1)."""
        return max(1, round(self.baseline_seconds(step) / step))

    def recovery_samples(self, step: float) -> int:
        """Samples in the recovery window at ``step`` (at least 1)."""
        return max(1, round(self.recovery_window / step))


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
    catch_up: float = 0.0  #: s of the burst above the baseline right after the downtime, before the degraded period


def _baseline(source: str, values: Array, start: int, settings: Settings, step: float) -> tuple[float, float, float]:
    first = max(0, start - settings.baseline_samples(step))
    window = values[first:start]
    window = window[np.isfinite(window)]
    if len(window) < settings.min_baseline_samples:
        remedy = ""
        if settings.baseline_window is None and settings.baseline_seconds(step) > DEFAULT_BASELINE:  # coarse data
            remedy = (
                f"; at a {step:g} s step, start the trace at least "
                f"{settings.min_baseline_samples * step:g} s before the event, or sample more finely"
            )
        raise TraceError(
            source,
            f"baseline window too short before the event at {start * step:g} s: {len(window)} valid samples, "
            f"need at least {settings.min_baseline_samples}{remedy}",
        )
    level = float(np.median(window))
    if level <= 0 < float(np.mean(window)):  # replies counted in bins finer than their spacing: mostly 0, yet served
        level = float(np.mean(window))
    sigma = _MAD_TO_SIGMA * float(np.median(np.abs(window - level)))
    if sigma == 0:  # counts binned finely (0.1 s of 10 req/s: mostly 1 reply) have no spread about the median
        sigma = float(np.std(window))
    if level <= 0:
        raise TraceError(source, f"no throughput before the event at {start * step:g} s (baseline 0)")
    return level, sigma, 1.2533 * sigma / np.sqrt(len(window))


def baseline(
    values: Array, start: int, step: float, settings: Settings = DEFAULT_SETTINGS, source: str = "trace"
) -> Estimate:
    """The level (req/s) of ``values`` over the baseline window before sample ``start``, as segmentation reads it.

    Raises :class:`~rejuv.errors.TraceError` naming ``source`` if that window is too short or empty.
    """
    level, _, error = _baseline(source, values, start, settings, step)
    return Estimate(level, error, "req/s")


def _first(mask: NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def _down_run(span: Array, line: float, long_run: int) -> tuple[int, int]:
    """Start and end of the downtime: the first run below ``line`` that starts by ``_DOWN_SLACK``, or is ``long_run`` long.

    A run ends at the next valid sample at or above the line (missing samples do not
    end it); ``(0, 0)`` if there is no such run. Reads ``span`` in growing prefixes,
    so the cost is that of the event, not of everything up to the next one.
    """
    horizon = _FIRST_LOOK
    while True:
        part = span[:horizon]
        whole = len(part) == len(span)
        valid = np.isfinite(part)
        down = valid & (part < line)
        down_at = np.flatnonzero(down)
        if len(down_at):
            up_at = np.flatnonzero(valid & ~down)
            following = np.searchsorted(up_at, down_at)  # the up sample that ends each down sample's run
            opens = np.concatenate(([True], following[1:] != following[:-1]))
            starts = down_at[opens]
            ends = np.append(up_at, len(part))[following[opens]]
            chosen = _first((starts <= _DOWN_SLACK) | (ends - starts >= long_run))
            if chosen is not None and (whole or ends[chosen] < len(part)):  # a run cut off by the prefix may go on
                return int(starts[chosen]), int(ends[chosen])
        if whole:
            return 0, 0
        horizon *= 4


def _forward_means(part: Array, lengths: tuple[int, ...]) -> list[Array]:
    """For each length, the mean of the valid samples in ``part[i : i + length]`` at each i (NaN if none)."""
    finite = np.isfinite(part)
    total = np.concatenate(([0.0], np.cumsum(np.where(finite, part, 0.0))))
    count = np.concatenate(([0], np.cumsum(finite)))
    index = np.arange(len(part))
    means = []
    for length in lengths:
        until = np.minimum(index + length, len(part))
        with np.errstate(invalid="ignore", divide="ignore"):
            means.append((total[until] - total[index]) / (count[until] - count[index]))
    return means


def _back_for_good(rest: Array, threshold: float, width: int) -> int | None:
    """The first sample from which the means over ``width`` and over ``4 width`` samples reach ``threshold``.

    Missing samples are left out of the means. Reads ``rest`` in growing prefixes,
    accepting a sample only once both its windows lie wholly inside the prefix.
    """
    horizon = max(_FIRST_LOOK, 16 * width)
    while True:
        part = rest[:horizon]
        whole = len(part) == len(rest)
        short, long = _forward_means(part, (width, 4 * width))
        back = _first((short >= threshold) & (long >= threshold))
        if back is not None and (whole or back + 4 * width <= len(part)):
            return back
        if whole:
            return None
        horizon *= 4


def _missing_at_end(valid: NDArray[np.bool_]) -> int:
    """How many samples at the end of ``valid`` are missing."""
    seen = np.flatnonzero(valid)
    return len(valid) - (int(seen[-1]) + 1 if len(seen) else 0)


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


def _catch_up(rest: Array, line: float) -> int:
    """How many samples at the start of ``rest`` lie above ``line``: the burst of queued requests."""
    below = _first(~(rest > line))  # a missing sample ends the burst too
    return len(rest) if below is None else below


def segment_event(
    values: Array,
    start: int,
    stop: int,
    step: float,
    settings: Settings = DEFAULT_SETTINGS,
    source: str = "trace",
    outage: tuple[float, float, float] | None = None,
) -> Segment:
    """Segment the event that starts at sample ``start``; look no further than sample ``stop``.

    ``outage``, if given, is the downtime as the client saw it: its start and
    end (s from the first sample) and their uncertainty (s); the samples are
    then not read for it, and the degraded period starts with the first sample
    wholly after it. Raises :class:`~rejuv.errors.TraceError` naming ``source``
    if the baseline window before the event is too short or empty.
    """
    level, sigma, level_error = _baseline(source, values, start, settings, step)
    span = values[start:stop]
    # Average enough samples that noise alone puts a degraded window over the threshold
    # less than once in 30,000 (4 standard errors).
    enough = int(np.ceil((4 * sigma / (settings.tolerance * level)) ** 2))
    window = settings.recovery_samples(step)
    if outage is None:
        down_start, recovery = _down_run(span, settings.down_fraction * level, max(window, enough))
    else:
        down_start = min(len(span), max(0, int(outage[0] // step) - start))
        recovery = min(len(span), max(down_start, int(np.ceil(outage[1] / step - 1e-9)) - start))
    burst = _catch_up(span[recovery:], (1 + settings.tolerance) * level) if recovery else 0
    rest = span[recovery + burst :]
    threshold = (1 - settings.tolerance) * level
    width = max(1, min(max(window, enough), len(rest)))
    # Back means back for good: this window and the four after it reach the threshold.
    back_in = _back_for_good(rest, threshold, width)
    recovered = back_in is not None
    crossing = back_in if back_in is not None else len(rest)
    # Far from the step, a slightly wrong baseline would pull the change point away; look near it.
    end = max(_change_point(rest[: crossing + 2 * width], level), crossing)
    degraded = rest[:end]
    degraded = degraded[np.isfinite(degraded)]
    # Clearly above the baseline (4 standard errors) is catch-up, not a degraded period; within the noise of it,
    # the period stands and its rate reads 0, the nearest rate there is.
    if len(degraded) and np.mean(degraded) - level > 4 * sigma / np.sqrt(len(degraded)):
        end, degraded = 0, degraded[:0]
    if len(degraded):
        rate = max(0.0, 1 - float(np.mean(degraded)) / level)
        # The mean's standard error, from the noise the baseline shows or the period's own scatter, whichever is
        # larger: a client whose baseline is exactly its offered load (no spread) still degrades unevenly.
        scatter = max(sigma, float(np.std(degraded, ddof=1)) if len(degraded) > 1 else 0.0)
        spread = scatter / np.sqrt(len(degraded)) / level
        rate_error = float(np.hypot(spread, (1 - rate) * level_error / level))
    else:
        rate, rate_error = 0.0, float(sigma / level)
    # A change point's standard error, in samples, is about (σ / step height)^2; where the step is lost in the
    # noise, the end can be anywhere in the period, so the error is at most the period searched.
    height = max(rate * level, 1e-12)
    searched = max(1.0, float(end))
    # Missing samples at the downtime's edges hide where it began and ended: widen both by them
    # (the gap before it may reach back past s).
    lookback = max(0, start - round(settings.baseline_seconds(step) / step))
    before = _missing_at_end(np.isfinite(values[lookback : start + down_start])) if recovery else 0
    inside = _missing_at_end(np.isfinite(span[down_start:recovery]))
    period_error = step * (min(max(1.0, (sigma / height) ** 2), searched) + inside)
    if outage is None:
        downtime = Estimate((recovery - down_start) * step, step * (1 + before + inside), "s")
    else:
        downtime = Estimate(outage[1] - outage[0], outage[2], "s")
    return Segment(
        start=start * step,
        baseline=Estimate(level, level_error, "req/s"),
        downtime=downtime,
        degraded_period=Estimate(end * step, period_error, "s"),
        degradation=Estimate(rate, rate_error, ""),
        recovered=recovered,
        catch_up=burst * step,
    )


def detect_events(values: Array, settings: Settings = DEFAULT_SETTINGS, min_gap: int = 10) -> list[int]:
    """Starts of the runs where throughput falls below ``down_fraction`` of the series' median.

    Runs closer than ``min_gap`` samples are one event; missing samples do not
    end a run. Events that lose no service (a live migration, say) need
    markers: they are not detected.
    """
    level = float(np.nanmedian(values))
    finite = np.isfinite(values)
    seen = np.flatnonzero(finite)  # missing samples continue the run they fall in: step over them
    down = (finite & (values < settings.down_fraction * level))[seen]
    change = np.diff(down.view(np.int8))
    starts = seen[np.flatnonzero(change == 1) + 1]
    if len(down) and down[0]:
        starts = np.concatenate((seen[:1], starts))
    ends = seen[np.flatnonzero(change == -1) + 1]
    keep = np.concatenate(([True], starts[1:] - ends[: len(starts) - 1] >= min_gap))
    return [int(begin) for begin in starts[keep[: len(starts)]]]
