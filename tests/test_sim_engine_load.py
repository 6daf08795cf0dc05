"""Served throughput under an offered load below capacity: the cluster serves min(offered, capacity) at every moment.

One host of two loses all of its throughput over [10, 20) and half of it over [20, 30)
of a 100 s horizon, so the cluster's capacity is 2, 1, 1.5, then 2 host capacities. Every
value is a binary fraction, so the integrals are exact and are compared with ``==``.
"""

from __future__ import annotations

import numpy as np
import pytest

from rejuv.sim.engine import HostSweep, served_with_load, sweep_hosts
from rejuv.sim.event_rows import EventRows

HORIZON = 100.0


def two_hosts(initial: float = 0.0) -> HostSweep:
    """The sweep of host 0 (losing 1 over [10, 20), 0.5 over [20, 30), ``initial`` until 5) beside an idle host 1."""
    times = np.array([[5.0, 10.0, 20.0, 30.0], [HORIZON, HORIZON, HORIZON, HORIZON]])
    changes = np.array([[-initial, 1.0, -0.5, -0.5], [0.0, 0.0, 0.0, 0.0]])
    sweep = HostSweep()
    sweep_hosts(EventRows(times, changes, np.array([initial, 0.0]), 4), HORIZON, sweep, keep_changes=True)
    return sweep


@pytest.mark.parametrize(
    ("offered", "served"),
    [
        (2.0, 200.0 - 10.0 - 5.0),  # full load: every loss is lost
        (1.5, 150.0 - 0.5 * 10.0),  # only the full outage dips below the offered load
        (1.0, 100.0),  # one host's capacity always suffices
        (0.5, 50.0),
    ],
)
def test_a_cluster_serves_the_offered_load_up_to_its_capacity(offered: float, served: float) -> None:
    """Served host-seconds are the integral of min(offered, 2 - capped losses in force) over the horizon."""
    total, bins = served_with_load(two_hosts(), 2, offered, HORIZON, 0)
    assert total == served
    assert bins.size == 0


def test_a_loss_in_force_at_time_zero_lowers_the_capacity_from_the_start() -> None:
    """A loss of 0.5 in force from 0 to 5 costs 2.5 host-seconds at full load, and none at an offered 1.5."""
    assert served_with_load(two_hosts(0.5), 2, 2.0, HORIZON, 0)[0] == 200.0 - 15.0 - 2.5
    assert served_with_load(two_hosts(0.5), 2, 1.5, HORIZON, 0)[0] == 150.0 - 5.0


def test_the_timeline_gives_the_mean_served_capacity_in_each_bin() -> None:
    """Four 25 s bins at full load: (20 + 10 + 7.5) / 25, (7.5 + 40) / 25, then 2 and 2; they average to the total."""
    total, bins = served_with_load(two_hosts(), 2, 2.0, HORIZON, 4)
    assert bins.tolist() == [1.5, 1.9, 2.0, 2.0]
    assert float(bins.mean()) * HORIZON == pytest.approx(total, rel=1e-15)


def test_a_cluster_without_events_serves_the_offered_load_throughout() -> None:
    """No host swept any event (an empty sweep): 1.5 of 2 offered is served over all 100 s, in every bin."""
    total, bins = served_with_load(HostSweep(), 2, 1.5, HORIZON, 4)
    assert total == 150.0
    assert bins.tolist() == [1.5, 1.5, 1.5, 1.5]


def test_one_bin_is_the_mean_over_the_horizon() -> None:
    """bins = 1 gives one value, the total over the horizon; bins = 0 gives none."""
    assert served_with_load(two_hosts(), 2, 2.0, HORIZON, 1)[1].tolist() == [1.85]
    assert served_with_load(two_hosts(), 2, 2.0, HORIZON, 0)[1].tolist() == []
