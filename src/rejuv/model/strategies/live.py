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

import numpy as np

from rejuv.model.parameters import Occupancy, Parameters
from rejuv.model.strategies.base import Array, OsRule, SharedTerms
from rejuv.model.strategies.migrating import MigrationStrategy
from rejuv.model.symbols import lookup

__all__ = ["LiveMigration", "LiveMigrationRateControl"]


class LiveMigration(MigrationStrategy):
    """Live migration to a spare host, P_l: equation (6)."""

    key = "live"
    label = "Live migration"
    symbol = "P_l"
    os_rule = OsRule.RUNNING
    live = True
    profile_section = "live"
    profile_field = "live_migration_profile"
    rate_field = "live_migration_degradation"
    time_symbol = "M_l"
    rate_caption = "live"

    def vmm_downtime(self, params: Parameters) -> Array:
        return np.zeros_like(params.vmm_interval)

    def vmm_degraded_loss(self, params: Parameters) -> Array:
        return self.degradation_rate(params) * self.migration_time(params)

    def limit(self, params: Parameters, shared: SharedTerms | None = None) -> Array:
        """w - γ' M_l / T_vmm: the shared form with no downtime (N_l = T_vmm / T_os)."""
        terms = SharedTerms.of(params) if shared is None else shared
        result: Array = terms.os_free_share - self.vmm_degraded_loss(params) * terms.inverse_interval
        return result

    def occupancy(self, params: Parameters) -> Occupancy:
        """M_l must stay below T_vmm and is what the migration occupies."""
        name = lookup(self.time_symbol).name
        time = self.migration_time(params)
        return Occupancy(name, time, name, time)


class LiveMigrationRateControl(LiveMigration):
    """Live migration with adaptive rate control: equation (6) with γ'_rc and M_l,rc."""

    key = "live_rate_control"
    label = "Live migration, rate control"
    symbol = "P_l (rate control)"
    profile_section = "live_rate_control"
    profile_field = "live_migration_profile_rate_control"
    rate_field = "live_migration_degradation_rate_control"
    time_symbol = "M_l_rc"
    rate_caption = "live, rate control"
