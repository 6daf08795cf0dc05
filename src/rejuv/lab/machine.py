"""Facts about the machine a run measured on, for the trace's metadata (as pyperf records them)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from rejuv import __version__
from rejuv.lab.vm import QEMU_BINARY

__all__ = ["machine_metadata", "qemu_version"]


def qemu_version() -> str:
    """The first line of ``qemu-system-x86_64 --version``, or ``"absent"``."""
    try:
        done = subprocess.run([QEMU_BINARY, "--version"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "absent"
    return done.stdout.splitlines()[0] if done.stdout else "unknown"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_metadata() -> dict[str, str | int]:
    """Host name, CPU, core count, kernel, QEMU version and rejuv version."""
    return {
        "host": platform.node(),
        "cpu": _cpu(),
        "cores": os.cpu_count() or 0,
        "kernel": platform.release(),
        "qemu": qemu_version(),
        "rejuv": __version__,
    }
