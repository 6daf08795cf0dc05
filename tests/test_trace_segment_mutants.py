"""Segmentation behaviour the mutation check found untested by the exact and statistical tests (docs/mutation.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rejuv.errors import TraceError
from rejuv.trace.segment import Settings, _change_point, segment_event


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
