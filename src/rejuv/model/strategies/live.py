"""Live migration to a spare host (P_l), with and without rate control.

Moving VMs keep running, so the VMM rejuvenation costs no downtime; the host
serves at the degraded rate γ' (see :mod:`rejuv.model.migration`) for the
whole migration time M_l::

    N_l = T_vmm / T_os
    A_l = 1 - N_l D_os / T_vmm
    P_l = (A_l - (γ' M_l + N_l δ R_os) / T_vmm) (m - 1) p             (6)

With Xen's adaptive rate control migration disturbs the other VMs far less
(smaller γ') but takes much longer (larger M_l).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from rejuv.model.migration import MigrationProfile, migration_degradation
from rejuv.model.parameters import Parameters
from rejuv.model.strategies.base import Array, SharedTerms, Strategy

__all__ = ["LiveMigration", "LiveMigrationRateControl"]


class LiveMigration(Strategy):
    """Live migration to a spare host, P_l: equation (6)."""

    key = "live"
    label = "Live migration"
    symbol = "P_l"
    needs_spare_host = True
    rate_field: ClassVar[str] = "live_migration_degradation"  #: the parameter that sets γ'

    def _profile(self, params: Parameters) -> MigrationProfile:
        return params.live_migration_profile

    def migration_time(self, params: Parameters) -> Array:
        """M_l: time to move all n VMs, s."""
        return params.live_migration_time

    def degradation_rate(self, params: Parameters) -> Array:
        """γ': the set value, or else computed from the Table 1 curves."""
        rate: Array | None = getattr(params, self.rate_field)
        if rate is not None:
            return rate
        return migration_degradation(self._profile(params), params.vms_per_host, params.host_throughput)

    def vmm_downtime(self, params: Parameters) -> Array:
        return np.zeros_like(params.vmm_interval)

    def os_rejuvenations(self, params: Parameters) -> Array:
        return params.vmm_interval / params.os_interval

    def vmm_degraded_loss(self, params: Parameters) -> Array:
        return self.degradation_rate(params) * self.migration_time(params)

    def limit(self, params: Parameters, shared: SharedTerms | None = None) -> Array:
        """w - γ' M_l / T_vmm: the shared form with no downtime (N_l = T_vmm / T_os)."""
        terms = SharedTerms.of(params) if shared is None else shared
        result: Array = terms.os_free_share - self.vmm_degraded_loss(params) * terms.inverse_interval
        return result


class LiveMigrationRateControl(LiveMigration):
    """Live migration with adaptive rate control: equation (6) with γ'_rc and M_l,rc."""

    key = "live_rate_control"
    label = "Live migration, rate control"
    symbol = "P_l (rate control)"
    rate_field = "live_migration_degradation_rate_control"

    def _profile(self, params: Parameters) -> MigrationProfile:
        return params.live_migration_profile_rate_control

    def migration_time(self, params: Parameters) -> Array:
        return params.live_migration_time_rate_control
