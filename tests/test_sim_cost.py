"""A simulation's cost is estimated before it runs, and work past the limits is refused before any is done."""

from __future__ import annotations

import tracemalloc

import pytest

from rejuv.errors import ResourceLimitError
from rejuv.model import Parameters
from rejuv.sim import AgingModel, DurationModel, SimConfig, SimCost, simulate, validate_against_model
from rejuv.sim.cost import EVENT_LIMIT_VARIABLE, event_limit
from rejuv.sim.sweep import SweepPoint, check_sweep

CONFIGS = [
    pytest.param(SimConfig(strategy="warm", hosts=300, periods=13), id="warm"),
    pytest.param(SimConfig(strategy="cold", hosts=200, periods=20), id="cold"),
    pytest.param(SimConfig(strategy="migration", hosts=100, periods=13), id="migration"),
    pytest.param(SimConfig(strategy="live_rate_control", hosts=50, periods=30), id="live-rate-control"),
    pytest.param(
        SimConfig(strategy="live", hosts=100, periods=13, durations=DurationModel.parse("lognormal:0.3")),
        id="live-lognormal",
    ),
    pytest.param(SimConfig(strategy="cold", hosts=100, periods=13, aging=AgingModel.parse("2:2d:15min")), id="aging"),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_the_estimate_is_never_below_what_a_run_does_and_close_to_it(paper: Parameters, config: SimConfig) -> None:
    """Estimated events are within [1, 1.6] of a run's, and estimated memory covers its tracemalloc peak."""
    cost = SimCost.of(paper, config)
    tracemalloc.start()
    try:
        result = simulate(paper, config)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.events <= cost.events <= 1.6 * result.events
    assert cost.memory >= peak


def test_validation_refuses_work_past_the_event_limit_before_simulating(paper: Parameters) -> None:
    """validate_against_model names the host counts and the estimate when they alone are past the limit, at once."""
    with pytest.raises(ResourceLimitError, match=r"^hosts: about 1\.\d+e\+07 simulated events") as caught:
        validate_against_model(paper, [10_000], ["warm"], event_limit=1_000_000)
    assert "--max-events" in str(caught.value)


def test_a_tiny_tolerance_is_blamed_for_the_horizon_it_needs(paper: Parameters) -> None:
    """With the default hosts, a tolerance of 1e-12 needs millions of periods: the error names the tolerance."""
    with pytest.raises(ResourceLimitError, match=r"^tolerance: .*--tolerance"):
        validate_against_model(paper, [10], ["warm"], tolerance=1e-12)


def test_a_sweep_of_many_replications_is_blamed_on_them(paper: Parameters) -> None:
    """A sweep whose one replication fits but whose replications do not names --replications."""
    with pytest.raises(ResourceLimitError, match=r"^replications: "):
        check_sweep(paper, SimConfig(), [SweepPoint("warm", 100, 0)], 100_000, event_limit=10**9)


def test_the_event_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """REJUV_EVENT_LIMIT sets the limit; a value that is no count is an error naming the variable."""
    monkeypatch.setenv(EVENT_LIMIT_VARIABLE, "2e6")
    assert event_limit() == 2_000_000
    monkeypatch.setenv(EVENT_LIMIT_VARIABLE, "lots")
    with pytest.raises(ValueError, match=EVENT_LIMIT_VARIABLE):
        event_limit()
