"""When the hosts' VMMs fail from software aging between rejuvenations.

A host's VMM ages from the moment its rejuvenation renewed it (the end of a
warm or cold reboot's downtime, the end of a migration) until its next
rejuvenation starts. In each such interval [r, s) it fails at r + T if that
is before s, with T drawn from the :class:`~rejuv.sim.stochastic.AgingModel`;
the failure is an unplanned cold reboot (its downtime, then R'_vmm at ω'),
which renews the VMM in turn, and it may fail again before s. Failures are
drawn round by round for every interval of every host at once, so all draws
are made before the hosts are swept in chunks: the result does not depend on
the chunk size.

On the circle (a schedule that repeats every H) the last interval of a host
runs from its last renewal to its first rejuvenation plus H. Otherwise the
interval before the first rejuvenation starts one T_vmm earlier, and
failures outside [0, H) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.sim.event_rows import EventRows, phase_events
from rejuv.sim.schedule import Schedule
from rejuv.sim.stochastic import AgingModel

__all__ = ["Failures", "draw_failures"]

Array = NDArray[np.float64]

#: Rounds of failures within one interval beyond which a failure model is no aging any more.
MOST_ROUNDS = 1000


@dataclass(frozen=True)
class Failures:
    """Every failure of every serving host: ``starts`` of shape (m', F), NaN-free, with ``valid`` marking real ones."""

    starts: Array
    valid: NDArray[np.bool_]
    phases: Array  #: durations of a failure's phases: its downtime, then R'_vmm, s
    losses: Array  #: their loss rates: 1, then ω'

    @property
    def count(self) -> int:
        """How many failures happened in the horizon."""
        return int(self.valid.sum())

    def events(self, hosts: slice, horizon: float, circular: bool) -> EventRows:
        """The state changes of the failures of ``hosts``."""
        starts = self.starts[hosts]
        bounds = starts[..., None] + np.concatenate(([0.0], np.cumsum(self.phases)))
        return phase_events(bounds, self.losses, self.valid[hosts], horizon, circular)


def _intervals(schedule: Schedule, renewal: Array) -> tuple[Array, Array]:
    """Begin (a renewal) and end (the next rejuvenation's start) of each interval in which a VMM ages."""
    start = schedule.start
    renewed = start + renewal
    if schedule.circular:
        return renewed, np.concatenate((start[:, 1:], start[:, :1] + schedule.horizon), axis=1)
    before = start[:, :1] - schedule.vmm_interval + renewal[:, :1]
    after = np.full((start.shape[0], 1), np.inf)
    return np.concatenate((before, renewed), axis=1), np.concatenate((start, after), axis=1)


def draw_failures(
    aging: AgingModel,
    schedule: Schedule,
    renewal: Array,
    recovery: tuple[float, float],
    rng: np.random.Generator,
) -> Failures:
    """Draw the failures between the rejuvenations of ``schedule``.

    ``renewal`` (shape (m', K)) is how long after its start each
    rejuvenation renews the VMM, s; ``recovery`` is the degraded period
    after a failure's downtime and its loss rate (Cold-VM Reboot's R'_vmm
    and ω').
    """
    phases = np.array([aging.downtime, recovery[0]])
    losses = np.array([1.0, recovery[1]])
    begin, end = _intervals(schedule, renewal)
    starts = []
    clock = begin
    for _ in range(MOST_ROUNDS):
        failure = clock + aging.times_to_failure(clock.shape, rng)
        happens = failure < end
        if not happens.any():
            break
        starts.append(np.where(happens, failure, np.nan))
        clock = np.where(happens, failure + aging.downtime, np.inf)
    if not starts:
        empty = np.zeros((begin.shape[0], 0))
        return Failures(empty, empty.astype(bool), phases, losses)
    stacked = np.concatenate(starts, axis=1)
    valid = np.isfinite(stacked)
    if not schedule.circular:
        valid &= (stacked >= 0) & (stacked < schedule.horizon)
    return Failures(np.where(valid, stacked, 0.0), valid, phases, losses)
