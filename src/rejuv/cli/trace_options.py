"""What the trace commands (fit, synth, plot-trace) share beyond option types (:mod:`rejuv.cli.option_types`)."""

from __future__ import annotations

import sys
from pathlib import Path

from rejuv.errors import ParameterError

__all__ = ["not_an_input", "announce"]

#: Input files from which reading takes more than a few seconds: CSV text parses at about 5 MB/s
#: on this busy 2-core machine (a 9 MB CSV took 1.9 s), and 20 MB of .trace holds over 10^6 samples.
LARGE_INPUT = 20 * 2**20


def not_an_input(out: Path | None, inputs: list[Path], option: str = "--out") -> None:
    """Refuse an output that is one of the inputs: writing it would destroy what was read."""
    if out is None:
        return
    for path in inputs:
        if path.exists() and out.exists() and out.resolve() == path.resolve():
            raise ParameterError(option, f"{out} is an input; writing it would destroy it, so choose another file")


def announce(command: str, path: Path) -> None:
    """Say on stderr that a large input is being read, so that a long silence is not taken for a hang."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # the reader names the problem
    if size >= LARGE_INPUT:
        print(f"{command}: reading {path} ({size / 2**20:.0f} MiB)", file=sys.stderr)
