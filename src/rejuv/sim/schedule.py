"""When every host rejuvenates its VMM and every VM its OS.

Host schedules. The m' serving hosts (m less the spares) rejuvenate their VMM
every T_vmm, host h first at its offset o_h: h T_vmm / m' (EVEN), 0
(ALIGNED) or uniform in [0, T_vmm) (RANDOM). The horizon is H = K T_vmm,
whole intervals, on a circle, so every host has exactly K rejuvenations in
it. With spare hosts each rejuvenation first waits for a free spare (see
:mod:`rejuv.sim.spares`); once any host has had to wait, the schedule no
longer repeats, and the horizon is a plain interval [0, H): what starts after
H is not simulated.

OS clocks (the paper's N). Each VM's OS rejuvenates every T_os on its own
clock, which stops while the VM is stopped: during a Warm-VM Reboot's
downtime (N_w = (T_vmm - D_w) / T_os), during the VM's own stop-and-copy move
(N_m = (T_vmm - D_m) / T_os on average), never for live migration (N_l =
T_vmm / T_os). On the circle the clock of VM j runs L_j = K (T_vmm - D_j) in
all. Its OS rejuvenations fall at clock readings φ_hj + i T_os < L_j, with
phases φ_hj = ((j / n + (h + 1/2) / m') mod 1) T_os: the n VMs of a host are
spread over T_os, and so are the m' VMs with the same j. The number of OS
rejuvenations in the whole cluster is then the model's n m' K N to within
one per VM index j: the model's fractional N, as an average over the
cluster. A VM stopped by the VMM in the middle of its OS downtime finishes it
afterwards (its downtime interval then spans the VMM's, which costs nothing
more since the host is down anyway).

A Cold-VM Reboot restarts every OS, so the OS timers restart when its
downtime ends: all n VMs rejuvenate at D_c + T_os, D_c + 2 T_os, ... into the
interval, ⌊N_c⌋ times, as the model counts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.model import STRATEGIES, Parameters
from rejuv.sim.config import SimConfig, Stagger, WaitPolicy
from rejuv.sim.event_rows import EventRows, phase_events
from rejuv.sim.phases import VmmProfile
from rejuv.sim.spares import spare_starts

__all__ = ["Schedule", "build_schedule", "os_events", "vmm_events"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Schedule:
    """The VMM rejuvenations of the m' serving hosts over the horizon."""

    offsets: Array  #: o_h, s, shape (m',)
    due: Array  #: when each rejuvenation is due, s, shape (m', K)
    start: Array  #: when it starts (after any wait for a spare), s, shape (m', K)
    horizon: float  #: H = K T_vmm, s
    vmm_interval: float  #: T_vmm, s

    @property
    def circular(self) -> bool:
        """Whether the schedule repeats every H (no host ever waited for a spare)."""
        return bool(np.all(self.start == self.due))

    @property
    def wait(self) -> Array:
        """How long each rejuvenation waited for a spare, s."""
        result: Array = self.start - self.due
        return result


def build_schedule(
    config: SimConfig, vmm_interval: float, spare_hold: Array | float, rng: np.random.Generator
) -> Schedule:
    """Offsets, due times and start times of every VMM rejuvenation (``spare_hold`` per one, or constant)."""
    slots, periods = config.serving_hosts, config.periods
    offsets: Array
    if config.stagger is Stagger.EVEN:
        offsets = np.arange(slots, dtype=np.float64) * np.float64(vmm_interval / slots)
    elif config.stagger is Stagger.ALIGNED:
        offsets = np.zeros(slots)
    else:
        offsets = rng.uniform(0.0, vmm_interval, size=slots)
    due = offsets[:, None] + np.arange(periods)[None, :] * vmm_interval
    start = due.copy()
    if config.uses_spares:
        order = np.argsort(due, axis=None, kind="stable")
        hold = np.broadcast_to(np.asarray(spare_hold, dtype=np.float64), due.shape).ravel()[order]
        start.ravel()[order] = spare_starts(due.ravel()[order], hold, config.spares)
    return Schedule(offsets, due, start, periods * vmm_interval, vmm_interval)


def vmm_events(schedule: Schedule, durations: Array, losses: Array, hosts: slice, wait_policy: WaitPolicy) -> EventRows:
    """The state changes of the VMM rejuvenations of ``hosts`` (and of their waits for a spare).

    ``durations`` has shape (P,) or (m', K, P) for per-rejuvenation phases.
    """
    start = schedule.start[hosts]
    due = schedule.due[hosts]
    length = durations[hosts] if durations.ndim == 3 else np.broadcast_to(durations, (*start.shape, losses.size))
    circular = schedule.circular
    valid = np.ones(start.shape, dtype=bool) if circular else start < schedule.horizon
    if wait_policy is WaitPolicy.DRAIN and not circular:
        waits = start - due
        length = np.concatenate((waits[..., None], length), axis=-1)
        losses = np.concatenate(([1.0], losses))
        start = due
        skipped = int((valid & (waits == 0)).sum())
    else:
        skipped = 0
    bounds = start[..., None] + np.concatenate((np.zeros((*start.shape, 1)), np.cumsum(length, axis=-1)), axis=-1)
    rows = phase_events(bounds, losses, valid, schedule.horizon, circular)
    return dataclasses.replace(rows, count=rows.count - skipped)


def _clock_to_time(clock: Array, vmm_interval: float, pause_start: Array, pause_length: Array) -> Array:
    """Time since the host's first rejuvenation at which an OS clock that stops during each pause reads ``clock``."""
    running = vmm_interval - pause_length
    period = np.floor(clock / running)
    into = clock - period * running
    result: Array = period * vmm_interval + into + np.where(into >= pause_start, pause_length, 0.0)
    return result


def os_events(
    params: Parameters, config: SimConfig, profile: VmmProfile, schedule: Schedule, hosts: slice
) -> EventRows:
    """The state changes of every OS rejuvenation of the VMs of ``hosts``: down, degraded, normal."""
    point = params.scalar("the simulator")
    n = int(point.vms_per_host)
    vmm_interval, os_interval = schedule.vmm_interval, point.os_interval
    downtime, degraded = point.os_downtime, point.os_degraded_period
    index = np.arange(schedule.offsets.size)[hosts]
    offsets = schedule.offsets[hosts]
    if profile.os_reset:
        count = int(STRATEGIES[config.strategy].os_rejuvenations(params))
        first = profile.durations[0] + os_interval * np.arange(1, count + 1)
        local = (np.arange(config.periods)[:, None] * vmm_interval + first[None, :]).ravel()
        begin = np.broadcast_to(offsets[:, None, None] + local[None, None, :], (index.size, n, local.size))
        down_end = begin + downtime
        valid = np.ones(begin.shape, dtype=bool)
    else:
        slots = config.serving_hosts
        vm = np.arange(n)
        phase = np.mod(vm[None, :] / n + (index[:, None] + 0.5) / slots, 1.0) * os_interval
        run = config.periods * (vmm_interval - profile.os_pause_length)  # L_j, per VM j
        most = int(np.ceil(float(run.max()) / os_interval)) + 1
        clock = phase[..., None] + np.arange(most)[None, None, :] * os_interval
        valid = clock < run[None, :, None]
        pause_start = profile.os_pause_start[None, :, None]
        pause_length = profile.os_pause_length[None, :, None]
        begin = offsets[:, None, None] + _clock_to_time(clock, vmm_interval, pause_start, pause_length)
        down_end = offsets[:, None, None] + _clock_to_time(clock + downtime, vmm_interval, pause_start, pause_length)
    bounds = np.stack((begin, down_end, down_end + degraded), axis=-1).reshape(index.size, -1, 3)
    losses = np.array([1.0 / n, point.os_degradation / n])
    rows = phase_events(bounds, losses, valid.reshape(index.size, -1), schedule.horizon, circular=True)
    if profile.os_reset or not profile.os_pause_length.any() or downtime == 0:
        return rows
    return EventRows.join([rows, _frozen(begin, down_end, valid, offsets, profile, schedule, n)])


def _frozen(
    begin: Array, end: Array, valid: NDArray[np.bool_], offsets: Array, profile: VmmProfile, schedule: Schedule, n: int
) -> EventRows:
    """Take back an OS downtime's loss while its VM is stopped by the VMM (the OS is frozen, not down twice).

    An OS downtime [begin, end) spans every pause of its VM that falls inside
    it; during each, the VM's loss is the VMM's alone. These are no state
    changes of their own, so they add no events.
    """
    vmm_interval = schedule.vmm_interval
    pause_start = profile.os_pause_start[None, :, None]
    pause_length = profile.os_pause_length[None, :, None]
    local = begin - offsets[:, None, None]
    first = np.ceil((local - pause_start) / vmm_interval)
    most = int(np.ceil(float(np.max(end - begin, initial=0.0)) / vmm_interval)) + 1
    hosts = begin.shape[0]
    parts = []
    for step in range(most):
        starts = offsets[:, None, None] + (first + step) * vmm_interval + pause_start
        inside = (valid & (starts >= begin) & (starts + pause_length <= end) & (pause_length > 0)).reshape(hosts, -1)
        used = inside.any(axis=0)  # OS rejuvenations that span a pause on some host; the rest would be padding
        starts = starts.reshape(hosts, -1)[:, used]
        lengths = np.broadcast_to(pause_length, begin.shape).reshape(hosts, -1)[:, used]
        bounds = np.stack((starts, starts + lengths), axis=-1)
        part = phase_events(bounds, np.array([-1.0 / n]), inside[:, used], schedule.horizon, True)
        parts.append(dataclasses.replace(part, count=0))
    return EventRows.join(parts)
