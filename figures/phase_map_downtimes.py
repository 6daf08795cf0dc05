"""Where Warm-VM Reboot stops winning: D_c against D_w at 1,000 hosts, with the paper's other parameters.

Warm-VM Reboot wins while its downtime stays below the Cold-VM Reboot's
plus the extra loss a cold reboot causes (ω' R'_vmm and a whole OS
rejuvenation fewer or more); past about 40 minutes of both, live migration
to a spare host wins. Writes phase_map_downtimes.png,
phase_map_downtimes.csv (x, y, winner, lead at every grid point) and
phase_map_downtimes.json (the break-even D_w at the paper's D_c) to --out
(default: this folder). Deterministic.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rejuv.model import STRATEGIES, Axis, Parameters, load_preset, phase_map
from rejuv.report import phase_map_table, plot_phase_map, write_csv, write_figure, write_json
from rejuv.report.phase_map import axis_unit

PRESET = "kourai2008"  #: every parameter but the two axes: the paper's Section 4 values
HOSTS = 1_000  #: cluster size m
X_AXIS = "D_w=0s:60min"  #: downtime of a Warm-VM Reboot
Y_AXIS = "D_c=0s:60min"  #: downtime of a Cold-VM Reboot
POINTS = 121  #: grid points per axis (30 s apart)
STEP = 60.0  #: s; P_w / (m p) falls linearly with D_w, so two points give the break-even exactly
STEM = "phase_map_downtimes"
HERE = Path(__file__).resolve().parent


def warm_break_even(params: Parameters, hosts: int) -> tuple[float, str]:
    """The D_w (s) above which Warm-VM Reboot stops being best, every other value as in ``params``; and who wins then."""
    others = {
        key: float(item.evaluate(params, hosts).normalized_throughput)
        for key, item in STRATEGIES.items()
        if key != "warm"
    }
    runner_up = max(others, key=lambda key: others[key])
    warm = STRATEGIES["warm"]
    start = float(params.warm_reboot_downtime)
    at_start = float(warm.evaluate(params, hosts).normalized_throughput)
    later = float(warm.evaluate(params.replace(D_w=start + STEP), hosts).normalized_throughput)
    slope = (later - at_start) / STEP
    return start + (others[runner_up] - at_start) / slope, runner_up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    params = load_preset(PRESET)
    x, y = Axis.parse(X_AXIS, POINTS), Axis.parse(Y_AXIS, POINTS)
    pm = phase_map(params, x, y, HOSTS)
    break_even, runner_up = warm_break_even(params, HOSTS)
    cold_downtime = float(params.cold_reboot_downtime)

    figure = plot_phase_map(pm, reference=params, reference_label=f"{PRESET} (the paper)")
    axes = figure.axes[0]
    unit, size = axis_unit(x)
    axes.annotate(
        "",
        xy=(break_even / size, cold_downtime / size),
        xytext=(float(params.warm_reboot_downtime) / size, cold_downtime / size),
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.0, "shrinkA": 8, "shrinkB": 0},
    )
    axes.annotate(
        f"at the paper's D_c, {STRATEGIES['warm'].label} wins while D_w < {break_even / size:.1f} {unit};\n"
        f"beyond, {STRATEGIES[runner_up].label} wins",
        xy=(break_even / size, cold_downtime / size),
        xytext=(0.38, 0.12),
        textcoords="axes fraction",
        fontsize=8,
        arrowprops={"arrowstyle": "-", "color": "black", "lw": 0.6},
        bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "black", "lw": 0.5, "alpha": 0.9},
    )
    header, rows = phase_map_table(pm)
    written = [
        write_figure(figure, args.out / f"{STEM}.png"),
        write_csv(args.out / f"{STEM}.csv", header, rows),
        write_json(
            args.out / f"{STEM}.json",
            {
                "preset": PRESET,
                "hosts": HOSTS,
                "cold_reboot_downtime_s": cold_downtime,
                "warm_break_even_downtime_s": break_even,
                "beyond_break_even": runner_up,
                "shares": {key: pm.share(key) for key in pm.strategies},
            },
        ),
    ]
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
