"""``rejuv reproduce``: the paper's results, tables and figures, from its own parameters."""

from __future__ import annotations

import argparse

from rejuv.cli.compare import render, render_rates_and_crossovers
from rejuv.cli.comparison import compare
from rejuv.cli.options import add_figure_format, add_out_dir, add_parameter_options, parameters_from, preset_label
from rejuv.model import read_preset

#: The host counts of the paper's discussion of Figure 7.
HOSTS = (2, 10, 100, 1_000, 10_000, 100_000)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_parameter_options(parser)
    add_out_dir(parser, "figures and data")
    add_figure_format(parser)


def _paper_comparison(args: argparse.Namespace) -> str:
    """The paper's reported values beside the model's, for the preset in use."""
    preset = read_preset(args.preset)
    if not preset.reported:
        return ""
    lines = [f"source: {preset.source}"]
    for name, value in preset.reported.items():
        lines.append(f"  the paper reports {name} = {value:g}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from rejuv.report import write_reproduction  # matplotlib loads only for commands that draw

    params = parameters_from(args)
    result = compare(params, HOSTS, preset_label(args))
    print(f"rejuv reproduce: parameters {preset_label(args)}")
    reported = _paper_comparison(args)
    if reported:
        print(reported)
    print()
    print(render_rates_and_crossovers(result))
    print()
    print(render(result))
    print()
    written = write_reproduction(params, args.out, args.figure_format)
    print(f"wrote {len(written)} files to {args.out}/:")
    for path in written:
        print(f"  {path}")
    return 0
