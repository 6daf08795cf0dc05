"""The paper's Figure 7: P / (m p) against the number of hosts m, with the crossovers marked.

Writes figure7.png, figure7.csv (the five curves on a fixed grid of m) and
figure7-crossovers.json (where each strategy overtakes another, and each
curve's limit) to --out (default: this folder). Deterministic: no random input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rejuv.model import load_preset
from rejuv.report import write_figure7

PRESET = "kourai2008"  #: the paper's Section 4 parameters
HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    for path in write_figure7(load_preset(PRESET), args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
