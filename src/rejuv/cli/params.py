"""``rejuv params``: the parameter table: paper symbol, name, value, unit and meaning."""

from __future__ import annotations

import argparse

from rejuv.cli.format import table
from rejuv.cli.options import add_parameter_options, parameters_from, preset_label
from rejuv.jsontext import to_json
from rejuv.model import STRATEGIES, Kind, MigrationStrategy, all_symbols, degradation_rates, format_duration
from rejuv.provenance import stamp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_parameter_options(parser)
    parser.add_argument("--json", action="store_true", help="print the values as JSON")


def run(args: argparse.Namespace) -> int:
    params = parameters_from(args)
    values = params.as_dict()
    if args.json:
        print(to_json(stamp({"source": preset_label(args), "values": values})))
        return 0
    computed = {item.rate_field: key for key, item in STRATEGIES.items() if isinstance(item, MigrationStrategy)}
    rates = degradation_rates(params)
    rows = []
    for entry in all_symbols():
        value = values.get(entry.name)
        if value is None and entry.name not in computed:
            shown = "unset"
        elif value is None:
            shown = f"{float(rates[computed[entry.name]]):.4f} (computed)"
        elif entry.kind is Kind.DURATION:
            shown = format_duration(value)  # in the largest unit that states it: 28 d, 59 s
        else:
            shown = f"{value:g} {entry.unit}" if entry.unit != "1" else f"{value:g}"
        rows.append([entry.symbol, entry.name, shown, entry.meaning])
    print(f"parameters: {preset_label(args)}; each value with its own unit (fractions have none)")
    print(table(["symbol", "name", "value", "meaning"], rows, align="llrl"))
    return 0
