"""Integrate the cluster's served throughput exactly between state changes.

Each host's loss rate is the sum of the loss rates of its intervals that are
in force (the closed form, too, adds overlapping losses), cut at 1: a host
cannot lose more than all of its throughput. The cut loss is reported as
overlap. Hosts are swept in chunks: the events of a chunk are sorted by host
and time, a per-host running sum gives each host's loss rate between its
events, and the product with the time to the next event is summed.

The load balancer spreads the offered load over the hosts that are up, and no
host serves more than p. With the offered load at full capacity (the closed
form's case) the cluster serves exactly the sum of the hosts' capacities, so
the chunks add up. With less offered load, hosts with headroom absorb what
the others lose: served(t) = min(offered, sum of capacities(t)), which needs
the cluster's capacity over time, so the chunks' capacity changes are then
merged into one sorted event list (more memory).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rejuv.model import Parameters
from rejuv.sim.config import SimConfig
from rejuv.sim.event_rows import EventRows

__all__ = ["HostSweep", "sweep_hosts", "served_with_load"]

Array = NDArray[np.float64]


@dataclass
class HostSweep:
    """What the per-host sweep of one or more chunks found, in host-seconds (fractions of p times s)."""

    lost: float = 0.0  #: service lost, with each host's loss cut at 1
    overlap: float = 0.0  #: loss removed by that cut (losses in force together adding up to more than 1)
    change_times: list[Array] = field(default_factory=list)  #: times at which some host's capped loss changes
    change_deltas: list[Array] = field(default_factory=list)  #: by how much


def sweep_hosts(rows: EventRows, horizon: float, result: HostSweep, keep_changes: bool) -> None:
    """Add the loss of the hosts in ``rows`` (each row complete) over [0, horizon) to ``result``."""
    hosts, width = rows.times.shape
    if width == 0:
        return
    order = np.argsort(rows.times, axis=1, kind="stable")  # timsort: each VM's and host's events come in runs
    order += np.arange(0, hosts * width, width)[:, None]  # row-wise order, as indices into the flat arrays
    flat = order.ravel()
    times = rows.times.ravel().take(flat).reshape(hosts, width)
    running = rows.changes.ravel().take(flat).reshape(hosts, width)
    del order, flat
    np.cumsum(running, axis=1, out=running)
    running += rows.initial[:, None]
    np.maximum(running, 0.0, out=running)  # float rounding once a host's losses are all over
    capped = np.minimum(running, 1.0)
    spans = np.empty_like(times)
    np.subtract(times[:, 1:], times[:, :-1], out=spans[:, :-1])
    np.subtract(horizon, times[:, -1], out=spans[:, -1])
    start = np.minimum(rows.initial, 1.0)
    first = times[:, 0].copy()
    result.lost += float(np.vdot(capped, spans) + np.dot(start, first))
    if keep_changes:
        change = np.empty_like(capped)
        change[:, 0] = capped[:, 0] - start
        np.subtract(capped[:, 1:], capped[:, :-1], out=change[:, 1:])
        moved = change != 0.0
        result.change_times += [np.zeros(1), times[moved]]
        result.change_deltas += [np.array([start.sum()]), change[moved]]
    excess = np.subtract(running, capped, out=running)
    result.overlap += float(np.vdot(excess, spans) + np.dot(rows.initial - start, first))


def served_with_load(sweep: HostSweep, serving: int, offered: float, horizon: float, bins: int) -> tuple[float, Array]:
    """Host-seconds served over [0, horizon) when ``offered`` (host capacities) are offered, and per-bin means.

    The cluster's capacity is ``serving`` less the capped losses in force; it
    serves min(offered, capacity). Returns the total and, for ``bins`` > 0,
    the mean served host capacity in each of ``bins`` equal bins.
    """
    times = np.concatenate([*sweep.change_times, np.array([0.0, horizon])])
    deltas = np.concatenate([*sweep.change_deltas, np.zeros(2)])
    order = np.argsort(times, kind="stable")
    times, deltas = times[order], deltas[order]
    capacity = serving - np.cumsum(deltas)
    served = np.minimum(capacity[:-1], offered)
    cumulative = np.concatenate(([0.0], np.cumsum(served * np.diff(times))))
    total = float(cumulative[-1])
    if bins <= 0:
        return total, np.zeros(0)
    edges = np.linspace(0.0, horizon, bins + 1)
    at_edges = np.interp(edges, times, cumulative)
    return total, np.diff(at_edges) / np.diff(edges)


def chunk_hosts(params: Parameters, config: SimConfig, phases: int, budget: int = 250_000) -> int:
    """How many hosts to sweep at once so that a chunk holds about ``budget`` events."""
    point = params.scalar("the simulator")
    per_period = point.vmm_interval / point.os_interval
    per_host = config.periods * (phases + 2) + 3 * int(point.vms_per_host) * (config.periods * per_period + 2)
    return max(1, min(config.serving_hosts, int(budget / max(per_host, 1.0))))


def wall_clock() -> float:
    """Seconds from a monotonic clock (for events per second)."""
    return time.perf_counter()
