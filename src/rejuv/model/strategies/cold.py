"""Cold-VM Reboot (P_c): the VMM and every OS on it reboot.

Rebooting every OS resets its rejuvenation timer, so only whole OS
rejuvenations fit between two VMM reboots, and none when T_vmm <= T_os::

    N_c = (T_vmm - D_c(n)) / T_os                                (floored below)
    A_c = 1 - (D_c(n) + ⌊N_c⌋ D_os) / T_vmm                      (3)
    P_c = (A_c - (ω' R'_vmm + ⌊N_c⌋ δ R_os) / T_vmm) m p         (4)

Because of the floor, a longer D_c can remove one OS rejuvenation per T_vmm
and so raise P_c: the one place where more downtime helps in this model.
"""

from __future__ import annotations

import numpy as np

from rejuv.model.parameters import Parameters
from rejuv.model.strategies.base import Array, SharedTerms, Strategy

__all__ = ["ColdReboot"]


class ColdReboot(Strategy):
    """Cold-VM Reboot, P_c: equations (3) and (4), with ⌊N_c⌋."""

    key = "cold"
    label = "Cold-VM Reboot"
    symbol = "P_c"

    def vmm_downtime(self, params: Parameters) -> Array:
        return params.cold_reboot_downtime

    def os_rejuvenations(self, params: Parameters) -> Array:
        count = np.floor((params.vmm_interval - params.cold_reboot_downtime) / params.os_interval)
        # None when T_vmm <= T_os, even with D_c = 0 and T_vmm = T_os, where the floor alone gives 1.
        result: Array = np.where(params.vmm_interval <= params.os_interval, 0.0, count)
        return result

    def vmm_degraded_loss(self, params: Parameters) -> Array:
        return params.cold_reboot_degradation * params.cold_reboot_degraded_period

    def limit(self, params: Parameters, shared: SharedTerms | None = None) -> Array:
        """1 - (D_c + ω' R'_vmm + ⌊N_c⌋ (D_os + δ R_os)) / T_vmm: the floor keeps N_c out of the shared form."""
        terms = SharedTerms.of(params) if shared is None else shared
        lost = self.os_rejuvenations(params) * terms.os_cost + (
            self.vmm_downtime(params) + self.vmm_degraded_loss(params)
        )
        result: Array = 1.0 - lost * terms.inverse_interval
        return result
