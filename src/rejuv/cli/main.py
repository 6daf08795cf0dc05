"""Parser construction and dispatch; each command lives in its own module."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import ModuleType
from typing import NamedTuple, NoReturn

from rejuv import __version__
from rejuv.errors import RejuvError
from rejuv.limits import MEMORY_LIMIT_VARIABLE, parse_size
from rejuv.provenance import note, recording
from rejuv.signals import interrupt_on_sigterm

__all__ = ["main", "build_parser", "COMMANDS", "EXTRAS", "command_module"]


class Command(NamedTuple):
    """One ``rejuv`` command: its one-line help and the module (``add_arguments``, ``run``) imported only when chosen."""

    help: str
    module: str


COMMANDS: dict[str, Command] = {
    "reproduce": Command(
        "reproduce the paper: degradation rates, P/(m p) at m = 2 to 100,000, crossovers, Figures 1, 2 and 7",
        "rejuv.cli.reproduce",
    ),
    "compare": Command(
        "compare the five strategies' total throughput on clusters of the given sizes", "rejuv.cli.compare"
    ),
    "phase-map": Command(
        "which strategy wins over a 2-D grid of two parameters (for example T_vmm against T_os)",
        "rejuv.cli.phase_map",
    ),
    "params": Command("show the parameters in use, with their paper symbols, units and meanings", "rejuv.cli.params"),
    "fit": Command("measure downtimes, degraded periods and degradation rates in throughput traces", "rejuv.cli.fit"),
    "synth": Command(
        "make a synthetic throughput trace of a rejuvenation or a migration, from model parameters", "rejuv.cli.synth"
    ),
    "plot-trace": Command(
        "draw a throughput trace, host and per-VM, with each event's downtime and degraded period shaded",
        "rejuv.cli.plot_trace",
    ),
    "validate": Command(
        "simulate the cluster event by event and compare its throughput loss with the closed form",
        "rejuv.cli.validate",
    ),
    "sweep": Command(
        "run simulator replications and parameter sweeps as Dask tasks; write a table (CSV or Parquet) and a figure",
        "rejuv.cli.sweep",
    ),
    "report": Command(
        "one self-contained HTML page from rejuv's results: the verdict, tables, figures, parameters, provenance",
        "rejuv.cli.report",
    ),
    "lab": Command(
        "real QEMU VMs: build the guest image (image), measure a rejuvenation or a migration into a trace (run), "
        "remove what killed runs left (clean)",
        "rejuv.cli.lab",
    ),
}

#: Commands that need an optional extra: command -> (extra, the modules it provides).
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lab": ("lab", ("qemu.qmp",)),
    "sweep": ("sweep", ("distributed",)),
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


def build_parser(chosen: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The ``rejuv`` parser with one subparser per command; the options of the ``chosen`` commands (default: all).

    A command's module is imported only when its options are added, so ``rejuv --help`` imports none.
    """
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
    wanted = set(COMMANDS if chosen is None else chosen)
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.help, description=command.help)
        if name in wanted:
            command_module(name).add_arguments(sub)
    return parser


def command_module(name: str) -> ModuleType:
    """The module of the command ``name``; raise RejuvError naming the extra to install when one is missing."""
    if name in EXTRAS:
        extra, modules = EXTRAS[name]
        if any(_absent(module) for module in modules):
            raise RejuvError(name, f"needs rejuv[{extra}]: pip install 'rejuv[{extra}]'")
    return importlib.import_module(COMMANDS[name].module)


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def _chosen(arguments: Sequence[str]) -> str | None:
    """The command named in ``arguments``: the first word that is not a global option or its value."""
    value_next = False
    for token in arguments:
        if value_next:
            value_next = False
        elif token.startswith("-"):
            value_next = len(token) > 3 and "--memory-limit".startswith(token)
        else:
            return token if token in COMMANDS else None
    return None


def _parse(arguments: Sequence[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """Parse with the chosen command's options only; an unknown option is blamed on that command."""
    chosen = _chosen(arguments)
    parser = build_parser([] if chosen is None else [chosen])
    args, extra = parser.parse_known_args(arguments)
    if args.command is not None and args.command != chosen:  # found where _chosen did not look: parse again
        parser = build_parser([args.command])
        args, extra = parser.parse_known_args(arguments)
    if extra:
        before_command = args.command is None or arguments.index(extra[0]) < arguments.index(args.command)
        culprit = parser if before_command else _subparsers(parser)[args.command]
        culprit.error(f"unrecognized arguments: {' '.join(extra)}")
    return parser, args


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``rejuv`` with ``argv`` (default: the process arguments); return the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        parser, args = _parse(arguments)
    except SystemExit as done:  # --help, --version and usage errors end here
        return done.code if isinstance(done.code, int) else USAGE_ERROR
    except RejuvError as err:  # a missing extra
        print(f"error: {err}", file=sys.stderr)
        return USAGE_ERROR
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    run: Callable[[argparse.Namespace], int] = command_module(args.command).run
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
