"""Segmentation of noise-free traces with known boundaries: the exact downtime, period and rate.

Each trace is a baseline b of 64 req/s (or 1 req/s, where one req/s more or less in a
window's sum is 20% of a mean), a downtime at 0 req/s, a degraded period at (1 - ω) b and
a recovery back at b; the levels are binary fractions, so every mean is exact and the
results are compared with ``==``. Without noise the
only uncertainty is quantisation: one step per edge, plus one per missing sample at
the downtime's edges (docs/trace-format.md, "Segmentation").

A missing sample at an edge goes where the documented rules put it: the downtime
starts at its first valid sample below the line and ends at the first valid sample
back above it (a gap at its end is inside it), and the degraded period ends after
its last valid degraded sample (a gap there is already recovery). Detection reads a
missing sample as part of the run before it.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

from rejuv.errors import TraceError
from rejuv.trace import Settings, detect_events, segment_event
from rejuv.trace.segment import Estimate, Segment

BASE = 64.0  #: req/s before and after the event
BASES = (1.0, BASE)  #: a low baseline makes an off-by-one in a window's sum or count visible
RATES = (0.25, 0.5, 0.75)  #: ω; (1 - ω) 64 req/s is exact in binary
DOWNTIMES = (0, 1, 2, 7, 60)  #: samples
PERIODS = (0, 1, 2, 5, 24, 100)  #: samples
LEAD = 10  #: samples before the baseline window, at another level that the baseline must not see
WINDOW = 40  #: baseline window, samples
RECOVERY = 5  #: recovery window, samples
TAIL = 40  #: samples after the degraded period, more than the 4 windows of 5 that "back for good" reads
START = LEAD + WINDOW  #: the event's first sample
# Where one sample is missing; each edge needs a downtime or period long enough to have two sides.
EDGES = ("none", "last baseline", "first down", "last down", "first degraded", "last degraded", "first recovered")


def event_series(downtime: int, rate: float, period: int, base: float = BASE) -> np.ndarray:
    """Lead at 2 b, baseline b, ``downtime`` samples at 0, ``period`` at (1 - ω) b, then b again."""
    return np.concatenate(
        [
            np.full(LEAD, 2 * base),
            np.full(WINDOW, base),
            np.zeros(downtime),
            np.full(period, (1 - rate) * base),
            np.full(TAIL, base),
        ]
    )


def missing_index(edge: str, downtime: int, period: int) -> int | None:
    """The sample left out at ``edge``; None where the event has no such edge with two distinct sides."""
    down_end, period_end = START + downtime, START + downtime + period
    where = {
        "none": None,
        "last baseline": START - 1,
        "first down": START if downtime >= 2 else None,
        "last down": down_end - 1 if downtime >= 2 else None,
        "first degraded": down_end if period >= 2 else None,
        "last degraded": period_end - 1 if period >= 2 else None,
        "first recovered": period_end if period >= 1 else None,
    }
    return where[edge]


def expected(edge: str, downtime: int, period: int) -> tuple[int, int, int, int]:
    """Downtime and period in samples, and the missing samples that widen each one's uncertainty, by the rules above."""
    if edge == "last baseline":
        return downtime, period, int(downtime > 0), 0
    if edge == "first down":
        return downtime - 1, period, 1, 0
    if edge == "last down":
        return downtime, period, 1, 1
    if edge == "first degraded" and downtime > 0:
        return downtime + 1, period - 1, 1, 1
    if edge == "last degraded":
        return downtime, period - 1, 0, 0
    return downtime, period, 0, 0


CASES = [
    (edge, downtime, rate, period)
    for edge, downtime, rate, period in itertools.product(EDGES, DOWNTIMES, RATES, PERIODS)
    if edge == "none" or missing_index(edge, downtime, period) is not None
]


def segmented_cases(step: float, base: float) -> Iterator[tuple[tuple[str, int, float, int], Segment]]:
    """Each case of CASES as (edge, downtime, rate, period), with its noise-free series segmented at ``step``."""
    settings = Settings(baseline_window=WINDOW * step, recovery_window=RECOVERY * step)
    for edge, downtime, rate, period in CASES:
        values = event_series(downtime, rate, period, base)
        gap = missing_index(edge, downtime, period)
        if gap is not None:
            values[gap] = np.nan
        yield (edge, downtime, rate, period), segment_event(values, START, len(values), step, settings)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("step", [0.5, 1.0, 5.0])
def test_a_noise_free_event_segments_exactly(step: float, base: float) -> None:
    """Every downtime, period, rate and missing edge gives the exact downtime, period and rate, by the documented edge rules."""
    for case, found in segmented_cases(step, base):
        edge, downtime, rate, period = case
        down, degraded, _, _ = expected(edge, downtime, period)
        assert (found.baseline.unit, found.downtime.unit, found.degraded_period.unit) == ("req/s", "s", "s"), case
        assert found.degradation.unit == "", case
        assert found.start == START * step, case
        assert found.baseline.value == base, case
        assert found.downtime.value == down * step, case
        assert found.degraded_period.value == degraded * step, case
        assert found.degradation.value == (rate if degraded else 0.0), case
        assert found.recovered, case


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("step", [0.5, 1.0, 5.0])
def test_without_noise_the_uncertainties_are_quantisation_alone(step: float, base: float) -> None:
    """Noise-free: baseline and rate exact (uncertainty 0); downtime and period one step, plus one per missing edge sample."""
    for case, found in segmented_cases(step, base):
        edge, downtime, _, period = case
        _, _, down_missing, period_missing = expected(edge, downtime, period)
        assert found.baseline.uncertainty == 0.0, case
        assert found.degradation.uncertainty == 0.0, case
        assert found.downtime.uncertainty == (1 + down_missing) * step, case
        assert found.degraded_period.uncertainty == (1 + period_missing) * step, case


def test_segmentation_stops_at_the_next_event() -> None:
    """Samples from ``stop`` on belong to the next event: a period that runs into it ends there, unrecovered."""
    values = event_series(5, 0.5, 24)
    found = segment_event(values, START, START + 5 + 10, 1.0, Settings(baseline_window=WINDOW))
    assert found.downtime.value == 5.0
    assert found.degraded_period.value == 10.0
    assert found.degradation.value == 0.5
    assert not found.recovered


def test_a_downtime_that_starts_within_two_samples_of_the_event_counts_however_short() -> None:
    """A run below the line from s, s + 1 or s + 2 (a stop late in s, or a lagging series) is the downtime, even 1 sample."""
    settings = Settings(baseline_window=WINDOW)
    for delay in (0, 1, 2):
        values = event_series(0, 0.5, 30)
        values[START + delay] = 0.0
        assert segment_event(values, START, len(values), 1.0, settings).downtime.value == 1.0, delay


def test_a_downtime_that_starts_late_counts_only_if_it_lasts_a_window() -> None:
    """A run below the line from sample s + 3 is downtime if it is a window (5 samples) long, and noise if shorter."""
    settings = Settings(baseline_window=WINDOW)
    for length, downtime in ((5, 5.0), (4, 0.0)):
        values = event_series(0, 0.5, 30)
        values[START + 3 : START + 3 + length] = 0.0
        assert segment_event(values, START, len(values), 1.0, settings).downtime.value == downtime, length


def test_a_sample_exactly_on_the_down_line_is_not_down() -> None:
    """The down line is strict: a sample at exactly down_fraction b after the downtime ends it."""
    values = event_series(5, 0.5, 24)
    values[START + 5] = Settings().down_fraction * BASE
    found = segment_event(values, START, len(values), 1.0, Settings(baseline_window=WINDOW))
    assert found.downtime.value == 5.0
    assert found.degraded_period.value == 24.0


def test_a_short_dip_before_a_late_long_downtime_is_skipped() -> None:
    """A one-sample dip at s + 3 is noise; the 10-sample run from s + 10 is the downtime, measured from its own start."""
    values = event_series(0, 0.5, 40)
    values[START + 3] = 0.0
    values[START + 10 : START + 20] = 0.0
    found = segment_event(values, START, len(values), 1.0, Settings(baseline_window=WINDOW))
    assert found.downtime.value == 10.0
    assert found.degraded_period.value == 20.0
    assert found.degradation.value == 0.5


def test_a_downtime_that_lasts_to_the_end_is_all_downtime_and_unrecovered() -> None:
    """Down from s to the last sample: the downtime is the whole rest, no degraded period, not recovered."""
    values = event_series(30, 0.5, 0)[: START + 30]
    found = segment_event(values, START, len(values), 1.0, Settings(baseline_window=WINDOW))
    assert (found.downtime.value, found.degraded_period.value, found.degradation.value) == (30.0, 0.0, 0.0)
    assert not found.recovered


@pytest.mark.parametrize(("downtime", "period"), [(5000, 24), (5, 5000), (4090, 4090), (20000, 20000)])
def test_events_longer_than_the_first_look_segment_exactly(downtime: int, period: int) -> None:
    """A downtime or period longer than the 4096 samples read first (or ending near them) is measured whole."""
    values = event_series(downtime, 0.5, period)
    found = segment_event(values, START, len(values), 1.0, Settings(baseline_window=WINDOW))
    assert (found.downtime.value, found.degraded_period.value, found.degradation.value) == (downtime, period, 0.5)
    assert found.recovered


@pytest.mark.parametrize(("deep", "shallow", "gap", "end"), [(10, 40, None, 48), (10, 40, 48, 47), (1, 3, None, 2)])
def test_a_period_that_eases_off_ends_where_the_window_means_are_back(
    deep: int, shallow: int, gap: int | None, end: int
) -> None:
    """A period at 0.25 b, then at 0.90625 b (still out of tolerance), ends at the first window with at most 2 shallow samples, after the change point."""
    base = 2.0
    values = np.concatenate(
        [
            np.full(WINDOW, base),
            np.zeros(5),
            np.full(deep, 0.25 * base),
            np.full(shallow, 0.90625 * base),
            np.full(TAIL, base),
        ]
    )
    if gap is not None:
        values[WINDOW + 5 + gap] = np.nan  # a missing sample is left out of a window's sum and its count alike
    found = segment_event(values, WINDOW, len(values), 1.0, Settings(baseline_window=WINDOW))
    assert found.downtime.value == 5.0
    assert found.degraded_period.value == end


def test_a_dip_just_past_the_first_look_delays_recovery() -> None:
    """Back at 4080 samples after the downtime, then down to 0.5 b from 4096 (past the 4096 read first) to 4106: back at 4106."""
    values = event_series(5, 0.5, 4106)
    values[START + 5 + 4080 : START + 5 + 4096] = BASE
    found = segment_event(values, START, len(values), 1.0, Settings(baseline_window=WINDOW))
    assert found.degraded_period.value == 4106.0


@pytest.mark.parametrize("step", [0.5, 1.0, 5.0])
def test_the_baseline_is_the_median_of_the_window_just_before_the_event(step: float) -> None:
    """baseline_window / step samples before s make the baseline; the 30 samples at 2 b before them do not count."""
    values = np.concatenate([np.full(30, 2 * BASE), np.full(10, BASE), np.zeros(5), np.full(TAIL, BASE)])
    found = segment_event(values, 40, len(values), step, Settings(baseline_window=10 * step))
    assert found.baseline.value == BASE
    assert found.downtime.value == 5 * step


def test_a_baseline_window_shorter_than_a_sample_is_one_sample() -> None:
    """A window under 1.5 samples rounds to 1 sample, never 0: the sample just before s."""
    values = np.concatenate([np.full(10, 2 * BASE), [BASE], np.zeros(5), np.full(TAIL, BASE)])
    found = segment_event(values, 11, len(values), 1.0, Settings(baseline_window=1.0, min_baseline_samples=1))
    assert found.baseline.value == BASE


def test_exactly_min_baseline_samples_are_enough() -> None:
    """A baseline window of exactly min_baseline_samples valid samples is accepted; one fewer is an error giving the event's time in s."""
    values = np.concatenate([np.full(5, BASE), np.zeros(5), np.full(TAIL, BASE)])
    assert segment_event(values, 5, len(values), 2.0).baseline.value == BASE
    with pytest.raises(TraceError) as caught:
        segment_event(values[1:], 4, len(values) - 1, 2.0, source="run.trace")
    assert str(caught.value) == (
        "run.trace: baseline window too short before the event at 8 s: 4 valid samples, need at least 5"
    )


def test_a_baseline_without_throughput_is_an_error() -> None:
    """A baseline of zeros is no throughput: the error names the source ('trace' by default) and the event's time in s."""
    values = np.concatenate([np.zeros(20), np.full(TAIL, BASE)])
    with pytest.raises(TraceError) as caught:
        segment_event(values, 10, len(values), 2.0, source="run.trace")
    assert str(caught.value) == "run.trace: no throughput before the event at 20 s (baseline 0)"
    with pytest.raises(TraceError, match=r"^trace: no throughput"):
        segment_event(values, 10, len(values), 2.0)


def test_segmentation_of_a_gappy_trace_raises_no_numpy_warnings() -> None:
    """Windows and prefixes with no valid sample are skipped quietly: numpy's 0/0 never reaches the caller."""
    values = event_series(5, 0.5, 24)
    values[START + 8 : START + 20] = np.nan  # in the degraded period: windows of no valid sample
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = segment_event(values, START, len(values), 1.0, Settings(baseline_window=WINDOW))
    assert found.recovered


def test_a_later_dip_beyond_two_windows_is_not_part_of_the_period() -> None:
    """Back one sample after the downtime; a dip to 0.8 b 8 samples on lies past the two windows the change point may look at."""
    values = event_series(5, 0.25, 1)
    values[START + 5 + 1 + 8 : START + 5 + 1 + 12] = 0.8 * BASE
    found = segment_event(values, START, len(values), 1.0, Settings(baseline_window=WINDOW))
    assert (found.downtime.value, found.degraded_period.value, found.degradation.value) == (5.0, 1.0, 0.25)


def noisy_baseline(spread: float) -> np.ndarray:
    """41 baseline samples, 20 at b - spread, 20 at b + spread and one at b: median b, MAD ``spread``."""
    return np.concatenate([np.full(20, BASE - spread), np.full(20, BASE + spread), [BASE]])


def test_a_noisy_baseline_lengthens_the_window_a_late_downtime_needs() -> None:
    """With σ = 1.4826 MAD = 2.22 req/s at b = 64, a window is ⌈(4σ / 0.05 b)²⌉ = 8 samples: a late 8-sample run is downtime, a 7-sample one is not."""
    sigma = 1.4826 * 1.5
    assert int(np.ceil((4 * sigma / (0.05 * BASE)) ** 2)) == 8
    for length, downtime in ((8, 8.0), (7, 0.0)):
        values = np.concatenate([noisy_baseline(1.5), np.full(3, 0.5 * BASE), np.zeros(length), np.full(TAIL, BASE)])
        assert segment_event(values, 41, len(values), 1.0, Settings(baseline_window=41)).downtime.value == downtime


def test_uncertainties_follow_the_baseline_noise() -> None:
    """σ = 1.4826 MAD: SE(b) = 1.2533 σ / √W; with no degraded period SE(ω) = σ / b, else hypot(σ / (b √R), (1 - ω) SE(b) / b)."""
    sigma = 1.4826 * 1.5
    level_error = 1.2533 * sigma / np.sqrt(41)
    settings = Settings(baseline_window=41)
    values = np.concatenate([noisy_baseline(1.5), np.zeros(5), np.full(TAIL, BASE)])
    found = segment_event(values, 41, len(values), 1.0, settings)
    assert found.baseline.uncertainty == pytest.approx(level_error, rel=1e-12)
    assert (found.degraded_period.value, found.degradation.value) == (0.0, 0.0)
    assert found.degraded_period.uncertainty == 1.0  # σ / (ω b) < 1: quantisation dominates
    assert found.degradation.uncertainty == pytest.approx(sigma / BASE, rel=1e-12)
    values = np.concatenate([noisy_baseline(1.5), np.zeros(5), np.full(24, 0.5 * BASE), np.full(TAIL, BASE)])
    found = segment_event(values, 41, len(values), 1.0, settings)
    assert (found.degraded_period.value, found.degradation.value) == (24.0, 0.5)
    expected = np.hypot(sigma / (BASE * np.sqrt(24)), 0.5 * level_error / BASE)
    assert found.degradation.uncertainty == pytest.approx(expected, rel=1e-12)


def test_a_gap_before_the_downtime_widens_it_as_far_back_as_the_baseline_window() -> None:
    """15 missing samples just before s (step 0.5 s, a 20 s = 40-sample window) widen the downtime's uncertainty by 15 steps."""
    values = event_series(6, 0.5, 24)
    values[START - 15 : START] = np.nan
    found = segment_event(values, START, len(values), 0.5, Settings(baseline_window=20.0))
    assert found.downtime.value == 3.0
    assert found.downtime.uncertainty == 0.5 * (1 + 15)


def test_a_recovery_near_the_end_is_read_with_windows_cut_at_the_end() -> None:
    """Back 10 samples before ``stop``: fewer than four windows remain, yet the period ends there and the event recovered."""
    values = event_series(5, 0.5, 24)
    found = segment_event(values, START, START + 5 + 24 + 10, 1.0, Settings(baseline_window=WINDOW))
    assert (found.degraded_period.value, found.recovered) == (24.0, True)


def test_a_window_mean_exactly_at_the_threshold_is_back() -> None:
    """At b = 1, a 5-sample window holding 2 samples at 0.875 averages exactly 0.95, the threshold: that window is back."""
    values = np.concatenate(
        [np.full(WINDOW, 1.0), np.zeros(5), np.full(10, 0.25), np.full(40, 0.875), np.full(TAIL, 1.0)]
    )
    found = segment_event(values, WINDOW, len(values), 1.0, Settings(baseline_window=WINDOW))
    assert found.degraded_period.value == 48.0  # the window from sample 48 holds samples 48 and 49 at 0.875


def test_a_long_window_mean_exactly_at_the_threshold_is_back() -> None:
    """At b = 1, four windows (20 samples) holding 8 samples at 0.875 average exactly 0.95: the first of them is back."""
    rest = [0.25] * 10 + [1.0] * 5 + [0.875] * 8 + [1.0] * 30
    values = np.concatenate([np.full(WINDOW, 1.0), np.zeros(5), rest])
    found = segment_event(values, WINDOW, len(values), 1.0, Settings(baseline_window=WINDOW))
    assert found.degraded_period.value == 10.0


def test_a_dip_past_four_windows_after_recovery_does_not_delay_it() -> None:
    """Back 1 sample after the downtime; a dip to 0.5 b from 20 to 25 samples later lies outside the four windows read."""
    values = event_series(5, 0.25, 1)
    values[START + 5 + 1 + 20 : START + 5 + 1 + 25] = 0.5 * BASE
    found = segment_event(values, START, len(values), 1.0, Settings(baseline_window=WINDOW))
    assert (found.downtime.value, found.degraded_period.value) == (5.0, 1.0)


def runs_series(*runs: tuple[int, int], length: int = 200) -> np.ndarray:
    """``length`` samples at b, with each (first sample, count) run at 0."""
    values = np.full(length, BASE)
    for first, count in runs:
        values[first : first + count] = 0.0
    return values


@pytest.mark.parametrize("min_gap", [1, 2, 10, 30])
def test_runs_exactly_min_gap_apart_are_two_events(min_gap: int) -> None:
    """min_gap samples above the line between two runs make two events; min_gap - 1 make one."""
    for gap, starts in ((min_gap, [50, 55 + min_gap]), (min_gap - 1, [50])):
        values = runs_series((50, 5), (55 + gap, 5))
        assert detect_events(values, min_gap=min_gap) == starts, gap


def test_by_default_runs_10_samples_apart_are_two_events() -> None:
    """Without a min_gap, runs less than 10 samples apart are one event (docs/trace-format.md, "Detection")."""
    assert detect_events(runs_series((50, 5), (65, 5))) == [50, 65]
    assert detect_events(runs_series((50, 5), (64, 5))) == [50]


@pytest.mark.parametrize("min_gap", [2, 10, 30])
def test_a_missing_sample_belongs_to_the_run_before_it(min_gap: int) -> None:
    """A gap of min_gap samples whose first is missing joins the two runs; one whose last is missing keeps them apart."""
    values = runs_series((50, 5), (55 + min_gap, 5))
    values[55] = np.nan
    assert detect_events(values, min_gap=min_gap) == [50]
    values = runs_series((50, 5), (55 + min_gap, 5))
    values[55 + min_gap - 1] = np.nan
    assert detect_events(values, min_gap=min_gap) == [50, 55 + min_gap]


def test_a_run_starts_at_its_first_valid_sample_below_the_line() -> None:
    """Detection gives each run's first sample below the down line, after any missing samples before it."""
    values = runs_series((50, 5), (100, 5), (150, 1))
    values[99] = np.nan
    values[100] = np.nan
    assert detect_events(values) == [50, 101, 150]


def test_a_series_that_starts_down_has_an_event_at_sample_0() -> None:
    """A run below the line from the first sample is an event at 0; one from the first valid sample is at that sample."""
    assert detect_events(runs_series((0, 5), (100, 5))) == [0, 100]
    assert detect_events(runs_series((0, 1), (100, 5))) == [0, 100]
    assert detect_events(runs_series((1, 5), (100, 5))) == [1, 100]
    values = runs_series((0, 5), (100, 5))
    values[0] = np.nan
    assert detect_events(values) == [1, 100]


def test_detection_reads_the_down_line_against_the_series_median() -> None:
    """A sample just under down_fraction of the median is down, one exactly on it is not."""
    line = Settings().down_fraction * BASE
    values = runs_series()
    values[50] = np.nextafter(line, 0.0)
    values[100] = line
    assert detect_events(values) == [50]
    assert detect_events(runs_series()) == []


def test_an_estimate_prints_as_value_plus_minus_uncertainty_and_unit() -> None:
    """Four significant digits for the value, two for the uncertainty, then the unit; no trailing space without one."""
    assert str(Estimate(59.04, 1.0, "s")) == "59.04 ± 1 s"
    assert str(Estimate(0.61234, 0.0123, "")) == "0.6123 ± 0.012"
