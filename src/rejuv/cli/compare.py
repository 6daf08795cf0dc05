"""``rejuv compare``: every strategy on the host counts you name."""

from __future__ import annotations

import argparse

from rejuv.cli.comparison import Comparison, compare
from rejuv.cli.format import table
from rejuv.cli.options import add_parameter_options, parameters_from, parse_hosts, preset_label
from rejuv.jsontext import to_json
from rejuv.model import STRATEGIES, MigrationStrategy
from rejuv.provenance import stamp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_parameter_options(parser)
    parser.add_argument(
        "--hosts", default="2,10,100,1000,10000,100000", help="host counts m, comma-separated (default: %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def render(result: Comparison) -> str:
    """The comparison as tables for people."""
    header = ["strategy", *(f"m={h:,}" for h in result["hosts"])]
    sections = []
    for number, (measure, title, fmt) in enumerate(
        (
            ("normalized_throughput", "P/(m p): total throughput over its maximum", "{:.6f}"),
            ("total_throughput", "P: total throughput, req/s", "{:,.1f}"),
            ("lost_requests_per_year", "requests lost per year", "{:,.0f}"),
        )
    ):
        rows = [
            [entry["label"], *(fmt.format(v) for v in entry[measure])]  # type: ignore[literal-required]
            for entry in result["strategies"].values()
        ]
        if number == 0:
            rows.append(["best", *result["best"]])
        sections.append(f"{title}\n{table(header, rows)}")
    return "\n\n".join(sections)


def render_rates_and_crossovers(result: Comparison) -> str:
    """Degradation rates and crossovers as tables for people."""
    rates = result["degradation_rates"]
    lines = ["degradation rates while migrating"]
    rows = [
        [f"{item.rate_symbol():<4}{item.rate_caption}", f"{rates[key]:.4f}"]
        for key, item in STRATEGIES.items()
        if isinstance(item, MigrationStrategy) and key in rates
    ]
    lines += [table(["rate", "value"], rows)]
    lines.append("\ncrossovers: the smallest m at which a strategy behind at m = 2 overtakes another")
    rows = []
    for item in result["crossovers"]:
        where = "never" if item["hosts"] is None else f"m = {item['hosts']:,}"
        rows.append([STRATEGIES[item["strategy"]].label, STRATEGIES[item["overtakes"]].label, where])
    lines.append(table(["strategy", "overtakes", "from"], rows))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    params = parameters_from(args)
    result = compare(params, parse_hosts(args.hosts), preset_label(args))
    if args.json:
        print(to_json(stamp(result)))
    else:
        print(f"parameters: {preset_label(args)}\n")
        print(render(result))
        print()
        print(render_rates_and_crossovers(result))
    return 0
