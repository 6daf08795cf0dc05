"""The sweep that integrates each host's capped loss, and the event rows it reads."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rejuv.model import Parameters
from rejuv.sim import SimConfig
from rejuv.sim.engine import HostSweep, sweep_hosts
from rejuv.sim.event_rows import EventRows, phase_events
from rejuv.sim.phases import vmm_profile
from rejuv.sim.schedule import build_schedule, os_events

HORIZON = 100.0


def _row(times: list[float], changes: list[float], initial: float = 0.0) -> EventRows:
    return EventRows(np.array([times], float), np.array([changes], float), np.array([initial]), len(times))


def _sweep(rows: EventRows, keep_changes: bool = False) -> HostSweep:
    result = HostSweep()
    sweep_hosts(rows, HORIZON, result, keep_changes)
    return result


def test_a_host_loses_at_most_its_whole_throughput() -> None:
    """A downtime [10, 20) at 1 with an OS downtime [15, 17) at 0.2 inside it, then [20, 30) at 0.5: 15 lost, 0.4 cut."""
    result = _sweep(_row([10, 15, 17, 20, 30], [1.0, 0.2, -0.2, -0.5, -0.5]))
    assert result.lost == pytest.approx(15.0, rel=1e-15)
    assert result.overlap == pytest.approx(0.4, rel=1e-12)


def test_events_may_come_in_any_order_within_a_row() -> None:
    """The sweep orders each host's events by time itself: shuffled columns give the same loss."""
    times, changes = [10.0, 15, 17, 20, 30], [1.0, 0.2, -0.2, -0.5, -0.5]
    shuffled = [3, 0, 4, 2, 1]
    ordered = _sweep(_row(times, changes))
    mixed = _sweep(_row([times[i] for i in shuffled], [changes[i] for i in shuffled]))
    assert (mixed.lost, mixed.overlap) == (ordered.lost, ordered.overlap)


def test_a_loss_in_force_at_time_zero_counts_until_its_first_change() -> None:
    """On the circle a phase that wraps is in force from 0: initial 0.5 ending at 4 costs 2 host-seconds."""
    assert _sweep(_row([4.0, HORIZON], [-0.5, 0.0], initial=0.5)).lost == pytest.approx(2.0, rel=1e-15)


@given(seed=st.integers(0, 2**32 - 1), cut=st.integers(1, 9))
def test_sweeping_hosts_in_chunks_adds_up_to_sweeping_them_at_once(seed: int, cut: int) -> None:
    """Hosts are independent: the loss of 10 hosts swept in two chunks is the loss of one sweep of all 10."""
    rng = np.random.default_rng(seed)
    starts = rng.uniform(0, HORIZON, (10, 6))
    ends = np.minimum(starts + rng.uniform(0, 20, starts.shape), HORIZON)
    loss = rng.uniform(0, 0.8, starts.shape)
    rows = EventRows(np.concatenate((starts, ends), axis=1), np.concatenate((loss, -loss), axis=1), np.zeros(10), 120)
    whole = _sweep(rows)
    parts = HostSweep()
    for chosen in (slice(0, cut), slice(cut, 10)):
        part = EventRows(rows.times[chosen], rows.changes[chosen], rows.initial[chosen], 0)
        sweep_hosts(part, HORIZON, parts, False)
    assert parts.lost == pytest.approx(whole.lost, rel=1e-12)
    assert parts.overlap == pytest.approx(whole.overlap, rel=1e-12, abs=1e-12)


def test_kept_changes_trace_the_cluster_capacity() -> None:
    """With keep_changes the sweep lists when the capped loss moves and by how much: here +1 at 10, -0.5 at 20, -0.5 at 30."""
    result = _sweep(_row([10, 15, 17, 20, 30], [1.0, 0.2, -0.2, -0.5, -0.5]), keep_changes=True)
    times = np.concatenate(result.change_times)
    deltas = np.concatenate(result.change_deltas)
    moved = deltas != 0
    assert times[moved].tolist() == [10.0, 20.0, 30.0]
    assert deltas[moved].tolist() == [1.0, -0.5, -0.5]


@given(st.lists(st.floats(0.0, 2 * HORIZON, exclude_max=True), min_size=2, max_size=40))
def test_times_on_the_circle_are_exactly_the_modulo(bounds: list[float]) -> None:
    """Phase bounds in [0, 2 H) are taken modulo H exactly, as np.mod would, bit for bit."""
    ordered = np.sort(np.array(bounds))
    rows = phase_events(ordered[None, None, :], np.ones(ordered.size - 1), np.ones((1, 1), bool), HORIZON, True)
    assert rows.times.ravel().tolist() == np.mod(ordered, HORIZON).tolist()


@pytest.mark.parametrize("strategy", ["warm", "migration"])
def test_os_event_rows_hold_hardly_more_columns_than_events(paper: Parameters, strategy: str) -> None:
    """The rows of OS events carry less than 5 % padding (a VM's last slot; no columns for pauses no OS downtime spans)."""
    config = SimConfig(strategy=strategy, hosts=200, periods=13)
    profile = vmm_profile(paper, config)
    schedule = build_schedule(config, float(paper.vmm_interval), profile.spare_hold, np.random.default_rng(0))
    rows = os_events(paper, config, profile, schedule, slice(0, config.serving_hosts))
    assert rows.times.size < 1.05 * rows.count
