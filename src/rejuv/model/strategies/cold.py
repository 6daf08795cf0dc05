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

from rejuv.model.strategies.base import OsRule
from rejuv.model.strategies.reboot import RebootStrategy

__all__ = ["ColdReboot"]


class ColdReboot(RebootStrategy):
    """Cold-VM Reboot, P_c: equations (3) and (4), with ⌊N_c⌋."""

    key = "cold"
    label = "Cold-VM Reboot"
    symbol = "P_c"
    os_rule = OsRule.RESET
    markers = ("shutdown-started", "all-booted")
    downtime_symbol = "D_c"
    degradation_symbol = "omega_c"
    degraded_period_symbol = "R_vmm_c"
