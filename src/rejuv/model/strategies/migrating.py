"""Strategies that move every VM to a spare host before the VMM reboots.

A migration strategy declares its Table 1 profile (the preset section
``[migration.<profile_section>]`` and the :class:`Parameters` field that
holds it), the parameter of its degradation rate (γ or γ'), whether the
moving VM keeps running (live) and its migration time; the base class adds
the spare host, γ computed from Table 1 when it is unset, and what the
simulator, ``rejuv synth`` and ``rejuv fit`` need of it.
"""

from __future__ import annotations

from typing import ClassVar

from rejuv.model.migration import MigrationProfile, migration_degradation
from rejuv.model.parameters import Parameters
from rejuv.model.strategies.base import Array, Strategy
from rejuv.model.symbols import lookup

__all__ = ["MigrationStrategy"]


class MigrationStrategy(Strategy):
    """All n VMs move to the cluster's spare host, following a Table 1 profile, while the VMM reboots."""

    needs_spare_host = True
    live: ClassVar[bool]  #: whether the moving VM keeps serving (its V_m(i) is in the profile)
    profile_section: ClassVar[str]  #: the Table 1 section of a preset: ``[migration.<profile_section>]``
    profile_field: ClassVar[str]  #: the :class:`Parameters` field that holds the profile
    rate_field: ClassVar[str]  #: the parameter that sets γ (descriptive name)
    time_symbol: ClassVar[str]  #: the parameter a measured migration gives (``D_m``, ``M_l``)
    rate_caption: ClassVar[str]  #: what the rate is of, for people (``stop-and-copy``)

    def profile(self, params: Parameters) -> MigrationProfile:
        """The Table 1 per-VM throughput functions of this migration."""
        profile: MigrationProfile = getattr(params, self.profile_field)
        return profile

    def rate_symbol(self) -> str:
        """γ or γ', as the paper writes it."""
        return lookup(self.rate_field).paper.split()[0]

    def migration_time(self, params: Parameters) -> Array:
        """M_t: time to move all n VMs, s."""
        return params.required(self.time_symbol)

    def time_parameter(self, total: float, vms: int) -> float:
        """The value of :attr:`time_symbol` for a measured migration of ``vms`` VMs that took ``total`` s."""
        return total

    def degradation_rate(self, params: Parameters) -> Array:
        """γ: the set value, or else computed from the Table 1 curves."""
        rate = params.value(self.rate_field)
        if rate is not None:
            return rate
        self.check(params)
        return migration_degradation(self.profile(params), params.vms_per_host, params.host_throughput)

    def served_throughput(self, rate: float, vms: int, host_throughput: float) -> float:
        """What a host serves while migrating at the constant rate γ, req/s: (1 - γ) p."""
        return (1.0 - rate) * host_throughput
