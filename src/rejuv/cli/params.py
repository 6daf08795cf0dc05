"""``rejuv params``: the parameter table: paper symbol, name, value, unit and meaning."""

from __future__ import annotations

import argparse

from rejuv.cli.format import table
from rejuv.cli.options import add_parameter_options, parameters_from, preset_label
from rejuv.jsontext import to_json
from rejuv.model import SYMBOLS, Kind, degradation_rates, format_duration
from rejuv.provenance import stamp

HELP = "show the parameters in use, with their paper symbols, units and meanings"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_parameter_options(parser)
    parser.add_argument("--json", action="store_true", help="print the values as JSON")


def run(args: argparse.Namespace) -> int:
    params = parameters_from(args)
    values = params.as_dict()
    if args.json:
        print(to_json(stamp({"source": preset_label(args), "values": values})))
        return 0
    computed = {
        "migration_degradation": "migration",
        "live_migration_degradation": "live",
        "live_migration_degradation_rate_control": "live_rate_control",
    }
    rates = degradation_rates(params)
    rows = []
    for entry in SYMBOLS:
        value = values[entry.name]
        if value is None:
            shown = f"{float(rates[computed[entry.name]]):.4f} (computed)"
        elif entry.kind is Kind.DURATION:
            shown = format_duration(value)
        else:
            shown = f"{value:g}"
        rows.append([entry.symbol, entry.name, shown, entry.unit, entry.meaning])
    print(f"parameters: {preset_label(args)}")
    print(table(["symbol", "name", "value", "unit", "meaning"], rows, align="llrll"))
    return 0
