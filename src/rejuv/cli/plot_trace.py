"""``rejuv plot-trace``: a trace drawn with its detected windows shaded and labelled."""

from __future__ import annotations

import argparse
from pathlib import Path

from rejuv.trace.events import KINDS, measure
from rejuv.trace.readers import read_any
from rejuv.trace.segment import Settings

HELP = "draw a throughput trace, host and per-VM, with each event's downtime and degraded period shaded"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", type=Path, metavar="TRACE", help=".trace, .csv or Prometheus .json file")
    parser.add_argument("--kind", choices=list(KINDS), help="the kind of event, for traces without markers")
    parser.add_argument("--markers", type=Path, help="markers CSV (time,kind,subject) for a CSV trace")
    parser.add_argument(
        "--baseline", type=float, default=30.0, help="seconds of baseline before each event (default: %(default)s)"
    )
    parser.add_argument("--no-segments", action="store_true", help="draw the trace only (for migration traces, say)")
    parser.add_argument("--out", type=Path, help="PNG to write (default: TRACE with .png)")


def run(args: argparse.Namespace) -> int:
    trace = read_any(args.trace, args.markers)
    settings = Settings(baseline_window=args.baseline)
    measured = [] if args.no_segments else measure(trace, args.kind, settings)
    from rejuv.report.output import write_figure  # matplotlib loads only for commands that draw
    from rejuv.report.trace_plot import plot_trace

    out = args.out or args.trace.with_suffix(".png")
    write_figure(plot_trace(trace, measured, args.baseline), out)
    print(f"wrote {out}")
    return 0
