"""Edges of the per-host sweep: one event per row, losses over 1 at time 0, float residues, several chunks."""

from __future__ import annotations

import numpy as np

from rejuv.sim.engine import HostSweep, served_with_load, sweep_hosts
from rejuv.sim.event_rows import EventRows

HORIZON = 100.0


def rows(times: list[list[float]], changes: list[list[float]], initial: list[float]) -> EventRows:
    """Event rows, one list per host."""
    return EventRows(np.array(times), np.array(changes), np.array(initial), sum(len(row) for row in times))


def swept(events: EventRows, keep_changes: bool = False) -> HostSweep:
    result = HostSweep()
    sweep_hosts(events, HORIZON, result, keep_changes)
    return result


def test_a_row_of_one_event_is_swept() -> None:
    """A single loss of 0.5 from 10 s to the horizon costs 45 host-seconds."""
    assert swept(rows([[10.0]], [[0.5]], [0.0])).lost == 45.0


def test_a_loss_over_1_in_force_at_time_zero_is_cut_at_1() -> None:
    """Losses of 1.5 in force from 0 until 4 s cost 4 host-seconds, and the 0.5 cut off is overlap."""
    result = swept(rows([[4.0]], [[-1.5]], [1.5]))
    assert (result.lost, result.overlap) == (4.0, 2.0)


def test_a_float_residue_below_zero_after_the_last_loss_costs_nothing() -> None:
    """0.3, then -0.1 and -0.2 (which sum to -2.8e-17 in binary) lose exactly 3 + 2 host-seconds, and no overlap."""
    assert 0.3 - 0.1 - 0.2 < 0
    result = swept(rows([[10.0, 20.0, 30.0]], [[0.3, -0.1, -0.2]], [0.0]))
    assert (result.lost, result.overlap) == (5.0, 0.0)


def test_kept_changes_of_several_chunks_add_up() -> None:
    """Two hosts swept as two chunks serve what one sweep of both serves; at full load 200 less 10 and 37.5 host-seconds."""
    both = rows([[10.0, 20.0], [15.0, 40.0]], [[1.0, -1.0], [0.5, -0.5]], [0.0, 0.25])
    whole = swept(both, keep_changes=True)
    parts = HostSweep()
    for host in (0, 1):
        part = EventRows(both.times[host : host + 1], both.changes[host : host + 1], both.initial[host : host + 1], 2)
        sweep_hosts(part, HORIZON, parts, keep_changes=True)
    assert parts.lost == whole.lost
    for offered in (2.0, 1.5):
        assert served_with_load(parts, 2, offered, HORIZON, 4)[0] == served_with_load(whole, 2, offered, HORIZON, 4)[0]
    assert served_with_load(parts, 2, 2.0, HORIZON, 0)[0] == 200.0 - 10.0 - (0.25 * 15.0 + 0.75 * 25.0 + 0.25 * 60.0)
