"""Segmentation behaviour the mutation check found untested by the exact and statistical tests (docs/mutation.md)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rejuv.errors import TraceError
from rejuv.trace.segment import Estimate, Settings, _change_point, baseline, segment_event


def split_error(values: list[float], level: float, k: int) -> float:
    """Squared error, summed directly, of the valid samples' own mean on [0, k) and ``level`` on [k, end)."""
    head = [v for v in values[:k] if not math.isnan(v)]
    tail = [v for v in values[k:] if not math.isnan(v)]
    mean = sum(head) / len(head) if head else 0.0
    return sum((v - mean) ** 2 for v in head) + sum((v - level) ** 2 for v in tail)


samples = st.lists(st.one_of(st.floats(0.0, 3.0), st.just(math.nan)), min_size=1, max_size=12)


@given(values=samples, level=st.floats(0.0, 3.0))
def test_the_change_point_is_the_split_with_the_least_squared_error(values: list[float], level: float) -> None:
    """_change_point's k has the least squared error of every split 0..len, even where splits differ by under 1 (req/s)²."""
    found = _change_point(np.array(values), level)
    best = min(split_error(values, level, k) for k in range(len(values) + 1))
    assert 0 <= found <= len(values)
    assert split_error(values, level, found) <= best + 1e-9


def test_a_recovery_window_shorter_than_a_sample_is_one_sample() -> None:
    """recovery_window is in seconds, at least one sample: 5 s is 5 samples at 1 s, 1 at 5 s, and still 1 at 15 s."""
    settings = Settings(recovery_window=5.0)
    assert [settings.recovery_samples(step) for step in (1.0, 5.0, 15.0)] == [5, 1, 1]


def test_the_default_baseline_window_is_30_s_or_five_samples_at_coarse_steps() -> None:
    """The default baseline is 30 s, widened to 5 steps where a step is coarser than 6 s: 75 s at 15 s, 150 s at 30 s."""
    settings = Settings()
    assert [settings.baseline_seconds(step) for step in (1.0, 6.0, 15.0, 30.0)] == [30.0, 30.0, 75.0, 150.0]
    assert Settings(baseline_window=20.0).baseline_seconds(30.0) == 20.0


def test_a_too_short_baseline_at_a_coarse_step_says_how_long_the_trace_must_run_before() -> None:
    """At a 15 s step with the default window, 3 samples before the event are too few, and the error says: start 75 s before."""
    values = np.concatenate([np.full(3, 64.0), np.zeros(4), np.full(20, 64.0)])
    with pytest.raises(TraceError) as caught:
        segment_event(values, 3, len(values), 15.0, source="coarse.csv")
    assert str(caught.value) == (
        "coarse.csv: baseline window too short before the event at 45 s: 3 valid samples, need at least 5; "
        "at a 15 s step, start the trace at least 75 s before the event, or sample more finely"
    )


def test_a_too_short_baseline_window_set_by_hand_gets_no_advice_on_the_step() -> None:
    """A baseline window the caller set is used as it is: the error names the shortfall only."""
    values = np.concatenate([np.full(3, 64.0), np.zeros(4), np.full(20, 64.0)])
    with pytest.raises(TraceError) as caught:
        segment_event(values, 3, len(values), 15.0, Settings(baseline_window=75.0), source="coarse.csv")
    assert str(caught.value) == (
        "coarse.csv: baseline window too short before the event at 45 s: 3 valid samples, need at least 5"
    )


def test_a_ramp_at_a_coarse_step_ends_where_one_sample_is_back_for_good() -> None:
    """At 15 s the 5 s recovery window is one sample: a ramp 32, 40, 48, 56, 60, 62, ... req/s back to b = 64 ends
    before 62, the first sample at or over 95 % of b (60.8) whose next four average over it: 5 samples, 75 s,
    ω = 1 - 47.2 / 64 (the least-squares change point is no later, checked by brute force)."""
    ramp = [32.0, 40.0, 48.0, 56.0, 60.0, 62.0, 63.0] + [64.0] * 12
    values = np.concatenate([np.full(10, 64.0), np.zeros(2), ramp])
    searched = ramp[: 5 + 2]  # the change point is sought up to two windows past the crossing
    errors = [split_error(searched, 64.0, k) for k in range(len(searched) + 1)]
    assert errors.index(min(errors)) <= 5
    result = segment_event(values, 10, len(values), 15.0)
    assert result.degraded_period.value == 75.0
    assert result.degradation.value == pytest.approx(1 - 47.2 / 64, rel=1e-12)


def alternating(low: float, high: float, count: int) -> list[float]:
    """``count`` samples alternating between two levels: median (low + high) / 2, σ = 1.4826 (high - low) / 2."""
    return [low if i % 2 else high for i in range(count)]


@pytest.mark.parametrize(
    ("low", "high", "degraded", "period"),
    [
        (63.0, 65.0, 63.5, 8),  # ω b = 0.5 req/s < 1: (σ / ω b)² = 8.8, cut at R = 8 samples
        (63.0, 65.0, 62.0, 12),  # ω b = 2: (σ / ω b)² = 0.55, so one step
        (60.0, 68.0, 56.0, 30),  # σ = 5.9, ω b = 8: one step
        (40.0, 88.0, 32.0, 40),  # σ = 35.6 against ω b = 32: (σ / ω b)² = 1.24 steps
    ],
)
def test_the_degraded_periods_uncertainty_is_a_change_points_error(
    low: float, high: float, degraded: float, period: int
) -> None:
    """The period's uncertainty is step · min(max(1, (σ / (ω b))²), R) (docs/trace-format.md), σ from the baseline's MAD."""
    step = 2.0
    values = np.array(alternating(low, high, 40) + [degraded] * period + [64.0] * 60)
    result = segment_event(values, 40, len(values), step, Settings(baseline_window=80.0))
    baseline = np.array(alternating(low, high, 40))
    sigma = 1.4826 * float(np.median(np.abs(baseline - np.median(baseline))))
    height = result.degradation.value * result.baseline.value
    samples = result.degraded_period.value / step
    assert samples >= 1 and height > 0
    expected = step * min(max(1.0, (sigma / height) ** 2), samples)
    assert result.degraded_period.uncertainty == pytest.approx(expected, rel=1e-9)


def event_trace(event: list[float], base: float = 64.0, before: int = 30, after: int = 40) -> np.ndarray:
    """``before`` samples at ``base``, then ``event`` (its first sample is the event's), then ``after`` at ``base``."""
    return np.array([base] * before + event + [base] * after)


def test_an_outage_seen_by_the_client_is_the_downtime_as_given() -> None:
    """With ``outage`` (start, end, uncertainty in s) the downtime is end - start ± the given uncertainty, in s."""
    values = event_trace([0.0] * 5 + [32.0] * 5)
    segment = segment_event(values, 30, len(values), 2.0, outage=(61.0, 70.0, 0.25))
    assert segment.downtime == Estimate(9.0, 0.25, "s")


def test_the_degraded_period_starts_with_the_first_sample_wholly_after_a_given_outage() -> None:
    """An outage ending at 70 s, a sample's boundary at a 2 s step, leaves sample 35 (70-72 s) wholly after it.

    Samples 35 to 39 are degraded at half the baseline: a 10 s period at rate 0.5; one sample more or less
    at either end (the outage's last, or its first degraded one) would change both.
    """
    values = event_trace([0.0] * 5 + [32.0] * 5)
    segment = segment_event(values, 30, len(values), 2.0, outage=(61.0, 70.0, 0.25))
    assert (segment.degraded_period.value, segment.degradation.value) == (10.0, 0.5)


def test_samples_missing_throughout_a_given_outage_widen_the_degraded_periods_uncertainty_by_as_many_steps() -> None:
    """A series with no sample during the client's outage (5 samples at 2 s): the period's error is 2 s x (1 + 5)."""
    values = event_trace([math.nan] * 5 + [32.0] * 5)
    segment = segment_event(values, 30, len(values), 2.0, outage=(60.0, 70.0, 0.25))
    assert segment.degraded_period == Estimate(10.0, 12.0, "s")


def test_the_burst_above_the_baseline_right_after_the_downtime_is_catch_up_not_degradation() -> None:
    """Two samples (4 s at a 2 s step) above (1 + tolerance) b after the downtime are catch-up; the period follows."""
    values = event_trace([0.0] * 3 + [96.0] * 2 + [32.0] * 5)
    segment = segment_event(values, 30, len(values), 2.0, Settings(tolerance=0.25))
    assert (segment.catch_up, segment.degraded_period.value, segment.degradation.value) == (4.0, 10.0, 0.5)


def test_a_sample_exactly_at_the_catch_up_line_is_not_catch_up() -> None:
    """A sample at exactly (1 + tolerance) b = 80 req/s right after the downtime is not above the line: no catch-up."""
    values = event_trace([0.0] * 3 + [80.0] + [32.0] * 5)
    segment = segment_event(values, 30, len(values), 2.0, Settings(tolerance=0.25))
    assert segment.catch_up == 0.0


def test_without_a_downtime_there_is_no_catch_up() -> None:
    """An event that loses no service has no queued requests: samples above the line at its start are not catch-up."""
    values = event_trace([96.0] * 2)
    segment = segment_event(values, 30, len(values), 2.0, Settings(tolerance=0.25))
    assert (segment.downtime.value, segment.catch_up) == (0.0, 0.0)


# A baseline window whose median absolute deviation is 0 but whose standard deviation is exactly 1 req/s:
# 30 samples at 100 req/s, one at 96 and one at 104 (mean 100). Over a 16-sample period the mean's standard
# error is then 1/4 req/s, and 4 of them (the bound for "clearly above the baseline") are exactly 1 req/s.
ONE_SIGMA_BASELINE = [96.0] + [100.0] * 15 + [104.0] + [100.0] * 15
ONE_SIGMA_SETTINGS = Settings(baseline_window=32.0, recovery_window=8.0)


def test_a_period_exactly_four_standard_errors_above_the_baseline_stands_with_rate_zero() -> None:
    """16 samples at 101 req/s after b = 100 ± σ 1: 1 req/s above is 4 σ / √16 exactly, not clearly above: 16 s, ω 0."""
    values = np.array(ONE_SIGMA_BASELINE + [0.0] * 2 + [101.0] * 16 + [100.0] * 40)
    segment = segment_event(values, 32, len(values), 1.0, ONE_SIGMA_SETTINGS)
    assert (segment.degraded_period.value, segment.degradation.value) == (16.0, 0.0)


def test_a_period_five_standard_errors_above_the_baseline_is_no_degradation() -> None:
    """16 samples at 101.25 req/s, 5 σ / √16 above b: clearly above (bound 4), so the period is empty, ω 0 ± σ / b."""
    values = np.array(ONE_SIGMA_BASELINE + [0.0] * 2 + [101.25] * 16 + [100.0] * 40)
    segment = segment_event(values, 32, len(values), 1.0, ONE_SIGMA_SETTINGS)
    assert segment.degraded_period.value == 0.0
    assert segment.degradation == Estimate(0.0, pytest.approx(0.01), "")


def test_the_rates_error_counts_the_periods_own_scatter_where_the_baseline_has_none() -> None:
    """A noise-free baseline of 64 req/s, a period of 16 and 32 req/s: ω = 0.625 ± std(16, 32) / √2 / 64 = 0.125."""
    values = event_trace([0.0] * 3 + [16.0, 32.0])
    segment = segment_event(values, 30, len(values), 1.0)
    assert segment.degraded_period.value == 2.0
    assert segment.degradation == Estimate(0.625, pytest.approx(0.125), "")


def test_a_one_sample_degraded_period_is_segmented_without_a_warning() -> None:
    """A period of one sample has no scatter of its own to compute; segmentation warns about nothing."""
    values = event_trace([0.0] * 3 + [32.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        segment = segment_event(values, 30, len(values), 1.0)
    assert (segment.degraded_period.value, segment.degradation.value) == (1.0, 0.5)


def test_a_baseline_of_mostly_empty_bins_is_their_mean() -> None:
    """20 bins at 0 and 10 at 3 req/s (replies binned finer than they come): the median is 0, the level their mean, 1."""
    values = np.array([0.0, 0.0, 3.0] * 10 + [0.0] * 5)
    assert baseline(values, 30, 1.0).value == 1.0


def test_the_baseline_is_in_requests_per_second() -> None:
    """baseline() gives the level in req/s."""
    assert baseline(event_trace([]), 30, 1.0).unit == "req/s"


def test_a_too_short_baseline_names_the_trace_unless_told_its_source() -> None:
    """baseline()'s error names "trace" by default (segment_event's default too)."""
    with pytest.raises(TraceError) as caught:
        baseline(np.array([64.0] * 4), 4, 1.0)
    assert caught.value.what == "trace"
