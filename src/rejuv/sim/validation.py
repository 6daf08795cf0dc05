"""The simulator against the closed form, and the reasons where they differ.

Losses are compared, not P / (m p): the strategies differ by about 1e-4 in
P / (m p), so only a relative tolerance on 1 - P / (m p) can tell them apart.
In deterministic mode, with evenly staggered hosts, the offered load at full
capacity and no host waiting for a spare, the simulator does the model's
accounting event by event and the two agree to well within 0.1 %. The one
approximation left is the model's fractional N: the simulator has whole OS
rejuvenations, as many in the cluster as the model's average to within about
one per VM index, so the horizon is made long enough for that to stay far
below the tolerance (:func:`periods_for`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rejuv.errors import ParameterError
from rejuv.limits import memory_limit
from rejuv.model import STRATEGIES, Parameters
from rejuv.sim.config import SimConfig, SparePolicy
from rejuv.sim.cost import PARAMETERS_REMEDY, SimCost, check_cost, parameters_too_costly
from rejuv.sim.cost import event_limit as default_event_limit
from rejuv.sim.run import SimResult, simulate

__all__ = ["DEFAULT_TOLERANCE", "ModelCheck", "periods_for", "validate_against_model", "reasons"]

#: Relative tolerance on the loss 1 - P / (m p).
DEFAULT_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ModelCheck:
    """One strategy on one cluster: the model's loss, the simulator's, and why they differ."""

    strategy: str
    hosts: int
    model_loss: float  #: 1 - P / (m p) from the closed form
    sim_loss: float  #: the same, simulated
    reasons: tuple[str, ...]  #: departures from the model's assumptions that the run measured
    tolerance: float
    result: SimResult

    @property
    def relative_difference(self) -> float:
        """(simulated - model) / model loss."""
        return (self.sim_loss - self.model_loss) / self.model_loss if self.model_loss else self.sim_loss

    @property
    def agrees(self) -> bool:
        """Whether the losses agree within the tolerance."""
        return abs(self.relative_difference) <= self.tolerance


def _os_event_loss(params: Parameters) -> float:
    """Host-seconds one OS rejuvenation of every VM of a host costs: D_os + δ R_os."""
    point = params.scalar("the simulator")
    return point.os_downtime + point.os_degradation * point.os_degraded_period


def periods_for(
    params: Parameters, strategy: str, hosts: int, tolerance: float = DEFAULT_TOLERANCE, least: int = 13
) -> int:
    """Whole T_vmm to simulate so that whole OS rejuvenations stay within a quarter of ``tolerance``.

    The cluster has the model's average number of OS rejuvenations to within
    about one per VM index j, n in all, each costing (D_os + δ R_os) / n
    host-seconds; the horizon must make that small beside the cluster's loss
    (and hold the longest rejuvenation, and at least ``least`` periods).
    """
    check_tolerance(tolerance)
    model = STRATEGIES[strategy].evaluate(params, hosts)
    serving = hosts - 1 if STRATEGIES[strategy].needs_spare_host else hosts
    point = params.scalar("the simulator")
    per_period = serving * point.vmm_interval * float(1.0 - model.limit)
    most = 10**7  # a horizon past this is no simulation to run; the caller sees the count and decides
    needed = _os_event_loss(params) / (0.25 * tolerance * per_period) if per_period > 0 else 1.0
    needed = min(needed, most)
    span = (point.os_interval + point.os_degraded_period) / point.vmm_interval
    return max(least, math.ceil(needed), math.ceil(2 * span) + 2)


def check_tolerance(tolerance: float) -> None:
    """Raise :class:`ParameterError` unless ``tolerance`` is a relative difference in (0, 1]."""
    if not (math.isfinite(tolerance) and 0 < tolerance <= 1):
        raise ParameterError("tolerance", f"must be a relative difference in (0, 1], e.g. 1e-3, got {tolerance!r}")


def reasons(params: Parameters, result: SimResult, tolerance: float = DEFAULT_TOLERANCE) -> tuple[str, ...]:
    """The measured departures from the closed form's assumptions that move the loss by a tenth of ``tolerance`` or more."""
    config = result.config
    lost = max(result.lost_host_seconds, 1e-300)
    floor = 0.1 * tolerance
    found = []
    if result.wait_seconds > 0:
        mean = result.wait_seconds / max(result.vmm_rejuvenations, 1) / 3600
        found.append(
            f"spare-host queueing: a rejuvenation waited {mean:,.1f} h on average for one of {config.spares} "
            "spare(s), which each migration holds until the emptied host has rebooted"
        )
    if result.failures > 0:
        found.append(
            f"software-aging failures: {result.failures:,} unplanned cold reboots ({config.aging}), "
            "which the model does not have"
        )
    if config.durations.random:
        found.append(
            f"random durations ({config.durations}): one run's draws, not the means; "
            "replications give confidence intervals (`rejuv.sim.replicate`)"
        )
    if config.uses_spares and config.parallel_moves > 1:
        found.append(f"parallel migrations: {config.parallel_moves} VMs move at once where the model moves one")
    if config.uses_spares and config.spare_policy is SparePolicy.RETURN:
        found.append("the VMs move back after the reboot: two migrations per T_vmm where the model counts one")
    if result.overlap_host_seconds / lost >= floor:
        share = result.overlap_host_seconds / lost
        found.append(
            f"overlapping rejuvenations: losses in force together exceed a host's throughput ({share:.2%} of the loss)"
        )
    if result.capped_host_seconds / lost >= floor:
        share = result.capped_host_seconds / lost
        found.append(
            f"capacity limits: the Table 1 curves ask more than p of a host during migration ({share:.2%} of the loss)"
        )
    if result.absorbed_host_seconds / lost >= floor:
        share = result.absorbed_host_seconds / lost
        found.append(
            f"capacity headroom: at {config.offered_load:.0%} load, hosts that are up absorb {share:.2%} of the loss"
        )
    expected = float(STRATEGIES[config.strategy].os_rejuvenations(params)) * int(params.vms_per_host)
    expected *= config.serving_hosts * config.periods
    count_error = abs(result.os_rejuvenations - expected) * _os_event_loss(params) / int(params.vms_per_host)
    if count_error / lost >= floor:
        found.append(
            f"whole OS rejuvenations: the horizon holds {result.os_rejuvenations:,} where the model's average "
            f"N gives {expected:,.1f}; simulate more periods"
        )
    return tuple(found)


def _offset(progress: Callable[[int, int], None], done: int, total: int) -> Callable[[int], None]:
    """``progress`` for one run among several: its events counted after the ``done`` before it."""
    return lambda events: progress(done + events, total)


def validate_against_model(
    params: Parameters,
    hosts: Sequence[int],
    strategies: Sequence[str] | None = None,
    template: SimConfig | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    periods: int | None = None,
    event_limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ModelCheck]:
    """Simulate every strategy in ``strategies`` (None: every registered one) on every host count, beside the closed form.

    ``template`` gives the simulator's other settings (stagger, spares,
    policies, load, seed); ``periods`` fixes the horizon, else
    :func:`periods_for` chooses it. The whole run's cost is estimated first
    (:class:`~rejuv.sim.cost.SimCost`): past ``event_limit`` simulated events
    (default :func:`~rejuv.sim.cost.event_limit`) or the memory limit it
    raises :class:`~rejuv.errors.ResourceLimitError` before simulating
    anything. ``progress(done, total)`` is told the events simulated so far.
    Raises :class:`ParameterError` for a tolerance outside (0, 1].
    """
    check_tolerance(tolerance)
    strategies = tuple(STRATEGIES) if strategies is None else strategies
    if not strategies or not hosts:
        raise ParameterError("strategies" if not strategies else "hosts", "nothing to simulate: the list is empty")
    base = template if template is not None else SimConfig()
    configs = []
    for key in strategies:
        for m in hosts:
            horizon = periods if periods is not None else periods_for(params, key, m, tolerance)
            configs.append(base.replace(strategy=key, hosts=m, periods=horizon))
    costs = [SimCost.of(params, config) for config in configs]
    total = sum(cost.events for cost in costs)
    memory = max(cost.memory for cost in costs)
    # blame the host counts if they alone, over the shortest horizon (13 T_vmm), are past a limit
    short = [SimCost.of(params, config.replace(periods=min(config.periods, 13))) for config in configs]
    most = event_limit if event_limit is not None else default_event_limit()
    if any(parameters_too_costly(params, config, most) for config in configs):
        what, remedy = "T_vmm / T_os", PARAMETERS_REMEDY
    elif sum(c.events for c in short) > most or max(c.memory for c in short) > memory_limit():
        what, remedy = "hosts", "simulate fewer hosts (--hosts) or strategies (--strategies)"
    elif periods is not None:
        what, remedy = "periods", "simulate fewer periods (--periods) or hosts (--hosts)"
    else:
        what, remedy = "tolerance", "ask for a larger tolerance (--tolerance), or fix the horizon with --periods"
    check_cost(what, total, memory, remedy, event_limit)
    out = []
    done = 0
    for config in configs:
        told = None if progress is None else _offset(progress, done, total)
        result = simulate(params, config, progress=told)
        done += result.events
        if progress is not None:
            progress(done, total)
        key, m = config.strategy, config.hosts
        model = 1.0 - float(STRATEGIES[key].evaluate(params, m).normalized_throughput)
        out.append(ModelCheck(key, m, model, result.loss, reasons(params, result, tolerance), tolerance, result))
    return out
