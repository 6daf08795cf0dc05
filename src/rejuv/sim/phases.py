"""One VMM rejuvenation of one host, as phases of constant throughput loss.

A host's capacity is p less its loss rate, a fraction of p. A VMM
rejuvenation is a short sequence of phases, each with a duration and a loss
rate (the paper's Section 3):

- Warm-VM Reboot: D_w at loss 1, then R_vmm at ω;
- Cold-VM Reboot: D_c at loss 1, then R'_vmm at ω' (and every OS timer restarts);
- stop-and-copy: one phase per moving VM i = 1..n, of length M(i), at loss
  1 - ((n - i) V_s(i) + (i - 1) V_d(i)) / p;
- live migration (with or without rate control): the same with the moving
  VM's V_m(i) added;
- parallel migrations (``SimConfig.parallel_moves`` = c > 1): the VMs move c
  at a time over the same link, so a batch i..j takes M(i) + ... + M(j) (the
  whole migration still takes the model's time), its VMs are all stopped
  (stop-and-copy) or all moving (live: their V_m add up) for the whole
  batch, the source keeps n - j VMs at V_s(j) and the destination holds
  i - 1 at V_d(i).

The Table 1 move times are scaled to sum to the model's n D_m (or M_l), so
the phases take exactly the time the closed form charges; γ depends only on
the shares M(i) / M_t, so it is unchanged. Each host serves at most p, so a
source or destination whose curves add up to more is cut to p (the closed
form does not cut, and :attr:`VmmProfile.capped_loss` says how much this
changes). When γ or γ' is set as a number instead of computed from Table 1,
a migration is one phase at the constant loss that γ implies.

With the RETURN policy the VMs move back after the spare's VMM has rebooted,
so the phases of the migration come twice, around a pause of the reboot time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import ParameterError
from rejuv.model import STRATEGIES, MigrationProfile, Parameters
from rejuv.sim.config import SimConfig, SparePolicy

__all__ = ["VmmProfile", "vmm_profile"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class VmmProfile:
    """The phases of one VMM rejuvenation and what they mean for the OS clocks.

    ``os_pause_start[j]`` and ``os_pause_length[j]`` give, for VM j, the part of
    each rejuvenation (from its start) in which that VM is stopped, so that its
    OS rejuvenation clock does not run; ``os_reset`` says that the OS timers
    restart when the first phase ends (Cold-VM Reboot). ``spare_hold`` is how
    long one rejuvenation holds a spare host, 0 without spares.
    """

    durations: Array
    losses: Array
    os_pause_start: Array
    os_pause_length: Array
    os_reset: bool
    spare_hold: float
    capped_loss: float  #: host-seconds per rejuvenation that the cut at p removes (0 if none)

    @property
    def length(self) -> float:
        """Total time of one rejuvenation, s."""
        return float(self.durations.sum())

    @property
    def loss(self) -> float:
        """Host-seconds of service lost in one rejuvenation."""
        return float(np.dot(self.durations, self.losses))


def _scalar(params: Parameters, name: str) -> float:
    return float(getattr(params, name))


def _migration_phases(params: Parameters, key: str, parallel: int = 1) -> tuple[Array, Array, float]:
    """Durations, loss rates and the capped loss of one migration of all n VMs, ``parallel`` at a time."""
    n = int(params.vms_per_host)
    p = _scalar(params, "host_throughput")
    live = key != "migration"
    profile: MigrationProfile
    if key == "live":
        total, rate, profile = (
            _scalar(params, "live_migration_time"),
            params.live_migration_degradation,
            params.live_migration_profile,
        )
    elif key == "live_rate_control":
        total = _scalar(params, "live_migration_time_rate_control")
        rate, profile = params.live_migration_degradation_rate_control, params.live_migration_profile_rate_control
    else:
        total, rate, profile = (
            n * _scalar(params, "migration_downtime"),
            params.migration_degradation,
            params.stop_and_copy_profile,
        )
    if rate is not None:
        served = (1.0 - float(rate)) * (p if live else p * (n - 1) / n)
        return np.array([total]), np.array([1.0 - served / p]), 0.0
    table = profile.table(n)
    index = table["i"]
    first = np.arange(0, n, parallel)  # the first VM of each batch, 0-based
    last = np.minimum(first + parallel, n) - 1
    moves = np.add.reduceat(table["move_time"], first) / table["move_time"].sum() * total
    source = (n - index[last]) * table["source_throughput"][last]
    if live:
        source = source + np.add.reduceat(table["moving_throughput"], first)
    destination = (index[first] - 1) * np.nan_to_num(table["destination_throughput"][first])
    raw = source + destination
    served = np.minimum(np.minimum(source, p) + np.minimum(destination, p), p)
    capped = float(np.dot(moves, raw - served)) / p
    return moves, 1.0 - served / p, capped


def vmm_profile(params: Parameters, config: SimConfig) -> VmmProfile:
    """The phases of one VMM rejuvenation with ``config.strategy``.

    Raises :class:`ParameterError` if ``params`` is a grid (one cluster at a time).
    """
    if params.shape != ():
        raise ParameterError("parameters", f"the simulator takes one parameter set, got a grid of shape {params.shape}")
    n = int(params.vms_per_host)
    STRATEGIES[config.strategy].check(params)
    zeros = np.zeros(n)
    if config.strategy in ("warm", "cold"):
        warm = config.strategy == "warm"
        downtime = _scalar(params, "warm_reboot_downtime" if warm else "cold_reboot_downtime")
        degraded = _scalar(params, "warm_reboot_degraded_period" if warm else "cold_reboot_degraded_period")
        rate = _scalar(params, "warm_reboot_degradation" if warm else "cold_reboot_degradation")
        return VmmProfile(
            durations=np.array([downtime, degraded]),
            losses=np.array([1.0, rate]),
            os_pause_start=zeros,
            os_pause_length=np.full(n, downtime if warm else 0.0),
            os_reset=not warm,
            spare_hold=0.0,
            capped_loss=0.0,
        )
    moves, losses, capped = _migration_phases(params, config.strategy, config.parallel_moves)
    if config.strategy == "migration":
        if params.migration_degradation is None:  # Table 1 phases, one per batch of VMs
            batch = np.arange(n) // config.parallel_moves
            pause_start = np.concatenate(([0.0], np.cumsum(moves)[:-1]))[batch]
            pause_length = moves[batch]
        else:  # one constant phase: VM j is down for D_m, one after another
            step = moves[0] / n
            pause_start, pause_length = np.arange(n) * step, np.full(n, step)
    else:
        pause_start, pause_length = zeros, zeros
    reboot = _scalar(params, "cold_reboot_downtime") if config.spare_reboot_time is None else config.spare_reboot_time
    migration = float(moves.sum())
    if config.spare_policy is SparePolicy.RETURN:
        moves = np.concatenate((moves, [reboot], moves))
        losses = np.concatenate((losses, [0.0], losses))
        capped *= 2
        hold = 2 * migration + reboot
    else:
        hold = migration + reboot
    return VmmProfile(
        durations=moves,
        losses=losses,
        os_pause_start=pause_start,
        os_pause_length=pause_length,
        os_reset=False,
        spare_hold=hold,
        capped_loss=capped,
    )
