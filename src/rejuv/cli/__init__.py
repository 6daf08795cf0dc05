"""The ``rejuv`` command: ``rejuv <command> ...`` or ``python -m rejuv <command> ...``.

A user's mistake prints ``error: <what>: <why>`` and exits with status 2,
never a traceback.
"""

from __future__ import annotations

import sys

from rejuv.cli.main import main

__all__ = ["main", "run"]


def run() -> None:
    """Console-script entry point."""
    sys.exit(main(sys.argv[1:]))
