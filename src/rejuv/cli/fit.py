"""``rejuv fit``: model parameters from measured throughput traces."""

from __future__ import annotations

import argparse
from pathlib import Path

from rejuv.cli.format import table
from rejuv.cli.trace_options import announce, not_an_input, open_fraction, positive_duration
from rejuv.model import MigrationProfile, lookup
from rejuv.trace.data import Trace
from rejuv.trace.events import KINDS, combine, measure
from rejuv.trace.migration_fit import fit_migration
from rejuv.trace.params_file import write_parameter_file
from rejuv.trace.readers import read_any
from rejuv.trace.segment import Estimate, Settings

#: Migration kinds: the preset section they fit, and the symbol of their total time.
MIGRATIONS = {
    "migration": ("stop_and_copy", "D_m"),
    "live": ("live", "M_l"),
    "live_rate_control": ("live_rate_control", "M_l_rc"),
}

HELP = "measure downtimes, degraded periods and degradation rates in throughput traces"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("traces", nargs="+", type=Path, metavar="TRACE", help=".trace, .csv or Prometheus .json files")
    parser.add_argument(
        "--kind",
        choices=[*KINDS, *MIGRATIONS],
        help="the kind of event: needed for traces without markers, and to fit migrations (Table 1)",
    )
    parser.add_argument("--markers", type=Path, help="markers CSV (time,kind,subject) for a CSV trace")
    parser.add_argument(
        "--baseline",
        type=positive_duration,
        default=30.0,
        help="baseline before each event, seconds or with a unit (default: %(default)s)",
    )
    parser.add_argument(
        "--tolerance",
        type=open_fraction,
        default=0.05,
        help="fraction of the baseline within which throughput is back (default: %(default)s)",
    )
    parser.add_argument("--out", type=Path, help="write the parameters to this TOML file (for rejuv compare --params)")


def _fit_migration(
    args: argparse.Namespace, settings: Settings
) -> tuple[dict[str, Estimate], dict[str, MigrationProfile]]:
    section, symbol = MIGRATIONS[args.kind]
    traces = [_read(path, args.markers) for path in args.traces]
    fitted = fit_migration(traces, live=args.kind != "migration", settings=settings)
    step = max(trace.step for trace in traces)
    print(f"Table 1 measured from {len(traces)} run(s) of {fitted.vms} VMs (p = {fitted.host_throughput:.1f} req/s):")
    columns = list(fitted.fits)
    rows = [[f"{int(i)}", *(f"{fitted.table[c][row]:.2f}" for c in columns)] for row, i in enumerate(fitted.table["i"])]
    print(table(["i", *columns], rows))
    for column, result in fitted.fits.items():
        print(f"  {column}: {result}")
    rate = "γ" if args.kind == "migration" else "γ'"
    print(f"{rate} = {fitted.degradation:.4f}")
    total = fitted.total_time / fitted.vms if args.kind == "migration" else fitted.total_time
    return {symbol: Estimate(total, step, "s")}, {section: fitted.profile}


def run(args: argparse.Namespace) -> int:
    not_an_input(args.out, [*args.traces, *([args.markers] if args.markers else [])])
    settings = Settings(baseline_window=args.baseline, tolerance=args.tolerance)
    if args.kind in MIGRATIONS:
        estimates, profiles = _fit_migration(args, settings)
    else:
        estimates, profiles = _fit_events(args, settings), {}
    rows = [
        [symbol, lookup(symbol).name, f"{e.value:.4g}", f"± {e.uncertainty:.2g}", e.unit]
        for symbol, e in estimates.items()
    ]
    print(table(["symbol", "name", "value", "uncertainty", "unit"], rows, align="llrll"))
    if args.out is not None:
        write_parameter_file(args.out, estimates, [str(path) for path in args.traces], profiles)
        print(f"wrote {args.out}")
    return 0


def _fit_events(args: argparse.Namespace, settings: Settings) -> dict[str, Estimate]:
    measured = []
    for path in args.traces:
        measured += measure(_read(path, args.markers), args.kind, settings)
    counts = {kind: sum(1 for m in measured if m.kind == kind) for kind in KINDS}
    print("events: " + ", ".join(f"{count} {kind}" for kind, count in counts.items() if count))
    for item in measured:
        if not item.segment.recovered:
            print(f"note: the {item.kind} event at {item.segment.start:g} s had not recovered when the trace ended")
    return combine(measured)


def _read(path: Path, markers: Path | None) -> Trace:
    announce("fit", path)
    return read_any(path, markers)
