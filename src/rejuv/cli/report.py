"""``rejuv report``: one self-contained HTML page from rejuv's results (rejuv.report.html builds it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results",
        nargs="+",
        type=Path,
        metavar="RESULTS",
        help="result files or folders of them (reproduce, compare/validate/fit --json, fit --out, sweep, .trace)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("report.html"), help="the page to write (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    from rejuv.cli.trace_options import not_an_input
    from rejuv.report.html import write_report
    from rejuv.report.results import read_results

    not_an_input(args.out, list(args.results))
    results, skipped = read_results(args.results)
    for note in skipped:
        print(f"note: skipped {note}", file=sys.stderr)
    write_report(args.out, results, skipped)
    print(f"wrote {args.out} ({len(results)} result(s))")
    return 0
