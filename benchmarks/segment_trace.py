"""Benchmark of trace segmentation: 10^7 samples, rejuv against a straightforward pandas implementation.

Run from the repository root::

    .venv/bin/python benchmarks/segment_trace.py                 # 10^7 samples, 5 interleaved repeats
    .venv/bin/python benchmarks/segment_trace.py --samples 1e6 --repeats 3

The series: one host at 50 req/s sampled every second, Gaussian noise of 5% of the load,
0.1% of the samples missing (NaN) at random, and a handful of rejuvenation events spread
evenly over it (the paper's warm, cold and OS values, and two more), built directly with
numpy (seeded).

Both implementations do the same thing, as docs/trace-format.md defines it: detect the
events (runs below 10% of the series' median, missing samples continuing a run, runs
closer than 10 samples merged), then segment each event up to the next: baseline (median
and MAD of the 30 s before), downtime (first run below the down line at the start, or one
window long), degraded period (forward windows of one and four widths back within 5% of
the baseline, and the least-squares change point), degradation rate.

- rejuv: ``detect_events`` then ``segment_event`` for each event.
- pandas: what one would write with pandas: ``Series.median``, the down state carried over
  missing samples with ``ffill``, run edges with ``shift``, the baseline from a
  ``rolling(30).median()`` of the whole series, down runs of each event grouped with
  ``groupby``, the back-to-baseline test with forward ``rolling().mean()`` windows, the
  change point with ``cumsum``.

It prints samples per second of each (median of the interleaved repeats; the series is
built outside the timings), the speed ratio, the tracemalloc peak of each (allocations
made during the run, the input excluded) against the size of the raw float64 array, and
checks that both find the same events and values. It exits 1 if they disagree.
Targets (the issue): rejuv at least 5x the pandas baseline's samples/s, with a peak under
3x the raw array.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rejuv.trace import Segment, Settings, detect_events, segment_event

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Timing, count, peak_of, print_metadata, size_text, warn_unstable

STEP = 1.0  # s
LOAD = 50.0  # req/s
NOISE = 0.05  # fraction of the load
MISSING = 0.001  # fraction of samples missing
SEED = 20080101
MIN_GAP = 10  # samples: detect_events' default
#: (downtime s, degradation rate, degraded period s) of each event, spread evenly over the series.
EVENTS = (
    (59.0, 0.61, 25.0),  # warm reboot (paper Section 4)
    (219.0, 0.72, 397.0),  # cold reboot
    (41.0, 0.35, 410.0),  # a host-wide outage with the OS rejuvenation's δ and R_os
    (120.0, 0.5, 1800.0),
    (10.0, 0.2, 600.0),
)
TARGET_SPEEDUP = 5.0
TARGET_MEMORY = 3.0  # peak / raw array


def build_series(samples: int, seed: int = SEED) -> tuple[np.ndarray, list[int]]:
    """The benchmark's series and the true event starts (samples)."""
    rng = np.random.default_rng(seed)
    values = rng.normal(LOAD, NOISE * LOAD, samples)
    starts = [int(samples * (k + 1) / (len(EVENTS) + 1)) for k in range(len(EVENTS))]
    for start, (downtime, rate, period) in zip(starts, EVENTS, strict=True):
        up = start + round(downtime / STEP)
        values[start:up] = 0.0
        values[up : up + round(period / STEP)] -= rate * LOAD
    np.maximum(values, 0.0, out=values)
    values[rng.random(samples) < MISSING] = np.nan
    return values, starts


# -- rejuv ---------------------------------------------------------------------------------


def rejuv_segments(values: np.ndarray, settings: Settings) -> list[Segment]:
    """What is timed for rejuv: detection, then each event segmented up to the next."""
    starts = detect_events(values, settings, MIN_GAP)
    stops = [*starts[1:], len(values)]
    return [segment_event(values, start, stop, STEP, settings) for start, stop in zip(starts, stops, strict=True)]


# -- pandas ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """One event as the pandas implementation segments it."""

    start: int
    baseline: float
    downtime: int  # samples
    period: int  # samples
    rate: float


def carried(down: pd.Series, valid: pd.Series) -> pd.Series:
    """The down state, with a missing sample continuing the state of the last valid one before it."""
    return down.where(valid).ffill().fillna(False).astype(bool)


def pandas_segments(series: pd.Series, settings: Settings) -> list[Found]:
    """The same detection and segmentation, written as one would with pandas."""
    width_baseline = round(settings.baseline_window / STEP)
    valid = series.notna()
    state = carried(series < settings.down_fraction * series.median(), valid)
    rising = np.flatnonzero(state & ~state.shift(1, fill_value=False))
    falling = np.flatnonzero(~state & state.shift(1, fill_value=False))
    starts = [int(rising[0])] if len(rising) else []
    for k in range(1, len(rising)):
        if rising[k] - falling[k - 1] >= MIN_GAP:
            starts.append(int(rising[k]))
    baseline = series.rolling(width_baseline, min_periods=settings.min_baseline_samples).median().shift(1)
    found = []
    for start, stop in zip(starts, [*starts[1:], len(series)], strict=True):
        level = float(baseline.iloc[start])
        window = series.iloc[max(0, start - width_baseline) : start].dropna()
        sigma = 1.4826 * float((window - level).abs().median())
        span = series.iloc[start:stop].reset_index(drop=True)
        # downtime: runs of the carried down state; the first at the start, or long enough
        long_run = max(settings.window, math.ceil((4 * sigma / (settings.tolerance * level)) ** 2))
        span_state = carried(span < settings.down_fraction * level, span.notna())
        run_id = (span_state != span_state.shift(1, fill_value=False)).cumsum()
        runs = span_state[span_state].index.to_series().groupby(run_id[span_state]).agg(["first", "size"])
        chosen = runs[(runs["first"] <= 1) | (runs["size"] >= long_run)]
        down_start, recovery = (0, 0) if chosen.empty else (int(chosen.iloc[0, 0]), int(chosen.iloc[0].sum()))
        # degraded period: forward windows back within the tolerance, and the change point
        rest = span.iloc[recovery:].reset_index(drop=True)
        width = max(1, min(long_run, len(rest)))
        backwards = rest.iloc[::-1]
        short = backwards.rolling(width, min_periods=1).mean().iloc[::-1]
        long = backwards.rolling(4 * width, min_periods=1).mean().iloc[::-1]
        threshold = (1 - settings.tolerance) * level
        back = np.flatnonzero((short >= threshold) & (long >= threshold))
        crossing = int(back[0]) if len(back) else len(rest)
        head = rest.iloc[: crossing + 2 * width]
        x, seen = head.fillna(0.0), head.notna()
        count = np.concatenate(([0], seen.cumsum().to_numpy()))
        total = np.concatenate(([0.0], x.cumsum().to_numpy()))
        squares = np.concatenate(([0.0], (x * x).cumsum().to_numpy()))
        after = np.concatenate(([0.0], ((x - level) ** 2).where(seen, 0.0).iloc[::-1].cumsum().to_numpy()))[::-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            before = squares - np.where(count > 0, total**2 / count, 0.0)
        end = max(int(np.argmin(before + after)), crossing)
        rate = 1 - float(rest.iloc[:end].mean()) / level if end else 0.0
        found.append(Found(start, level, recovery - down_start, end, rate))
    return found


# -- measuring and printing ------------------------------------------------------------------


def agreement(ours: Sequence[Segment], theirs: Sequence[Found], truth: Sequence[int]) -> bool:
    """Print both results side by side; True if they find the same events and values."""
    print("\n  events found (D, R in samples; ω the degradation rate):")
    print(
        f"    {'start':>10} {'truth: D':>8} {'R':>5} {'ω':>5}   {'rejuv: D':>8} {'R':>5} {'ω':>7}   {'pandas: D':>9} {'R':>5} {'ω':>7}"
    )
    same = [round(s.start / STEP) for s in ours] == [f.start for f in theirs] == truth
    worst_rate = 0.0
    for segment, other, (downtime, rate, period) in zip(ours, theirs, EVENTS, strict=False):
        d, r = round(segment.downtime.value / STEP), round(segment.degraded_period.value / STEP)
        print(
            f"    {other.start:>10,} {downtime / STEP:>8.0f} {period / STEP:>5.0f} {rate:>5.2f}   {d:>8} {r:>5} "
            f"{segment.degradation.value:>7.4f}   {other.downtime:>9} {other.period:>5} {other.rate:>7.4f}"
        )
        same &= d == other.downtime and r == other.period and segment.baseline.value == other.baseline
        worst_rate = max(worst_rate, abs(segment.degradation.value - other.rate))
    same &= len(ours) == len(theirs) == len(EVENTS) and worst_rate < 1e-9
    print(f"  same starts, downtimes, periods and baselines; rates within {worst_rate:.1e}: {'yes' if same else 'NO'}")
    return same


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--samples", type=count, default=10**7, help="samples in the series (default 1e7)")
    parser.add_argument("--repeats", type=count, default=5, help="interleaved timed runs of each (default 5)")
    args = parser.parse_args(argv)
    print_metadata("rejuv segmentation benchmark (benchmarks/segment_trace.py)", ("numpy", "pandas"))
    settings = Settings()
    values, truth = build_series(args.samples)
    series = pd.Series(values)  # built outside the timings, as the numpy array is
    raw = values.nbytes
    print(
        f"\n  series: {args.samples:,} samples of {STEP:g} s, {LOAD:g} req/s, noise {NOISE:.0%}, "
        f"{MISSING:.1%} missing, {len(EVENTS)} events; raw float64 array {size_text(raw)}"
    )
    print(
        f"  settings: baseline {settings.baseline_window:g} s, down line {settings.down_fraction:g} b, "
        f"tolerance {settings.tolerance:g}, window {settings.window}; runs interleaved, one untimed warm-up each"
    )
    ours = rejuv_segments(values, settings)
    theirs = pandas_segments(series, settings)
    status = 0 if agreement(ours, theirs, truth) else 1

    fast, slow = Timing("rejuv (numpy)", args.samples), Timing("pandas baseline", args.samples)
    for _ in range(args.repeats):
        fast.run(lambda: rejuv_segments(values, settings))
        slow.run(lambda: pandas_segments(series, settings))
    print(f"\n  {'':<16} {'runs':>4} {'median':>9} {'min':>9} {'max':>9} {'std/mean':>8} {'samples/s':>11}")
    for timing in (fast, slow):
        print(
            f"  {timing.label:<16} {len(timing.times):>4} {timing.median:>8.3f}s {min(timing.times):>8.3f}s "
            f"{max(timing.times):>8.3f}s {timing.relative_stdev:>8.1%} {args.samples / timing.median / 1e6:>9.1f} M"
        )
    warn_unstable((fast, slow))
    ratio = slow.median / fast.median
    pairs = [s / f for f, s in zip(fast.times, slow.times, strict=True)]
    print(
        f"  speed-up (pandas median / rejuv median): {ratio:.1f}x  [per run: {min(pairs):.1f}x .. {max(pairs):.1f}x]"
        f"  target >= {TARGET_SPEEDUP:g}x: {'met' if ratio >= TARGET_SPEEDUP else 'NOT met'}"
    )

    ours_peak = peak_of(lambda: rejuv_segments(values, settings))
    theirs_peak = peak_of(lambda: pandas_segments(series, settings))
    print("\n  peak memory (tracemalloc, allocations during one run; the input excluded):")
    for label, peak in (("rejuv (numpy)", ours_peak), ("pandas baseline", theirs_peak)):
        print(f"    {label:<16} {size_text(peak):>11}  {peak / raw:5.2f}x the raw array ({size_text(raw)})")
    verdict = "met" if ours_peak < TARGET_MEMORY * raw else "NOT met"
    print(f"  target: rejuv's peak under {TARGET_MEMORY:g}x the raw array: {verdict}")
    return status


if __name__ == "__main__":
    sys.exit(main())
