"""The paper's Figures 1 and 2: when VMM and OS rejuvenations happen, Warm-VM Reboot against Cold-VM Reboot.

Figure 1 has T_vmm > T_os, Figure 2 T_vmm <= T_os; the intervals are
schematic (below), the downtimes and degraded periods the paper's. Writes
figure1.png, figure1.csv, figure2.png and figure2.csv (every interval, in
seconds) to --out (default: this folder). Deterministic: no random input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rejuv.model import load_preset
from rejuv.report import Schematic, write_timelines

PRESET = "kourai2008"  #: the paper's Section 4 parameters: D_w, R_vmm, D_c, R'_vmm, D_os, R_os
DAY = 86400.0
PERIODS = 3  #: VMM intervals drawn
#: T_vmm > T_os: Warm-VM Reboot keeps N_w = 2.8 OS rejuvenations per T_vmm, Cold-VM Reboot only 2.
FIGURE1 = Schematic("figure1", "Figure 1 (T_vmm > T_os)", vmm_interval=28 * DAY, os_interval=10 * DAY, periods=PERIODS)
#: T_vmm <= T_os: Cold-VM Reboot resets the OS timer before it ever reaches T_os.
FIGURE2 = Schematic("figure2", "Figure 2 (T_vmm <= T_os)", vmm_interval=7 * DAY, os_interval=10 * DAY, periods=PERIODS)
HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    for path in write_timelines(load_preset(PRESET), args.out, (FIGURE1, FIGURE2)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
