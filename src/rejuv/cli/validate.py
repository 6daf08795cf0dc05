"""``rejuv validate``: the simulator beside the closed form, with the reasons where they differ."""

from __future__ import annotations

import argparse

from rejuv.cli.format import table
from rejuv.cli.option_types import renamed
from rejuv.cli.options import add_parameter_options, parameters_from, parse_hosts, preset_label
from rejuv.cli.sim_options import Progress, add_sim_options, config_from, parse_strategies
from rejuv.jsontext import to_json
from rejuv.model import STRATEGIES
from rejuv.provenance import stamp
from rejuv.sim import DEFAULT_TOLERANCE, ModelCheck, validate_against_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_parameter_options(parser)
    add_sim_options(parser)
    parser.add_argument(
        "--hosts", default="2,10,100,1000", help="host counts m, comma-separated (default: %(default)s)"
    )
    parser.add_argument("--strategies", default="all", help="strategy keys, comma-separated (default: all)")
    parser.add_argument("--periods", type=int, help="whole T_vmm to simulate (default: enough for the tolerance)")
    tolerance = parser.add_argument(
        "--loss-tolerance",
        dest="tolerance",
        metavar="RELATIVE",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="relative difference of the losses within which they agree (default: %(default)s)",
    )
    renamed(parser, "--tolerance", tolerance)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def render(comparisons: list[ModelCheck]) -> str:
    """The comparison table, then the reasons for each difference."""
    header = ["strategy", "m", "periods", "model loss", "simulated loss", "rel. diff", "agrees"]
    rows = []
    notes = []
    for c in comparisons:
        mark = "yes" if c.agrees else "NO"
        if c.reasons:
            notes.append(f"{STRATEGIES[c.strategy].label}, m = {c.hosts:,}:")
            notes += [f"  - {reason}" for reason in c.reasons]
        rows.append(
            [
                STRATEGIES[c.strategy].label,
                f"{c.hosts:,}",
                f"{c.result.config.periods:,}",
                f"{c.model_loss:.6e}",
                f"{c.sim_loss:.6e}",
                f"{c.relative_difference:+.2e}",
                mark,
            ]
        )
    text = "loss = 1 - P/(m p), closed form and simulated\n" + table(header, rows, "lrrrrrl")
    if notes:
        text += "\n\nwhy they differ:\n" + "\n".join(notes)
    unexplained = [c for c in comparisons if not c.agrees and not c.reasons]
    if unexplained:
        text += "\n\nunexplained differences: " + ", ".join(f"{c.strategy} at m = {c.hosts:,}" for c in unexplained)
    return text


def run(args: argparse.Namespace) -> int:
    params = parameters_from(args)
    progress = Progress(args.no_progress)
    try:
        comparisons = validate_against_model(
            params,
            parse_hosts(args.hosts),
            parse_strategies(args.strategies),
            config_from(args),
            args.tolerance,
            args.periods,
            args.max_events,
            progress,
        )
    finally:
        progress.close()
    if args.json:
        document = {
            "parameters": preset_label(args),
            "tolerance": args.tolerance,
            "comparisons": [
                {
                    "strategy": c.strategy,
                    "hosts": c.hosts,
                    "periods": c.result.config.periods,
                    "model_loss": c.model_loss,
                    "simulated_loss": c.sim_loss,
                    "relative_difference": c.relative_difference,
                    "agrees": c.agrees,
                    "reasons": list(c.reasons),
                    "events": c.result.events,
                }
                for c in comparisons
            ],
        }
        print(to_json(stamp(document)))
    else:
        print(f"parameters: {preset_label(args)}; tolerance {args.tolerance:g} relative\n")
        print(render(comparisons))
    return 1 if any(not c.agrees and not c.reasons for c in comparisons) else 0
