"""``rejuv plot-trace``: a trace drawn with its detected windows shaded and labelled."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rejuv.cli.option_types import positive_duration
from rejuv.cli.options import add_figure_format
from rejuv.cli.trace_options import announce, not_an_input
from rejuv.errors import ParameterError
from rejuv.files import FIGURE_FORMATS
from rejuv.model import STRATEGIES, MigrationStrategy
from rejuv.trace.data import check_trace_memory
from rejuv.trace.events import event_kinds, measure
from rejuv.trace.moves import has_moves
from rejuv.trace.readers import read_any
from rejuv.trace.segment import Settings

MAX_VMS = 12  #: VMs drawn in the lower panel
#: Points from which drawing takes more than a few seconds (matplotlib renders about a million a second).
_SLOW_POINTS = 5e6


def migration_kinds() -> list[str]:
    """The migration strategies' keys: traces of these are drawn move by move."""
    return [key for key, item in STRATEGIES.items() if isinstance(item, MigrationStrategy)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", type=Path, metavar="TRACE", help=".trace, .csv or Prometheus .json file")
    parser.add_argument(
        "--kind",
        choices=[*event_kinds(), *migration_kinds()],
        help="the kind of event, for traces without markers; a migration kind draws the moves (the default for a trace "
        "with migration markers)",
    )
    parser.add_argument("--markers", type=Path, help="markers CSV (time,kind,subject) for a CSV trace")
    parser.add_argument(
        "--baseline",
        type=positive_duration,
        help="baseline before each event, seconds or with a unit (default: 30 s, or 5 samples at a coarser step)",
    )
    parser.add_argument("--no-segments", action="store_true", help="draw the trace only, without events or moves")
    parser.add_argument("--out", type=Path, help="figure to write (default: TRACE with .png, or the --format's suffix)")
    add_figure_format(parser, default=None, default_text="--out's suffix, else png")


def run(args: argparse.Namespace) -> int:
    out = args.out or args.trace.with_suffix(f".{args.figure_format or 'png'}")
    named = out.suffix.lstrip(".").lower()
    if args.figure_format and named in FIGURE_FORMATS and named != args.figure_format:
        raise ParameterError("--format", f"{args.figure_format}, but --out {out} names a .{named} file")
    not_an_input(out, [args.trace, *([args.markers] if args.markers else [])])
    announce("plot-trace", args.trace)
    trace = read_any(args.trace, args.markers)
    drawn = min(len(trace.vm_names), MAX_VMS)
    check_trace_memory(
        str(args.trace),
        trace.samples,
        drawn,
        f"drawing {trace.samples:,} samples of {drawn} VMs; cut the trace shorter",
        drawn=True,
    )
    if trace.samples * (drawn + 1) >= _SLOW_POINTS:
        print(f"plot-trace: drawing {trace.samples:,} samples of {drawn} VMs", file=sys.stderr)
    settings = Settings(baseline_window=args.baseline)
    # A migration's events are its per-VM moves, not a fall and recovery of the host series.
    moves = not args.no_segments and (args.kind in migration_kinds() or (args.kind is None and has_moves(trace)))
    measured = [] if args.no_segments or moves else measure(trace, args.kind, settings)
    from rejuv.report.migration_plot import plot_migration_trace  # matplotlib loads only for commands that draw
    from rejuv.report.output import write_figure
    from rejuv.report.trace_plot import plot_trace

    if moves:
        figure = plot_migration_trace(trace, MAX_VMS)
    else:
        figure = plot_trace(trace, measured, settings.baseline_seconds(trace.step), MAX_VMS)
    write_figure(figure, out, figure_format=args.figure_format)
    print(f"wrote {out}")
    return 0
