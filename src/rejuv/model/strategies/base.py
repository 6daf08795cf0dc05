"""The shared base of the rejuvenation strategies.

A strategy states only its own terms, per VMM rejuvenation interval T_vmm:

- ``vmm_downtime``: D, the downtime of one VMM rejuvenation;
- ``vmm_degraded_loss``: the throughput lost to degradation after (or
  during) the VMM rejuvenation, in host-seconds (ω R, or γ (n-1) D_m, ...);
- ``needs_spare_host``: whether one of the m hosts is held back as a spare;
- ``occupancy``: what one VMM rejuvenation takes of T_vmm, for the checks
  that combine parameters (:class:`~rejuv.model.parameters.Occupancy`);
- ``os_rule``: what the VMM rejuvenation does to the OS rejuvenation clocks
  (:class:`OsRule`), which gives N, the OS rejuvenations per T_vmm;
- ``symbols``: the parameters it brings that the paper has not (none for the
  paper's five), added to the symbol table when it is registered.

Two shared kinds derive even these from a few declared names:
:class:`~rejuv.model.strategies.reboot.RebootStrategy` (a downtime, then a
degraded period at a rate) and
:class:`~rejuv.model.strategies.migrating.MigrationStrategy` (VMs move to a
spare host, one by one, following a Table 1 profile).

The base class turns these into the paper's quantities::

    A    = 1 - (D + N D_os) / T_vmm                       availability
    P    = (A - (vmm_degraded_loss + N δ R_os) / T_vmm) m' p
    m'   = m - 1 with a spare host, else m

evaluated with numpy broadcasting over the parameters and the host count m.

When only P / (m p) is wanted, :meth:`Strategy.normalized_throughput` computes
it without the other quantities, from terms every strategy shares
(:class:`SharedTerms`, computed once for all of them)::

    P / (m p) = (1 - (D + vmm_degraded_loss + N (D_os + δ R_os)) / T_vmm) m' / m

and, where the OS rejuvenations keep their schedule (N = (T_vmm - D) / T_os),
with w = 1 - (D_os + δ R_os) / T_os the share of time they leave::

    P / (m p) = (w - (D w + vmm_degraded_loss) / T_vmm) m' / m
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rejuv.errors import ParameterError
from rejuv.model.parameters import Occupancy, Parameters
from rejuv.model.symbols import Symbol
from rejuv.model.units import SECONDS_PER_UNIT

__all__ = ["Evaluation", "OsRule", "SharedTerms", "Strategy", "check_hosts"]

Array = NDArray[np.float64]
SECONDS_PER_YEAR = SECONDS_PER_UNIT["year"]


def check_hosts(hosts: ArrayLike, minimum: int = 1, reason: str = "") -> Array:
    """Host counts as a float array; raise :class:`ParameterError` unless whole numbers >= ``minimum``."""
    try:
        m = np.asarray(hosts, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ParameterError("hosts (m)", f"must be whole numbers, got {hosts!r}") from err
    bad = ~np.isfinite(m) | (m != np.round(m)) | (m < minimum)
    if bad.any():
        because = f" ({reason})" if reason else ""
        raise ParameterError("hosts (m)", f"must be whole numbers >= {minimum}{because}, got {m[bad].flat[0]:g}")
    return m


@dataclass(frozen=True)
class Evaluation:
    """What the model says about one strategy, broadcast over parameters and hosts.

    Times are per VMM rejuvenation interval T_vmm unless stated.
    """

    strategy: str
    hosts: Array
    availability: Array  #: A, fraction of time the service is up on a host (spare excluded)
    vmm_degradation: Array  #: throughput lost to the VMM rejuvenation's degradation, / T_vmm
    os_degradation: Array  #: throughput lost to OS rejuvenations' degradation (N δ R_os / T_vmm)
    spare_host_factor: Array  #: (m - 1) / m with a spare host, else 1
    host_throughput: Array  #: p, req/s
    vmm_interval: Array  #: T_vmm, s

    @property
    def limit(self) -> Array:
        """P / (m p) as m grows without bound: A minus both degradation terms."""
        return self.availability - self.vmm_degradation - self.os_degradation

    @property
    def normalized_throughput(self) -> Array:
        """P / (m p): total throughput over its maximum, in [0, 1]."""
        return self.limit * self.spare_host_factor

    @property
    def total_throughput(self) -> Array:
        """P: mean total throughput of the cluster, req/s."""
        return self.normalized_throughput * self.hosts * self.host_throughput

    @property
    def lost_requests_per_interval(self) -> Array:
        """Requests the cluster could have served but did not, per T_vmm (spare host included)."""
        return (1.0 - self.normalized_throughput) * self.hosts * self.host_throughput * self.vmm_interval

    @property
    def lost_requests_per_year(self) -> Array:
        """Lost requests per (Julian) year."""
        return self.lost_requests_per_interval * (SECONDS_PER_YEAR / self.vmm_interval)


@dataclass(frozen=True)
class SharedTerms:
    """The terms of P / (m p) that every strategy shares, computed once for all of them."""

    inverse_interval: Array  #: 1 / T_vmm, 1/s
    os_cost: Array  #: D_os + δ R_os: what one OS rejuvenation costs, s
    os_free_share: Array  #: w = 1 - (D_os + δ R_os) / T_os: the share of time the OS rejuvenations leave

    @classmethod
    def of(cls, params: Parameters) -> SharedTerms:
        """The shared terms of ``params``."""
        os_cost = params.os_downtime + params.os_degradation * params.os_degraded_period
        return cls(1.0 / params.vmm_interval, os_cost, 1.0 - os_cost / params.os_interval)


class OsRule(enum.Enum):
    """What a VMM rejuvenation does to the OS rejuvenation clocks of its VMs."""

    #: the OS is only stopped while its VM is down; its clock pauses then: N = (T_vmm - D) / T_os
    PAUSED = "paused"
    #: every OS reboots with the VMM, which restarts its clock: N = ⌊(T_vmm - D) / T_os⌋, 0 if T_vmm <= T_os
    RESET = "reset"
    #: the VMs never stop; the clock runs on: N = T_vmm / T_os
    RUNNING = "running"


class Strategy(ABC):
    """One way of rejuvenating the VMMs of a cluster; subclasses state only their own terms."""

    key: ClassVar[str]  #: short name used on the command line and in JSON (``warm``)
    label: ClassVar[str]  #: name for people (``Warm-VM Reboot``)
    symbol: ClassVar[str]  #: the paper's symbol for its throughput (``P_w``)
    needs_spare_host: ClassVar[bool] = False
    os_rule: ClassVar[OsRule] = OsRule.PAUSED
    symbols: ClassVar[tuple[Symbol, ...]] = ()  #: parameters of its own, beyond the paper's
    aliases: ClassVar[tuple[str, ...]] = ()  #: other keys accepted for it on input

    @abstractmethod
    def occupancy(self, params: Parameters) -> Occupancy | None:
        """What one VMM rejuvenation takes of T_vmm; None when a value it needs is unset."""

    @abstractmethod
    def vmm_downtime(self, params: Parameters) -> Array:
        """D: downtime of one VMM rejuvenation, s."""

    def os_rejuvenations(self, params: Parameters) -> Array:
        """N: OS rejuvenations per T_vmm, as :attr:`os_rule` counts them."""
        if self.os_rule is OsRule.RUNNING:
            return params.vmm_interval / params.os_interval
        left = (params.vmm_interval - self.vmm_downtime(params)) / params.os_interval
        if self.os_rule is OsRule.PAUSED:
            return left
        # RESET: none when T_vmm <= T_os, even with D = 0 and T_vmm = T_os, where the floor alone gives 1.
        result: Array = np.where(params.vmm_interval <= params.os_interval, 0.0, np.floor(left))
        return result

    @abstractmethod
    def vmm_degraded_loss(self, params: Parameters) -> Array:
        """Throughput lost to degradation in one VMM rejuvenation, in host-seconds."""

    def check(self, params: Parameters) -> None:  # noqa: B027 (an optional hook; most strategies apply to any n)
        """Raise :class:`ParameterError` if the strategy cannot apply to ``params``."""

    def evaluate(self, params: Parameters, hosts: ArrayLike = 1) -> Evaluation:
        """The model for ``params`` on clusters of ``hosts`` hosts (broadcast together).

        Raises :class:`ParameterError` for host counts below 1 (2 with a spare
        host) or parameters the strategy cannot use.
        """
        m = self.check_hosts(hosts)
        self.check(params)
        interval = params.vmm_interval
        count = self.os_rejuvenations(params)
        availability = 1.0 - (self.vmm_downtime(params) + count * params.os_downtime) / interval
        os_loss = count * params.os_degradation * params.os_degraded_period / interval
        factor = (m - 1.0) / m if self.needs_spare_host else np.ones_like(m)
        return Evaluation(
            strategy=self.key,
            hosts=m,
            availability=availability,
            vmm_degradation=self.vmm_degraded_loss(params) / interval,
            os_degradation=os_loss,
            spare_host_factor=factor,
            host_throughput=params.host_throughput,
            vmm_interval=interval,
        )

    def check_hosts(self, hosts: ArrayLike) -> Array:
        """Host counts as a float array; raise :class:`ParameterError` below 1 (2 with a spare host)."""
        if self.needs_spare_host:
            return check_hosts(hosts, 2, f"{self.label} holds one host back as the spare")
        return check_hosts(hosts)

    def limit(self, params: Parameters, shared: SharedTerms | None = None) -> Array:
        """P / (m p) as m grows without bound (:attr:`Evaluation.limit`), from the shared terms.

        Where the OS rejuvenations keep their schedule (OsRule.PAUSED,
        N = (T_vmm - D) / T_os) this is w - (D w + vmm_degraded_loss) / T_vmm;
        otherwise 1 - (D + vmm_degraded_loss + N (D_os + δ R_os)) / T_vmm, N
        kept whole (⌊N⌋ with RESET). Runs no :meth:`check`.
        """
        terms = SharedTerms.of(params) if shared is None else shared
        if self.os_rule is not OsRule.PAUSED:
            lost = self.os_rejuvenations(params) * terms.os_cost + (
                self.vmm_downtime(params) + self.vmm_degraded_loss(params)
            )
            whole: Array = 1.0 - lost * terms.inverse_interval
            return whole
        free = terms.os_free_share
        lost = self.vmm_downtime(params) * free + self.vmm_degraded_loss(params)
        result: Array = free - lost * terms.inverse_interval
        return result

    def normalized_throughput(
        self, params: Parameters, hosts: ArrayLike = 1, shared: SharedTerms | None = None
    ) -> Array:
        """P / (m p) alone: ``evaluate(params, hosts).normalized_throughput`` up to rounding, in fewer steps.

        ``shared`` saves computing the shared terms again for each strategy.
        Raises :class:`ParameterError` as :meth:`evaluate` does.
        """
        m = self.check_hosts(hosts)
        self.check(params)
        value = self.limit(params, shared)
        if self.needs_spare_host:
            value = value * ((m - 1.0) / m)
        elif m.ndim:  # evaluate's shape: the parameters' and the hosts', broadcast
            value = value * np.ones_like(m)
        return value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key!r}>"
