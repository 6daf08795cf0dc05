"""Stop-and-copy migration to a spare host (P_m).

The n VMs move one at a time to the cluster's one spare host; each is down
for D_m = M_t / n on average, and while they move the host serves at the
degraded rate γ (see :mod:`rejuv.model.migration`) for (n - 1) D_m::

    N_m = (T_vmm - D_m) / T_os
    A_m = 1 - (D_m + N_m D_os) / T_vmm
    P_m = (A_m - (γ (n - 1) D_m + N_m δ R_os) / T_vmm) (m - 1) p      (5)

Its key is ``migration`` (what every output and script already reads);
``stop_and_copy``, the name of its Table 1 section, is accepted for it too.
"""

from __future__ import annotations

import numpy as np

from rejuv.errors import ParameterError
from rejuv.model.parameters import Occupancy, Parameters
from rejuv.model.strategies.base import Array, OsRule
from rejuv.model.strategies.migrating import MigrationStrategy

__all__ = ["StopAndCopyMigration"]


class StopAndCopyMigration(MigrationStrategy):
    """Stop-and-copy migration to a spare host, P_m: equation (5)."""

    key = "migration"
    aliases = ("stop_and_copy",)
    label = "Stop-and-copy migration"
    symbol = "P_m"
    os_rule = OsRule.PAUSED
    live = False
    profile_section = "stop_and_copy"
    profile_field = "stop_and_copy_profile"
    rate_field = "migration_degradation"
    time_symbol = "D_m"
    rate_caption = "stop-and-copy"

    def check(self, params: Parameters) -> None:
        n = params.vms_per_host
        if np.any(n < 2):
            raise ParameterError(
                "vms_per_host (n)",
                f"{self.label} needs n >= 2 (γ compares with the (n - 1) VMs that can serve), got {float(np.min(n)):g}",
            )

    def migration_time(self, params: Parameters) -> Array:
        """M_t = n D_m, s."""
        return params.vms_per_host * params.migration_downtime

    def time_parameter(self, total: float, vms: int) -> float:
        """D_m = M_t / n: the mean downtime per VM."""
        return total / vms

    def served_throughput(self, rate: float, vms: int, host_throughput: float) -> float:
        """(1 - γ) p (n - 1) / n, req/s: γ compares with the n - 1 VMs that can serve while one is stopped."""
        return (1.0 - rate) * (host_throughput * (vms - 1) / vms)

    def vmm_downtime(self, params: Parameters) -> Array:
        return params.migration_downtime

    def vmm_degraded_loss(self, params: Parameters) -> Array:
        return self.degradation_rate(params) * (params.vms_per_host - 1) * params.migration_downtime

    def occupancy(self, params: Parameters) -> Occupancy:
        """n D_m (M_t, the whole stop-and-copy) must stay below T_vmm and is what it occupies."""
        whole = params.migration_downtime * params.vms_per_host
        rule = "times n (M_t, the whole stop-and-copy) "
        return Occupancy("migration_downtime", whole, "migration_downtime", whole, "n D_m", rule)
