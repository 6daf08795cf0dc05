"""Rows of state changes, one row per host: the simulator's one data structure.

Every state of a host or VM that costs service (a VMM downtime, a degraded
period, one VM's OS downtime, a migration step, a wait for a spare) has a loss
rate, a fraction of the host's throughput p. A change of state is an event:
a time and the change of the host's loss rate. Simulated time is the circle
[0, H): an interval that runs past H goes on from 0, as in the steady state of
a schedule that repeats every H, so a host can start with losses in force at
time 0 (``initial``). Rows are padded with events at H that change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["EventRows", "phase_events"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class EventRows:
    """``times`` and ``changes`` of shape (hosts, width), ``initial`` loss of shape (hosts,); ``count`` real events."""

    times: Array
    changes: Array
    initial: Array
    count: int

    @classmethod
    def join(cls, parts: Sequence[EventRows]) -> EventRows:
        """The events of ``parts`` (same hosts) side by side."""
        return cls(
            np.concatenate([p.times for p in parts], axis=1),
            np.concatenate([p.changes for p in parts], axis=1),
            np.sum([p.initial for p in parts], axis=0),
            sum(p.count for p in parts),
        )


def phase_events(bounds: Array, losses: Array, valid: NDArray[np.bool_], horizon: float, circular: bool) -> EventRows:
    """The events of runs of consecutive phases.

    ``bounds`` has shape (hosts, runs, P + 1): the start of each of P phases
    and the end of the last, in absolute time (the first below ``horizon``,
    each run shorter than it); ``losses`` the P loss rates (broadcast to
    (hosts, runs, P)); ``valid`` which runs happen. On the circle each time is
    taken modulo the horizon and a phase that wraps is in force at 0;
    otherwise times are cut at the horizon.
    """
    edge = np.zeros((*np.shape(losses)[:-1], 1))
    steps = np.diff(np.concatenate((edge, losses, edge), axis=-1), axis=-1)  # on losses as given, often just (P,)
    changes = steps * valid[..., None]
    losses = np.broadcast_to(losses, (*bounds.shape[:-1], bounds.shape[-1] - 1))
    if circular:
        if bounds.size and (bounds.min() < 0 or bounds.max() >= 2 * horizon):
            times = np.mod(bounds, horizon)
        else:  # in [0, 2 H): the same exact result as the modulo, several times faster
            times = bounds - horizon * (bounds >= horizon)
        wraps = (times[..., :-1] > times[..., 1:]) & valid[..., None]
        initial = (losses * wraps).sum(axis=(1, 2))
    else:
        times = np.minimum(bounds, horizon)
        initial = np.zeros(bounds.shape[0])
    times = np.where(valid[..., None], times, horizon)
    hosts = bounds.shape[0]
    return EventRows(times.reshape(hosts, -1), changes.reshape(hosts, -1), initial, int(valid.sum()) * bounds.shape[-1])
