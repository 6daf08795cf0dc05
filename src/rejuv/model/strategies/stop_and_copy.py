"""Stop-and-copy migration to a spare host (P_m).

The n VMs move one at a time to the cluster's one spare host; each is down
for D_m = M_t / n on average, and while they move the host serves at the
degraded rate γ (see :mod:`rejuv.model.migration`) for (n - 1) D_m::

    N_m = (T_vmm - D_m) / T_os
    A_m = 1 - (D_m + N_m D_os) / T_vmm
    P_m = (A_m - (γ (n - 1) D_m + N_m δ R_os) / T_vmm) (m - 1) p      (5)
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from rejuv.errors import ParameterError
from rejuv.model.migration import migration_degradation
from rejuv.model.parameters import Parameters
from rejuv.model.strategies.base import Array, Strategy

__all__ = ["StopAndCopyMigration"]


class StopAndCopyMigration(Strategy):
    """Stop-and-copy migration to a spare host, P_m: equation (5)."""

    key = "migration"
    label = "Stop-and-copy migration"
    symbol = "P_m"
    needs_spare_host = True
    rate_field: ClassVar[str] = "migration_degradation"  #: the parameter that sets γ

    def check(self, params: Parameters) -> None:
        n = params.vms_per_host
        if np.any(n < 2):
            raise ParameterError(
                "vms_per_host (n)",
                f"{self.label} needs n >= 2 (γ compares with the (n - 1) VMs that can serve), got {float(np.min(n)):g}",
            )

    def degradation_rate(self, params: Parameters) -> Array:
        """γ: the set value, or else computed from the stop-and-copy Table 1 curves."""
        rate: Array | None = getattr(params, self.rate_field)
        if rate is not None:
            return rate
        self.check(params)
        return migration_degradation(params.stop_and_copy_profile, params.vms_per_host, params.host_throughput)

    def vmm_downtime(self, params: Parameters) -> Array:
        return params.migration_downtime

    def os_rejuvenations(self, params: Parameters) -> Array:
        return (params.vmm_interval - params.migration_downtime) / params.os_interval

    def vmm_degraded_loss(self, params: Parameters) -> Array:
        return self.degradation_rate(params) * (params.vms_per_host - 1) * params.migration_downtime
