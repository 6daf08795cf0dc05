"""Warm-VM Reboot (P_w): the VMM restarts while every VM's memory stays in RAM.

The OS is only suspended, so OS rejuvenations keep their own schedule::

    N_w = (T_vmm - D_w(n)) / T_os                      (not floored)
    A_w = 1 - (D_w(n) + N_w D_os) / T_vmm               (1)
    P_w = (A_w - (ω R_vmm + N_w δ R_os) / T_vmm) m p    (2)
"""

from __future__ import annotations

from rejuv.model.parameters import Parameters
from rejuv.model.strategies.base import Array, Strategy

__all__ = ["WarmReboot"]


class WarmReboot(Strategy):
    """Warm-VM Reboot, P_w: equations (1) and (2)."""

    key = "warm"
    label = "Warm-VM Reboot"
    symbol = "P_w"

    def vmm_downtime(self, params: Parameters) -> Array:
        return params.warm_reboot_downtime

    def os_rejuvenations(self, params: Parameters) -> Array:
        return (params.vmm_interval - params.warm_reboot_downtime) / params.os_interval

    def vmm_degraded_loss(self, params: Parameters) -> Array:
        return params.warm_reboot_degradation * params.warm_reboot_degraded_period
