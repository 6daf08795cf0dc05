"""Simulate one cluster: :func:`simulate` and its :class:`SimResult`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import ParameterError
from rejuv.model import STRATEGIES, ColdReboot, Parameters, RebootStrategy
from rejuv.sim.config import SimConfig, WaitPolicy
from rejuv.sim.engine import HostSweep, chunk_hosts, served_with_load, sweep_hosts, wall_clock
from rejuv.sim.event_rows import EventRows
from rejuv.sim.failures import Failures, draw_failures
from rejuv.sim.phases import VmmProfile, vmm_profile
from rejuv.sim.schedule import Schedule, build_schedule, os_events, vmm_events

__all__ = ["SimResult", "simulate"]

Array = NDArray[np.float64]


def check_horizon(params: Parameters, vmm_length: float, horizon: float, periods: int) -> None:
    """Raise :class:`ParameterError` unless every rejuvenation fits in the horizon (the circle needs it)."""
    point = params.scalar("the simulator")
    pause = vmm_length if point.os_downtime > 0 else 0.0
    # an OS downtime can span every VMM pause it meets: bound its length by the VMM's share of the time
    stretch = point.os_downtime * point.vmm_interval / max(point.vmm_interval - vmm_length, 1e-300)
    longest = max(vmm_length, stretch + pause + point.os_degraded_period)
    if longest >= horizon:
        raise ParameterError(
            "periods",
            f"{periods} T_vmm ({horizon:g} s) is too short for one rejuvenation of up to {longest:g} s; simulate more",
        )


@dataclass(frozen=True)
class SimResult:
    """What one simulated cluster served over its horizon, and why it lost what it lost.

    Host-seconds are seconds of one host's whole throughput p.
    """

    config: SimConfig
    horizon: float  #: H, s
    host_throughput: float  #: p, req/s
    served_host_seconds: float  #: what the cluster served, in host-seconds
    lost_host_seconds: float  #: lost to rejuvenations (and waits), hosts cut at full loss
    overlap_host_seconds: float  #: losses in force together beyond a host's whole throughput (not lost twice)
    capped_host_seconds: float  #: migration throughput above p that no host can serve (Table 1 curves over p)
    wait_seconds: float  #: time hosts waited for a spare, in all
    absorbed_host_seconds: float  #: loss made up by hosts with headroom (offered load below capacity)
    vmm_rejuvenations: int
    os_rejuvenations: int
    events: int  #: state changes of hosts and VMs (each phase start and end)
    timeline: Array  #: mean served throughput per bin, req/s (empty unless asked for)
    elapsed: float  #: wall-clock seconds the simulation took
    failures: int = 0  #: software-aging failures (unplanned cold reboots) in the horizon

    @property
    def normalized_throughput(self) -> float:
        """P / (m p): served over what all m hosts (spares included) could serve."""
        return self.served_host_seconds / (self.config.hosts * self.horizon)

    @property
    def loss(self) -> float:
        """1 - P / (m p)."""
        return 1.0 - self.normalized_throughput

    @property
    def serving_loss(self) -> float:
        """1 - P / (m' p): the loss of the serving hosts alone (the model's limit, without the spare factor)."""
        return 1.0 - self.served_host_seconds / (self.config.serving_hosts * self.horizon)

    @property
    def total_throughput(self) -> float:
        """P: mean total throughput, req/s."""
        return self.served_host_seconds * self.host_throughput / self.horizon

    @property
    def events_per_second(self) -> float:
        """Simulated state changes per wall-clock second."""
        return self.events / self.elapsed if self.elapsed > 0 else float("inf")


def _stream(seed: np.random.SeedSequence, index: int) -> np.random.Generator:
    """The generator of one kind of draw: child ``index`` of ``seed``, the same however often it is asked for."""
    return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, index)))


def _drawn_durations(
    profile: VmmProfile, config: SimConfig, rng: np.random.Generator
) -> tuple[Array, Array | float, float]:
    """Phase durations (P,) or per rejuvenation (m', K, P), each one's spare hold, and the longest rejuvenation."""
    if not config.durations.random:
        return profile.durations, profile.spare_hold, profile.length
    factors = config.durations.factors((config.serving_hosts, config.periods, profile.durations.size + 1), rng)
    durations = profile.durations * factors[..., :-1]
    lengths = durations.sum(axis=-1)
    reboot = profile.spare_hold - profile.length  # the emptied host's reboot (SWAP), drawn too; 0 otherwise
    hold = lengths + reboot * factors[..., -1] if config.uses_spares else np.zeros(lengths.shape)
    return durations, hold, float(lengths.max())


def _failures(
    params: Parameters, config: SimConfig, schedule: Schedule, durations: Array, rng: np.random.Generator
) -> Failures | None:
    """Software-aging failures between the rejuvenations, or None without an aging model."""
    aging = config.aging
    if aging is None:
        return None
    cold = ColdReboot().terms(params.scalar("the simulator"))  # a failure recovers like a Cold-VM Reboot
    recovery = (cold.degraded_period, cold.degradation)
    if aging.downtime + recovery[0] >= schedule.horizon:
        raise ParameterError(
            "aging.downtime",
            f"a failure ({aging.downtime:g} s + R'_vmm) must fit in the horizon ({schedule.horizon:g} s)",
        )
    shaped = np.broadcast_to(durations, (*schedule.start.shape, durations.shape[-1]))
    # a reboot renews the VMM when its downtime ends; a migration once the VMs run on a rebooted VMM
    rebooted = isinstance(STRATEGIES[config.strategy], RebootStrategy)
    renewal = shaped[..., 0] if rebooted else shaped.sum(axis=-1)
    return draw_failures(aging, schedule, renewal, recovery, rng)


def simulate(
    params: Parameters,
    config: SimConfig,
    timeline_bins: int = 0,
    seed: np.random.SeedSequence | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimResult:
    """Simulate ``config`` with ``params`` (one parameter set) over ``config.periods`` T_vmm.

    ``timeline_bins`` > 0 also returns the cluster's mean served throughput in
    that many equal bins of the horizon. Every random draw comes from
    ``seed`` (default: ``SeedSequence(config.seed)``): the stagger from the
    sequence itself, durations and failures each from their own child, so
    turning one on does not change the draws of another. Raises
    :class:`ParameterError` for a parameter grid, a strategy that cannot
    apply, or a horizon shorter than one OS rejuvenation. ``progress`` is
    called with the events simulated so far after each chunk of hosts.
    Nothing here checks the cost: see :class:`~rejuv.sim.cost.SimCost`.
    """
    began = wall_clock()
    profile = vmm_profile(params, config)
    point = params.scalar("the simulator")
    vmm_interval = point.vmm_interval
    seeds = seed if seed is not None else np.random.SeedSequence(config.seed)
    durations, hold, longest = _drawn_durations(profile, config, _stream(seeds, 0))
    schedule = build_schedule(config, vmm_interval, hold, np.random.default_rng(seeds))
    check_horizon(params, longest, schedule.horizon, config.periods)
    failures = _failures(params, config, schedule, durations, _stream(seeds, 1))
    slots = config.serving_hosts
    offered = config.offered_load * slots
    global_load = config.offered_load < 1.0 or timeline_bins > 0
    step = chunk_hosts(params, config, profile.durations.size)
    sweep = HostSweep()
    events = os_count = 0
    for first in range(0, slots, step):
        hosts = slice(first, min(first + step, slots))
        vmm = vmm_events(schedule, durations, profile.losses, hosts, config.wait_policy)
        os_ = os_events(params, config, profile, schedule, hosts)
        parts = [vmm, os_]
        if failures is not None:
            parts.append(failures.events(hosts, schedule.horizon, schedule.circular))
        events += sum(part.count for part in parts)
        os_count += os_.count // 3
        sweep_hosts(EventRows.join(parts), schedule.horizon, sweep, keep_changes=global_load)
        if progress is not None:
            progress(events)
    capacity = slots * schedule.horizon
    nominal = capacity - sweep.lost
    timeline = np.zeros(0)
    if global_load:
        served, timeline = served_with_load(sweep, slots, offered, schedule.horizon, timeline_bins)
        timeline = timeline * point.host_throughput
    else:
        served = nominal
    within = schedule.start < schedule.horizon
    waits = schedule.wait[within]
    drained = config.wait_policy is WaitPolicy.DRAIN
    return SimResult(
        config=config,
        horizon=schedule.horizon,
        host_throughput=point.host_throughput,
        served_host_seconds=served,
        lost_host_seconds=sweep.lost,
        overlap_host_seconds=sweep.overlap,
        capped_host_seconds=profile.capped_loss * int(within.sum()),
        wait_seconds=float(
            np.minimum(schedule.due[within] + waits, schedule.horizon).sum() - schedule.due[within].sum()
        )
        if drained
        else float(waits.sum()),
        absorbed_host_seconds=max(0.0, served - min(nominal, offered * schedule.horizon)) if global_load else 0.0,
        vmm_rejuvenations=int(within.sum()),
        os_rejuvenations=os_count,
        events=events,
        timeline=timeline,
        elapsed=wall_clock() - began,
        failures=0 if failures is None else failures.count,
    )
