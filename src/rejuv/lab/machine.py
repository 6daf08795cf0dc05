"""Facts about the machine a run measured on, for the trace's metadata: rejuv's machine facts, the QEMU, the niceness."""

from __future__ import annotations

import subprocess

from rejuv import __version__
from rejuv.lab.priority import current_nice
from rejuv.lab.vm import QEMU_BINARY
from rejuv.provenance import machine

__all__ = ["machine_metadata", "qemu_version"]


def qemu_version() -> str:
    """The first line of ``qemu-system-x86_64 --version``, or ``"absent"``."""
    try:
        done = subprocess.run([QEMU_BINARY, "--version"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "absent"
    return done.stdout.splitlines()[0] if done.stdout else "unknown"


def machine_metadata() -> dict[str, str | int]:
    """The machine (:func:`rejuv.provenance.machine`: host, CPU, cores, memory, kernel, OS, Python), QEMU, rejuv,
    and ``nice``: the niceness the run's processes had (:mod:`rejuv.lab.priority`; 0 unless raised or lowered)."""
    return {**machine(), "qemu": qemu_version(), "rejuv": __version__, "nice": current_nice()}
