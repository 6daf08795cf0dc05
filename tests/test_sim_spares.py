"""Spare hosts: the first-come, first-served queue, and where one spare stops being enough."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rejuv.model import STRATEGIES, Parameters, overtaking_hosts
from rejuv.sim import SimConfig, simulate
from rejuv.sim.spares import spare_starts

DAY = 86400.0


def test_one_spare_queue_is_the_lindley_recursion() -> None:
    """With one spare, each request starts when it is due or when the previous one frees the spare."""
    due = np.array([0.0, 1.0, 2.0, 10.0, 10.5])
    assert spare_starts(due, 3.0, 1).tolist() == [0.0, 3.0, 6.0, 10.0, 13.0]


def test_two_spares_serve_two_requests_at_once() -> None:
    """With two spares, the third request waits for the first to finish."""
    due = np.array([0.0, 0.0, 0.0, 0.0])
    assert spare_starts(due, 5.0, 2).tolist() == [0.0, 0.0, 5.0, 5.0]


def heap_starts(due: np.ndarray, hold: np.ndarray, spares: int) -> list[float]:
    """The pool simulated request by request: each takes the spare that is free first, or waits for it."""
    free = [0.0] * spares
    starts = []
    for arrival, length in zip(due.tolist(), hold.tolist(), strict=True):
        free.sort()
        begin = max(arrival, free.pop(0))
        starts.append(begin)
        free.append(begin + length)
    return starts


@given(
    gaps=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=40),
    holds=st.lists(st.floats(0.1, 10.0), min_size=40, max_size=40),
    spares=st.integers(1, 4),
)
def test_vectorised_queue_equals_a_heap_of_free_spares(gaps: list[float], holds: list[float], spares: int) -> None:
    """The cumulative-maximum solution gives the same starts as simulating the pool with a heap, for any holds."""
    due = np.cumsum(gaps)
    hold = np.array(holds[: due.size])
    assert spare_starts(due, hold, spares) == pytest.approx(heap_starts(due, hold, spares))


@given(
    gaps=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=40),
    hold=st.floats(0.1, 10.0),
    spares=st.integers(1, 4),
)
def test_constant_holds_take_the_chains_and_equal_a_heap_of_free_spares(
    gaps: list[float], hold: float, spares: int
) -> None:
    """With one hold for every request (an array or a float), the K Lindley chains give the heap's starts."""
    due = np.cumsum(gaps)
    expected = heap_starts(due, np.full(due.size, hold), spares)
    assert spare_starts(due, np.full(due.size, hold), spares) == pytest.approx(expected)
    assert spare_starts(due, hold, spares) == pytest.approx(expected)


@pytest.fixture(scope="module")
def daily(paper: Parameters) -> Parameters:
    """The paper's parameters with T_vmm = 1 day: one spare saturates at m' M_t = T_vmm, m ≈ 525."""
    return paper.replace(T_vmm=DAY)


def _loss(params: Parameters, strategy: str, hosts: int, **settings: object) -> float:
    return simulate(params, SimConfig(strategy=strategy, hosts=hosts, periods=13, **settings)).loss  # type: ignore[arg-type]


def test_one_spare_keeps_up_while_migrations_fit_in_t_vmm(daily: Parameters) -> None:
    """m' M_t < T_vmm (m = 500, M_t = 165 s, T_vmm = 1 d) and an instant reboot: stop-and-copy matches the model."""
    model = 1.0 - float(STRATEGIES["migration"].evaluate(daily, 500).normalized_throughput)
    assert _loss(daily, "migration", 500, spare_reboot_time=0.0) == pytest.approx(model, rel=1e-3)


def test_one_spare_falls_below_closed_form_once_m_times_migration_exceeds_t_vmm(daily: Parameters) -> None:
    """m' M_t > T_vmm (m = 560): hosts queue for the one spare, and the simulated loss exceeds the model's by far."""
    model = 1.0 - float(STRATEGIES["migration"].evaluate(daily, 560).normalized_throughput)
    result = simulate(daily, SimConfig(strategy="migration", hosts=560, periods=13, spare_reboot_time=0.0))
    assert result.wait_seconds > 0
    assert result.loss > 1.5 * model


def _model_loss(params: Parameters, strategy: str, hosts: int) -> float:
    return 1.0 - float(STRATEGIES[strategy].evaluate(params, hosts).normalized_throughput)


def test_saturation_ends_migrations_lead_over_cold_reboot(daily: Parameters) -> None:
    """The model has stop-and-copy ahead of Cold-VM Reboot from m = 232 on; with one spare (instant reboot) the
    simulation agrees at 300 and 500, but from m' M_t > T_vmm (m = 560) Cold-VM Reboot is ahead again."""
    assert int(overtaking_hosts(daily, "migration", "cold")) == 232
    for hosts in (300, 500, 560):
        assert _model_loss(daily, "migration", hosts) < _model_loss(daily, "cold", hosts)
    for hosts in (300, 500):
        assert _loss(daily, "migration", hosts, spare_reboot_time=0.0) < _loss(daily, "cold", hosts)
    assert _loss(daily, "migration", 560, spare_reboot_time=0.0) > _loss(daily, "cold", 560)


def test_spare_reboot_time_moves_saturation_before_the_crossover(daily: Parameters) -> None:
    """When the emptied host takes D_c to reboot, one spare saturates at m' (M_t + D_c) = T_vmm, m ≈ 226, before the
    model's crossover at 232: stop-and-copy never overtakes Cold-VM Reboot at 232, 300 or 400, though the model says it does."""
    assert _loss(daily, "migration", 220) == pytest.approx(_model_loss(daily, "migration", 220), rel=1e-3)
    for hosts in (232, 300, 400):
        assert _model_loss(daily, "migration", hosts) < _model_loss(daily, "cold", hosts)
        assert _loss(daily, "migration", hosts) > _loss(daily, "cold", hosts)


def test_serving_while_waiting_costs_no_throughput_in_deterministic_mode(daily: Parameters) -> None:
    """With the SERVE wait policy a late rejuvenation only runs late: no loss beyond the model's (fewer migrations fit)."""
    model = 1.0 - float(STRATEGIES["migration"].evaluate(daily, 560).normalized_throughput)
    assert _loss(daily, "migration", 560, spare_reboot_time=0.0, wait_policy="serve") <= model * (1 + 1e-3)


def test_return_policy_costs_a_second_migration(daily: Parameters) -> None:
    """Moving the VMs back doubles the migration's share of the loss (the spare factor aside)."""
    swap = simulate(daily, SimConfig(strategy="live", hosts=50, periods=13))
    back = simulate(daily, SimConfig(strategy="live", hosts=50, periods=13, spare_policy="return"))
    migration_loss = float(STRATEGIES["live"].vmm_degraded_loss(daily)) * 49 * 13
    assert back.lost_host_seconds - swap.lost_host_seconds == pytest.approx(migration_loss, rel=1e-9)
