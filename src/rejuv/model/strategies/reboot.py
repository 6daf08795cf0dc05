"""Strategies that reboot the VMM in place: a downtime, then a degraded period.

A reboot strategy declares the three symbols of its terms and what the
reboot does to the OS clocks (:class:`~rejuv.model.strategies.base.OsRule`);
everything else follows::

    D = downtime symbol, ω = degradation symbol, R = degraded-period symbol
    N = (T_vmm - D) / T_os                       (PAUSED: the OS clock stops only while down)
    N = ⌊(T_vmm - D) / T_os⌋, 0 if T_vmm <= T_os  (RESET: every OS reboots with the VMM)
    A = 1 - (D + N D_os) / T_vmm
    P = (A - (ω R + N δ R_os) / T_vmm) m p

The same symbols give the simulator's phases (D at loss 1, then R at loss
ω), the timeline, the synthetic trace's event and what ``rejuv fit``
measures in a trace of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rejuv.model.parameters import Occupancy, Parameters, ScalarParameters
from rejuv.model.strategies.base import Array, Strategy
from rejuv.model.symbols import lookup

__all__ = ["RebootStrategy", "RebootTerms"]


@dataclass(frozen=True)
class RebootTerms:
    """One reboot's terms as plain floats."""

    downtime: float  #: D, s
    degradation: float  #: ω, the fraction of throughput lost while degraded
    degraded_period: float  #: R, s


class RebootStrategy(Strategy):
    """A VMM rebooted in place: D at no service, then R at 1 - ω; subclasses name the three symbols."""

    #: The markers (as trace files write them) that open and close one reboot in a measured run, if the lab has a
    #: procedure for it (``("suspend-started", "all-resumed")``); a trace of a strategy without them is segmented by
    #: detection, with ``--kind``.
    markers: ClassVar[tuple[str, str] | None] = None
    downtime_symbol: ClassVar[str]  #: D (``D_w``)
    degradation_symbol: ClassVar[str]  #: ω (``omega``)
    degraded_period_symbol: ClassVar[str]  #: R (``R_vmm``)

    def measured_symbols(self) -> tuple[str, str, str]:
        """The symbols of (downtime, degradation rate, degraded period) that a trace of one reboot measures."""
        return self.downtime_symbol, self.degradation_symbol, self.degraded_period_symbol

    def vmm_downtime(self, params: Parameters) -> Array:
        return params.required(self.downtime_symbol)

    def vmm_degraded_loss(self, params: Parameters) -> Array:
        return params.required(self.degradation_symbol) * params.required(self.degraded_period_symbol)

    def occupancy(self, params: Parameters) -> Occupancy | None:
        """D must stay below T_vmm; D + R is what the reboot occupies."""
        downtime, period = params.value(self.downtime_symbol), params.value(self.degraded_period_symbol)
        if downtime is None or period is None:
            return None
        return Occupancy(
            lookup(self.downtime_symbol).name, downtime, lookup(self.degraded_period_symbol).name, downtime + period
        )

    def terms(self, point: ScalarParameters) -> RebootTerms:
        """D, ω and R of one parameter set."""
        return RebootTerms(
            point[self.downtime_symbol], point[self.degradation_symbol], point[self.degraded_period_symbol]
        )
