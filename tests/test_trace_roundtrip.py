"""Fitting a synthetic trace gives back the parameters it was made from, within the detection limits.

The limits come from the standard error of the degradation rate ω̂ = 1 - mean(degraded) / b,
with ν the noise (fraction of the baseline b), R the degraded period and W the baseline
window, both in samples (the baseline is a median, hence the 1.25):

    SE(ω̂) / ω ≈ sqrt( (ν / (ω √R))² + (1.25 ν (1 - ω) / (ω √W))² )

At ν = 5%, ω ≥ 0.2, ω √R ≥ 3 and W = 120 this is at most 2.83% (at ω = 0.2, R = 225), so a
10% tolerance is at least 3.5 standard errors. docs/trace-format.md gives the same limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rejuv.trace import Event, Settings, synthesize
from rejuv.trace.events import measure
from rejuv.trace.segment import Segment

BASELINE = 120  #: W, samples of baseline before the event (and the segmentation's baseline window)
TAIL = 150  #: samples after the degraded period: room for the "back for good" test (4 windows of <= 16)
NOISE = 0.05  #: ν at most: the noise of the host series, as a fraction of the baseline
LOAD = 50.0  #: req/s


def relative_error(rate: float, period: float, baseline: float = BASELINE, noise: float = NOISE) -> float:
    """The formula of the module docstring: SE(ω̂) / ω."""
    return math.hypot(noise / (rate * math.sqrt(period)), 1.25 * noise * (1 - rate) / (rate * math.sqrt(baseline)))


@dataclass(frozen=True)
class Case:
    """One event, in samples, and how it is sampled."""

    downtime: int
    rate: float
    period: int
    noise: float
    step: float
    seed: int

    def fit(self) -> Segment:
        step = self.step
        event = Event("warm", BASELINE * step, self.downtime * step, self.rate, self.period * step)
        duration = (BASELINE + self.downtime + self.period + TAIL) * step
        trace = synthesize(duration, load=LOAD, step=step, events=[event], noise=self.noise, seed=self.seed)
        [found] = measure(trace, "warm", Settings(baseline_window=BASELINE * step))
        return found.segment


@st.composite
def detectable(draw: st.DrawFn) -> Case:
    """D from 0 to 600 samples; ω from 0.2 to 0.8; R from max(20, (3/ω)²) to 600 samples; ν up to 5%."""
    rate = draw(st.floats(0.2, 0.8))
    shortest = max(20, math.ceil((3 / rate) ** 2))
    return Case(
        downtime=draw(st.integers(0, 600)),
        rate=rate,
        period=draw(st.integers(shortest, 600)),
        noise=draw(st.floats(0.0, NOISE)),
        step=draw(st.sampled_from([1.0, 5.0])),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def test_the_detectable_range_keeps_the_rate_error_under_three_percent() -> None:
    """Over the tested range (ω in [0.2, 0.8], ω √R >= 3, R >= 20, W = 120, ν <= 5%), SE(ω̂)/ω <= 2.9%."""
    worst = max(
        relative_error(rate, max(20, math.ceil((3 / rate) ** 2))) for rate in np.linspace(0.2, 0.8, 61).tolist()
    )
    assert worst == relative_error(0.2, 225)
    assert worst < 0.029


@settings(derandomize=True, deadline=None, max_examples=500)
@given(case=detectable())
# The corners of the range: no downtime under the deepest degradation (noise dips below the
# down line then, and must not be taken for downtime), the longest downtime, the slowest rate.
@example(case=Case(downtime=0, rate=0.8, period=20, noise=NOISE, step=1.0, seed=0))
@example(case=Case(downtime=1, rate=0.8, period=600, noise=NOISE, step=1.0, seed=1))
@example(case=Case(downtime=0, rate=0.2, period=225, noise=NOISE, step=1.0, seed=2))
@example(case=Case(downtime=600, rate=0.2, period=600, noise=NOISE, step=5.0, seed=3))
@example(case=Case(downtime=600, rate=0.8, period=20, noise=0.0, step=1.0, seed=4))
def test_fitting_a_synthetic_trace_recovers_its_parameters(case: Case) -> None:
    """Downtime within 2 samples; degraded period and degradation rate within 10%, over the detectable range."""
    found = case.fit()
    step = case.step
    assert abs(found.downtime.value - case.downtime * step) <= 2 * step
    assert abs(found.degraded_period.value - case.period * step) <= 0.1 * case.period * step
    assert abs(found.degradation.value - case.rate) <= 0.1 * case.rate
    assert found.recovered


def test_the_rate_error_formula_matches_the_spread_over_seeds() -> None:
    """At the edge of the range (ω = 0.2, R = 225, ν = 5%), ω̂/ω spreads by 2.83% ± 20% over 300 seeds, unbiased."""
    rates = np.array([Case(30, 0.2, 225, NOISE, 1.0, seed).fit().degradation.value for seed in range(300)])
    relative = rates / 0.2 - 1
    assert abs(relative.std() / relative_error(0.2, 225) - 1) < 0.2
    assert abs(relative.mean()) < 3 * relative_error(0.2, 225) / math.sqrt(300)


def test_reported_uncertainties_are_honest() -> None:
    """Over 300 seeds each, ω̂ is within 3 reported standard errors in >= 98% of fits, with z spread 0.8 to 1.25."""
    for rate, period in ((0.2, 225), (0.61, 25), (0.8, 20)):
        fits = [Case(30, rate, period, NOISE, 1.0, seed).fit() for seed in range(300)]
        z = np.array([(f.degradation.value - rate) / f.degradation.uncertainty for f in fits])
        assert np.mean(np.abs(z) <= 3) >= 0.98, (rate, period)
        assert 0.8 <= z.std() <= 1.25, (rate, period)
        downtime_z = np.array([(f.downtime.value - 30) / f.downtime.uncertainty for f in fits])
        period_z = np.array([(f.degraded_period.value - period) / f.degraded_period.uncertainty for f in fits])
        assert np.all(np.abs(downtime_z) <= 3)
        assert np.all(np.abs(period_z) <= 3)


def test_below_the_limits_a_ten_percent_fit_is_impossible() -> None:
    """ω = 0.1 over R = 10 samples (SE ≈ 16.6% even if the period were known): most fits miss by over 10%."""
    assert relative_error(0.1, 10) > 0.16
    rates = np.array([Case(30, 0.1, 10, NOISE, 1.0, seed).fit().degradation.value for seed in range(100)])
    assert np.mean(np.abs(rates / 0.1 - 1) > 0.1) > 0.5


def test_the_documented_detection_limits_follow_the_formula() -> None:
    """docs/trace-format.md's table gives, at ν = 5%, the baseline term and the shortest R for SE <= 3%, for W = 30 and 120."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "trace-format.md").read_text()
    for rate in (0.1, 0.2, 0.3, 0.4, 0.5, 0.61, 0.8):
        cells = []
        for window in (30, 120):
            baseline_term = 1.25 * NOISE * (1 - rate) / (rate * math.sqrt(window))
            room = 0.03**2 - baseline_term**2
            shortest = str(math.ceil(NOISE**2 / (rate**2 * room))) if room > 0 else "impossible"
            cells += [f"{100 * baseline_term:.1f}%", shortest]
        assert f"| {rate:g} | {' | '.join(cells)} |" in text, rate
    assert f"at most {100 * relative_error(0.2, 225):.2f}% (at ω = 0.2, R = 225)" in text
