"""Which strategy wins over T_vmm against T_os, at 1,000 hosts, with the paper's other parameters.

Writes phase_map_intervals.png and phase_map_intervals.csv (x, y, winner,
lead at every grid point) to --out (default: this folder). Deterministic.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rejuv.model import Axis, load_preset, phase_map
from rejuv.report import write_phase_map

PRESET = "kourai2008"  #: every parameter but the two axes: the paper's Section 4 values
HOSTS = 1_000  #: cluster size m
X_AXIS = "T_vmm=1d:90d"  #: time between VMM rejuvenations
Y_AXIS = "T_os=1d:90d"  #: time between OS rejuvenations
POINTS = 90  #: grid points per axis: one a day
STEM = "phase_map_intervals"
HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    params = load_preset(PRESET)
    pm = phase_map(params, Axis.parse(X_AXIS, POINTS), Axis.parse(Y_AXIS, POINTS), HOSTS)
    for path in write_phase_map(pm, args.out, STEM, reference=params, reference_label=f"{PRESET} (the paper)"):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
