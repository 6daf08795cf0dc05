"""``python -m rejuv``: the same as the ``rejuv`` command."""

from rejuv.cli import run

run()
