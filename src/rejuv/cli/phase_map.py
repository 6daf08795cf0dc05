"""``rejuv phase-map``: which strategy wins over a grid of two parameters."""

from __future__ import annotations

import argparse

from rejuv.cli.format import table
from rejuv.cli.options import add_figure_format, add_out_dir, add_parameter_options, parameters_from, preset_label
from rejuv.errors import ParameterError
from rejuv.limits import check_memory
from rejuv.model import STRATEGIES, Axis, phase_map
from rejuv.model.phase_map import phase_map_memory


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--x", required=True, metavar="NAME=START:STOP", help="x axis, for example T_vmm=1d:90d")
    parser.add_argument("--y", required=True, metavar="NAME=START:STOP", help="y axis, for example T_os=1d:90d")
    parser.add_argument("--points", type=int, default=121, help="grid points per axis (default: %(default)s)")
    parser.add_argument("--log-x", action="store_true", help="space the x values logarithmically")
    parser.add_argument("--log-y", action="store_true", help="space the y values logarithmically")
    parser.add_argument("--hosts", type=int, default=1000, help="cluster size m (default: %(default)s)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="strategies to compare (default: all five)")
    add_parameter_options(parser)
    add_out_dir(parser, "the figure and its CSV")
    add_figure_format(parser)


def run(args: argparse.Namespace) -> int:
    params = parameters_from(args)
    keys = [key.strip() for key in args.strategies.split(",") if key.strip()]
    for key in keys:
        if key not in STRATEGIES:
            raise ParameterError("--strategies", f"unknown strategy {key!r}; expected some of {', '.join(STRATEGIES)}")
    check_memory("--points", phase_map_memory(args.points, args.points, len(keys)), "use fewer --points")
    x = Axis.parse(args.x, args.points, args.log_x)
    y = Axis.parse(args.y, args.points, args.log_y)
    result = phase_map(params, x, y, args.hosts, keys)
    from rejuv.report import write_phase_map  # matplotlib loads only for commands that draw

    stem = f"phase-map-{x.symbol}-{y.symbol}"
    written = write_phase_map(
        result, args.out, stem, reference=params, reference_label=preset_label(args), figure_format=args.figure_format
    )
    print(f"phase map of {y.symbol} against {x.symbol} at m = {args.hosts:,} ({preset_label(args)})")
    rows = [[STRATEGIES[key].label, f"{100 * result.share(key):.1f}%"] for key in result.strategies]
    print(table(["strategy", "wins"], rows))
    for path in written:
        print(f"wrote {path}")
    return 0
