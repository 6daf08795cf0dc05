"""Warm-VM Reboot (P_w): the VMM restarts while every VM's memory stays in RAM.

The OS is only suspended, so OS rejuvenations keep their own schedule::

    N_w = (T_vmm - D_w(n)) / T_os                      (not floored)
    A_w = 1 - (D_w(n) + N_w D_os) / T_vmm               (1)
    P_w = (A_w - (ω R_vmm + N_w δ R_os) / T_vmm) m p    (2)
"""

from __future__ import annotations

from rejuv.model.strategies.base import OsRule
from rejuv.model.strategies.reboot import RebootStrategy

__all__ = ["WarmReboot"]


class WarmReboot(RebootStrategy):
    """Warm-VM Reboot, P_w: equations (1) and (2)."""

    key = "warm"
    label = "Warm-VM Reboot"
    symbol = "P_w"
    os_rule = OsRule.PAUSED
    markers = ("suspend-started", "all-resumed")
    downtime_symbol = "D_w"
    degradation_symbol = "omega"
    degraded_period_symbol = "R_vmm"
