"""How many hosts the simulator sweeps at once: enough to fill, and never overflow, the event budget."""

from __future__ import annotations

import pytest

from rejuv.model import Parameters
from rejuv.sim import SimConfig, simulate
from rejuv.sim.engine import chunk_hosts
from rejuv.sim.phases import vmm_profile

DAY = 86400.0


@pytest.mark.parametrize("strategy", ["warm", "cold", "migration"])
@pytest.mark.parametrize("daily", [False, True])
@pytest.mark.parametrize("budget", [20_000, 50_000])
def test_a_chunk_holds_at_most_the_budget_of_events_and_over_half_of_it(
    paper: Parameters, strategy: str, daily: bool, budget: int
) -> None:
    """The hosts of one chunk make at most ``budget`` events, counted by a simulation, and more than 60% of it."""
    params = paper.replace(T_vmm=DAY, T_os=DAY / 10) if daily else paper
    config = SimConfig(strategy=strategy, hosts=60, periods=13)
    per_host = simulate(params, config).events / config.serving_hosts
    hosts = chunk_hosts(params, config, vmm_profile(params, config).durations.size, budget)
    assert 1 < hosts < config.serving_hosts
    assert 0.6 * budget < hosts * per_host <= budget


def test_a_host_with_more_events_than_the_budget_is_a_chunk_of_its_own(paper: Parameters) -> None:
    """However small the budget, a chunk holds at least one host; a large one holds every serving host."""
    config = SimConfig(strategy="warm", hosts=60, periods=13)
    phases = vmm_profile(paper, config).durations.size
    assert chunk_hosts(paper, config, phases, 10) == 1
    assert chunk_hosts(paper, config, phases, 10**9) == config.serving_hosts
