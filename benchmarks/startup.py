"""Start-up time of the ``rejuv`` command beside a bare interpreter.

Each run is a fresh process (``python -c pass``, ``python -m rejuv --help``,
``python -m rejuv compare --json``), run interleaved so that the machine's
load falls on each alike; medians, their ratio to ``python -c pass``, and the
target (0.4 s) are printed. Run with ``python benchmarks/startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from _harness import Timing, count, load_average, print_metadata, warn_unstable

TARGET = 0.4  #: seconds: the most a command may take to start and answer (issue 12, part 4)
SRC = Path(__file__).resolve().parents[1] / "src"
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "rejuv --help": ["-m", "rejuv", "--help"],
    "rejuv compare --json": ["-m", "rejuv", "compare", "--json"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=count, default=15, help="runs of each command (default: %(default)s)")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    print_metadata("rejuv start-up: fresh processes, interleaved", packages=("numpy",))
    timings = {label: Timing(label) for label in COMMANDS}
    for _ in range(args.runs):
        for label, command in COMMANDS.items():
            timings[label].run(
                lambda command=command: subprocess.run(
                    [sys.executable, *command], env=env, stdout=subprocess.DEVNULL, check=True
                )
            )
    base = timings["python -c pass"].median
    print(f"\n  {'command':<22} {'median':>8} {'ratio':>7}  target")
    for label, timing in timings.items():
        verdict = "" if label == "python -c pass" else ("ok" if timing.median < TARGET else f"OVER {TARGET:g} s")
        print(f"  {label:<22} {timing.median:7.3f}s {timing.median / base:6.1f}x  {verdict}")
    warn_unstable(list(timings.values()))
    print(f"  load average at the end: {load_average()} (1, 5, 15 min); {args.runs} runs each")
    return 0 if all(t.median < TARGET for label, t in timings.items() if label != "python -c pass") else 1


if __name__ == "__main__":
    sys.exit(main())
