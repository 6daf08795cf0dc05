"""One VMM rejuvenation of one host, as phases of constant throughput loss.

A host's capacity is p less its loss rate, a fraction of p. A VMM
rejuvenation is a short sequence of phases, each with a duration and a loss
rate (the paper's Section 3):

- a reboot (:class:`~rejuv.model.RebootStrategy`: Warm-VM Reboot D_w then
  R_vmm at ω, Cold-VM Reboot D_c then R'_vmm at ω'): its downtime at loss 1,
  then its degraded period at its rate (with OsRule.RESET every OS timer
  restarts);
- a migration (:class:`~rejuv.model.MigrationStrategy`), stop-and-copy: one
  phase per moving VM i = 1..n, of length M(i), at loss
  1 - ((n - i) V_s(i) + (i - 1) V_d(i)) / p;
- a live migration (with or without rate control): the same with the moving
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
from rejuv.model import STRATEGIES, ColdReboot, MigrationStrategy, OsRule, Parameters, RebootStrategy, ScalarParameters
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


def _migration_phases(
    point: ScalarParameters, item: MigrationStrategy, parallel: int = 1
) -> tuple[Array, Array, float]:
    """Durations, loss rates and the capped loss of one migration of all n VMs, ``parallel`` at a time."""
    params = point.parameters
    n = int(point.vms_per_host)
    p = point.host_throughput
    total = float(item.migration_time(params))
    rate = point.get(item.rate_field)
    if rate is not None:
        served = item.served_throughput(rate, n, p)
        return np.array([total]), np.array([1.0 - served / p]), 0.0
    profile = item.profile(params)
    table = profile.table(n)
    scale = float(profile.load_factor(n, p))  # Table 1 at this host's per-VM load
    index = table["i"]
    first = np.arange(0, n, parallel)  # the first VM of each batch, 0-based
    last = np.minimum(first + parallel, n) - 1
    moves = np.add.reduceat(table["move_time"], first) / table["move_time"].sum() * total
    source = (n - index[last]) * table["source_throughput"][last]
    if item.live:
        source = source + np.add.reduceat(table["moving_throughput"], first)
    source = source * scale
    destination = (index[first] - 1) * np.nan_to_num(table["destination_throughput"][first]) * scale
    raw = source + destination
    served = np.minimum(np.minimum(source, p) + np.minimum(destination, p), p)
    capped = float(np.dot(moves, raw - served)) / p
    return moves, 1.0 - served / p, capped


def _reboot_profile(point: ScalarParameters, item: RebootStrategy) -> VmmProfile:
    """D at loss 1, then R at loss ω; the OS clocks pause for D, or restart after it (RESET)."""
    n = int(point.vms_per_host)
    terms = item.terms(point)
    reset = item.os_rule is OsRule.RESET
    return VmmProfile(
        durations=np.array([terms.downtime, terms.degraded_period]),
        losses=np.array([1.0, terms.degradation]),
        os_pause_start=np.zeros(n),
        os_pause_length=np.full(n, 0.0 if reset else terms.downtime),
        os_reset=reset,
        spare_hold=0.0,
        capped_loss=0.0,
    )


def vmm_profile(params: Parameters, config: SimConfig) -> VmmProfile:
    """The phases of one VMM rejuvenation with ``config.strategy``, as the strategy declares them.

    Raises :class:`ParameterError` if ``params`` is a grid (one cluster at a time)
    or the strategy is neither a reboot nor a migration.
    """
    point = params.scalar("the simulator")
    n = int(point.vms_per_host)
    item = STRATEGIES[config.strategy]
    item.check(params)
    if isinstance(item, RebootStrategy):
        return _reboot_profile(point, item)
    if not isinstance(item, MigrationStrategy):
        raise ParameterError(f"strategy {item.key!r}", "the simulator plays reboots and migrations only")
    zeros = np.zeros(n)
    moves, losses, capped = _migration_phases(point, item, config.parallel_moves)
    if item.live:
        pause_start, pause_length = zeros, zeros
    elif point.get(item.rate_field) is None:  # Table 1 phases, one per batch of VMs
        batch = np.arange(n) // config.parallel_moves
        pause_start = np.concatenate(([0.0], np.cumsum(moves)[:-1]))[batch]
        pause_length = moves[batch]
    else:  # one constant phase: VM j is down for its share, one after another
        step = moves[0] / n
        pause_start, pause_length = np.arange(n) * step, np.full(n, step)
    # the emptied host holds no VM to keep, so it reboots as a Cold-VM Reboot does, unless told otherwise
    cold = ColdReboot().terms(point).downtime
    reboot = cold if config.spare_reboot_time is None else config.spare_reboot_time
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
