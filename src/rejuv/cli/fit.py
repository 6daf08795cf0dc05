"""``rejuv fit``: model parameters from measured throughput traces."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from rejuv.cli.format import table
from rejuv.cli.option_types import open_fraction, positive_duration, renamed, timestamp
from rejuv.cli.trace_options import announce, not_an_input
from rejuv.errors import ParameterError
from rejuv.jsontext import to_json
from rejuv.model import STRATEGIES, MigrationProfile, MigrationStrategy, check_value, lookup
from rejuv.provenance import stamp
from rejuv.trace.data import Trace
from rejuv.trace.events import combine, configuration, event_kinds, measure, too_coarse
from rejuv.trace.migration_fit import fit_migration, migration_parameters
from rejuv.trace.moves import has_moves, recorded_migration
from rejuv.trace.params_file import write_parameter_file
from rejuv.trace.prometheus_api import DEFAULT_TIMEOUT, Server, fetch_trace
from rejuv.trace.readers import read_any
from rejuv.trace.segment import Estimate, Settings


def _migrations() -> dict[str, MigrationStrategy]:
    """The migration strategies, whose traces are fitted as Table 1, by key."""
    return {key: item for key, item in STRATEGIES.items() if isinstance(item, MigrationStrategy)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "traces", nargs="*", type=Path, metavar="TRACE", help=".trace, .csv or Prometheus .json files (or --prometheus)"
    )
    parser.add_argument(
        "--kind",
        choices=[*event_kinds(), *_migrations()],
        help="the kind of event: needed for traces without markers, and to fit migrations (Table 1) where the trace "
        "does not record which (the lab's traces do)",
    )
    parser.add_argument(
        "--markers", type=Path, help="markers CSV (time,kind,subject) for a CSV trace or --prometheus (Unix seconds)"
    )
    parser.add_argument(
        "--baseline",
        type=positive_duration,
        help="baseline before each event, seconds or with a unit (default: 30 s, or 5 samples at a coarser step)",
    )
    tolerance = parser.add_argument(
        "--recovery-tolerance",
        dest="tolerance",
        metavar="FRACTION",
        type=open_fraction,
        default=0.05,
        help="fraction of the baseline within which throughput counts as recovered (default: %(default)s)",
    )
    renamed(parser, "--tolerance", tolerance)
    live = parser.add_argument_group("live Prometheus (docs/operators.md)")
    live.add_argument("--prometheus", metavar="URL", help="fit a range query from this server instead of files")
    live.add_argument("--query", metavar="PROMQL", help="the throughput query: one series per VM, in req/s")
    live.add_argument("--start", type=timestamp, help="RFC 3339, Unix seconds or now-1h")
    live.add_argument("--end", type=timestamp, help="RFC 3339, Unix seconds or now (default: now)")
    live.add_argument("--step", type=positive_duration, default=15.0, help="sampling step (default: 15s)")
    live.add_argument(
        "--markers-query",
        metavar="PROMQL",
        help="series above 0 while an event of --kind runs (one per VM for os and migrations), for its markers",
    )
    live.add_argument(
        "--timeout",
        type=positive_duration,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait for each answer (default: %(default)g)",
    )
    parser.add_argument("--out", type=Path, help="write the parameters to this TOML file (for rejuv compare --params)")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (the tables of progress go to stderr)"
    )


def _report(args: argparse.Namespace) -> TextIO:
    """Where the readable account of the fit goes: stdout, or stderr when stdout carries --json."""
    return sys.stderr if args.json else sys.stdout


def _fit_migration(
    args: argparse.Namespace, traces: list[Trace], settings: Settings
) -> tuple[dict[str, Estimate], dict[str, MigrationProfile], dict[str, Any]]:
    """The estimates, the fitted curves to write (none if γ was not measured), and Table 1 for --json."""
    item = _migrations()[args.kind]
    fitted = fit_migration(traces, live=item.live, settings=settings)
    out = _report(args)
    print(
        f"Table 1 measured from {fitted.evacuations} evacuation(s) of {fitted.vms} VMs "
        f"(p = {fitted.host_throughput:.1f} req/s):",
        file=out,
    )
    columns = list(fitted.fits)

    def cell(column: str, row: int) -> str:
        value, error = fitted.table[column][row], fitted.table_error[column][row]
        return f"{value:.2f}" + (f" ± {error:.2f}" if math.isfinite(error) else "")

    rows = [[f"{int(i)}", *(cell(c, row) for c in columns)] for row, i in enumerate(fitted.table["i"])]
    print(table(["i", *columns], rows), file=out)
    for column, result in fitted.fits.items():
        print(f"  {column}: {result}", file=out)
    print(f"M_t = {fitted.total_time} (time to move all {fitted.vms} VMs)", file=out)
    for note in fitted.notes:
        print(f"note: {note}", file=sys.stderr)
    measured = {
        "evacuations": fitted.evacuations,
        "vms": fitted.vms,
        "host_throughput": fitted.host_throughput,
        "total_time": {"value": fitted.total_time.value, "uncertainty": fitted.total_time.uncertainty, "unit": "s"},
        "table_1": {key: values.tolist() for key, values in fitted.table.items()},
        "table_1_error": {key: values.tolist() for key, values in fitted.table_error.items()},
        "notes": list(fitted.notes),
    }
    host = {"n": Estimate(float(fitted.vms), 0.0, "VMs"), "p": Estimate(fitted.host_throughput, 0.0, "req/s")}
    if fitted.degradation is None:
        print(
            f"{item.rate_symbol()} not measured (above); the file gets no {item.rate_symbol()} and no curves", file=out
        )
        return host | migration_parameters(fitted, item), {}, measured
    print(f"{item.rate_symbol()} = {fitted.degradation}", file=out)
    return host | migration_parameters(fitted, item), {item.profile_section: fitted.profile}, measured


def run(args: argparse.Namespace) -> int:
    _check_inputs(args)
    not_an_input(args.out, [*args.traces, *([args.markers] if args.markers else [])])
    settings = Settings(baseline_window=args.baseline, tolerance=args.tolerance)
    traces = _traces(args)
    if args.kind is None and any(has_moves(trace) for trace in traces):
        args.kind = _recorded_migration(traces)
    measured: dict[str, Any] = {}
    if args.kind in _migrations():
        estimates, profiles, measured = _fit_migration(args, traces, settings)
    else:
        estimates, profiles = _fit_events(args, traces, settings), {}
    estimates = _valid(estimates)
    if args.json:
        if args.out is not None:
            write_parameter_file(args.out, estimates, _sources(args), profiles)
        document = {
            "traces": _sources(args),
            "kind": args.kind,
            "estimates": {
                symbol: {"name": lookup(symbol).name, "value": e.value, "uncertainty": e.uncertainty, "unit": e.unit}
                for symbol, e in estimates.items()
            },
            **measured,
            "out": None if args.out is None else str(args.out),
        }
        print(to_json(stamp(document)))
        return 0
    rows = [
        [symbol, lookup(symbol).name, f"{e.value:.4g}", f"± {e.uncertainty:.2g}", e.unit]
        for symbol, e in estimates.items()
    ]
    print(table(["symbol", "name", "value", "uncertainty", "unit"], rows, align="llrll"))
    if args.out is not None:
        write_parameter_file(args.out, estimates, _sources(args), profiles)
        print(f"wrote {args.out}")
    return 0


def _recorded_migration(traces: list[Trace]) -> str:
    """The migration the traces' runs recorded (the lab's ``experiment_procedure``); else ask for --kind."""
    recorded = {recorded_migration(trace) for trace in traces}
    if len(recorded) == 1 and (kind := recorded.pop()) is not None:
        return kind
    raise ParameterError(
        "--kind", f"the traces hold migrations but do not say which: name one of {', '.join(_migrations())}"
    )


def _fit_events(args: argparse.Namespace, traces: list[Trace], settings: Settings) -> dict[str, Estimate]:
    measured = []
    coarse = []
    hosts = []
    for trace in traces:
        found = measure(trace, args.kind, settings)
        measured += found
        coarse += too_coarse(found, trace.step, settings)
        hosts.append(configuration(trace, found, settings))
    counts = {kind: sum(1 for m in measured if m.kind == kind) for kind in event_kinds()}
    print("events: " + ", ".join(f"{count} {kind}" for kind, count in counts.items() if count), file=_report(args))
    for item in measured:
        if not item.segment.recovered:
            print(
                f"note: the {item.kind} event at {item.segment.start:g} s had not recovered when the trace ended",
                file=sys.stderr,
            )
    for note in coarse:
        print(f"note: {note}", file=sys.stderr)
    return _host(hosts) | combine(measured)


def _host(hosts: list[dict[str, Estimate]]) -> dict[str, Estimate]:
    """n and p of the measured configuration, over every trace: one n, p pooled; raise if the traces' n differ."""
    counts = sorted({round(host["n"].value) for host in hosts})
    if len(counts) > 1:
        raise ParameterError(
            "traces", f"were measured with different numbers of VMs ({', '.join(map(str, counts))}); fit them apart"
        )
    levels = [host["p"] for host in hosts]
    spread = max(abs(item.value - levels[0].value) for item in levels)
    error = max(max(item.uncertainty for item in levels), spread / 2)
    return {"n": hosts[0]["n"], "p": Estimate(sum(item.value for item in levels) / len(levels), error, "req/s")}


def _valid(estimates: dict[str, Estimate]) -> dict[str, Estimate]:
    """The estimates within their parameter's range; each one outside is reported on stderr and left out."""
    kept = {}
    for symbol, estimate in estimates.items():
        try:
            check_value(symbol, estimate.value)
        except ParameterError as err:
            print(f"note: not written: {err} (this trace cannot measure it)", file=sys.stderr)
            continue
        kept[symbol] = estimate
    return kept


def _check_inputs(args: argparse.Namespace) -> None:
    """Files or --prometheus, not both; --prometheus needs --query and --start; the live options need it."""
    if args.prometheus is None:
        for option in ("query", "start", "end", "markers_query"):
            if getattr(args, option) is not None:
                raise ParameterError(f"--{option.replace('_', '-')}", "goes with --prometheus URL")
        if not args.traces:
            raise ParameterError("fit", "name the trace files to fit, or --prometheus URL --query PROMQL --start T")
        return
    if args.traces:
        raise ParameterError("--prometheus", "fits one range query: name no trace files with it")
    for option in ("query", "start"):
        if getattr(args, option) is None:
            raise ParameterError("--prometheus", f"needs --{option}")


def _sources(args: argparse.Namespace) -> list[str]:
    """Where the fitted data came from: the files, or the server and its query."""
    if args.prometheus is None:
        return [str(path) for path in args.traces]
    return [f"{args.prometheus} query={args.query!r} step={args.step:g}s"]


def _traces(args: argparse.Namespace) -> list[Trace]:
    if args.prometheus is None:
        return [_read(path, args.markers) for path in args.traces]
    return [
        fetch_trace(
            Server(args.prometheus, args.timeout, "--prometheus"),
            args.query,
            (args.start, time.time() if args.end is None else args.end, args.step),
            markers=args.markers,
            markers_query=args.markers_query,
            kind=args.kind,
        )
    ]


def _read(path: Path, markers: Path | None) -> Trace:
    announce("fit", path)
    return read_any(path, markers)
