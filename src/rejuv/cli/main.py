"""Parser construction and dispatch; each command lives in its own module."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn

from rejuv import __version__
from rejuv.cli import compare, fit, lab, params, phase_map, plot_trace, reproduce, sweep, synth, validate
from rejuv.errors import RejuvError
from rejuv.limits import MEMORY_LIMIT_VARIABLE, parse_size
from rejuv.provenance import note, recording
from rejuv.signals import interrupt_on_sigterm

__all__ = ["main", "build_parser", "COMMANDS"]

# name -> (help, add_arguments, run); run returns the exit status.
Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
COMMANDS: dict[str, Command] = {
    "reproduce": (reproduce.HELP, reproduce.add_arguments, reproduce.run),
    "compare": (compare.HELP, compare.add_arguments, compare.run),
    "phase-map": (phase_map.HELP, phase_map.add_arguments, phase_map.run),
    "params": (params.HELP, params.add_arguments, params.run),
    "fit": (fit.HELP, fit.add_arguments, fit.run),
    "synth": (synth.HELP, synth.add_arguments, synth.run),
    "plot-trace": (plot_trace.HELP, plot_trace.add_arguments, plot_trace.run),
    "validate": (validate.HELP, validate.add_arguments, validate.run),
    "sweep": (sweep.HELP, sweep.add_arguments, sweep.run),
    "lab": (lab.HELP, lab.add_arguments, lab.run),
}

USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse, with errors in rejuv's ``error: <what>: <why>`` form."""

    def error(self, message: str) -> NoReturn:
        # argparse's "argument --tolerance: must be ..." becomes "error: --tolerance: must be ...",
        # printed first (before the usage) so that the first line says what is wrong.
        what, found, why = message.removeprefix("argument ").partition(": ")
        if not (message.startswith("argument ") and found):
            what, why = self.prog, message
        sys.stderr.write(f"error: {what}: {why}\n")
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR)


def build_parser() -> argparse.ArgumentParser:
    """The full ``rejuv`` parser with one subparser per command."""
    parser = _Parser(
        prog="rejuv",
        description="Software rejuvenation of virtualized clusters: which way of rejuvenating "
        "VMMs loses the least throughput (after K. Kourai, Warm-VM Reboot).",
    )
    parser.add_argument("--version", action="version", version=f"rejuv {__version__}")
    parser.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help=f"the most memory one input may ask for, e.g. 8G (default: ${MEMORY_LIMIT_VARIABLE}, else a quarter of RAM)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``rejuv`` with ``argv`` (default: the process arguments); return the exit status."""
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(arguments)
    except SystemExit as done:  # --help, --version and usage errors end here
        return done.code if isinstance(done.code, int) else USAGE_ERROR
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    _, _, run = COMMANDS[args.command]
    try:
        with _memory_limit(args.memory_limit), interrupt_on_sigterm(), recording(["rejuv", *arguments]):
            if isinstance(getattr(args, "seed", None), int):
                note(seed=args.seed)
            return run(args)
    except RejuvError as err:
        print(f"error: {err}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:  # the reader went away (`rejuv compare | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:  # a file named by the user that cannot be read or written
        where = err.filename if err.filename is not None else "output"
        print(f"error: {where}: {err.strerror or str(err) or type(err).__name__}", file=sys.stderr)
        return USAGE_ERROR
    except MemoryError:  # an estimate below the limit, on a machine with less free
        print("error: memory: the machine has too little free memory for this input; make it smaller", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


@contextlib.contextmanager
def _memory_limit(size: str | None) -> Iterator[None]:
    """``--memory-limit``, set in the environment for the command so that worker processes obey it too."""
    if size is None:
        yield
        return
    previous = os.environ.get(MEMORY_LIMIT_VARIABLE)
    os.environ[MEMORY_LIMIT_VARIABLE] = str(parse_size(size))
    try:
        yield
    finally:
        if previous is None:
            del os.environ[MEMORY_LIMIT_VARIABLE]
        else:
            os.environ[MEMORY_LIMIT_VARIABLE] = previous
