"""``rejuv fit``: model parameters from measured throughput traces."""

from __future__ import annotations

import argparse
from pathlib import Path

from rejuv.cli.format import table
from rejuv.model import lookup
from rejuv.trace.events import KINDS, combine, measure
from rejuv.trace.params_file import write_parameter_file
from rejuv.trace.readers import read_any
from rejuv.trace.segment import Settings

HELP = "measure downtimes, degraded periods and degradation rates in throughput traces"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("traces", nargs="+", type=Path, metavar="TRACE", help=".trace, .csv or Prometheus .json files")
    parser.add_argument("--kind", choices=sorted(KINDS), help="the kind of event, for traces without markers")
    parser.add_argument("--markers", type=Path, help="markers CSV (time,kind,subject) for a CSV trace")
    parser.add_argument(
        "--baseline", type=float, default=30.0, help="seconds of baseline before each event (default: %(default)s)"
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.05,
        help="fraction of the baseline within which throughput is back (default: %(default)s)",
    )
    parser.add_argument("--out", type=Path, help="write the parameters to this TOML file (for rejuv compare --params)")


def run(args: argparse.Namespace) -> int:
    settings = Settings(baseline_window=args.baseline, tolerance=args.tolerance)
    measured = []
    for path in args.traces:
        trace = read_any(path, args.markers)
        measured += measure(trace, args.kind, settings)
    estimates = combine(measured)
    counts = {kind: sum(1 for m in measured if m.kind == kind) for kind in KINDS}
    print("events: " + ", ".join(f"{count} {kind}" for kind, count in counts.items() if count))
    rows = []
    for symbol, estimate in estimates.items():
        rows.append(
            [symbol, lookup(symbol).name, f"{estimate.value:.4g}", f"± {estimate.uncertainty:.2g}", estimate.unit]
        )
    print(table(["symbol", "name", "value", "uncertainty", "unit"], rows, align="llrll"))
    for item in measured:
        if not item.segment.recovered:
            print(f"note: the {item.kind} event at {item.segment.start:g} s had not recovered when the trace ended")
    if args.out is not None:
        write_parameter_file(args.out, estimates, [str(path) for path in args.traces])
        print(f"wrote {args.out}")
    return 0
