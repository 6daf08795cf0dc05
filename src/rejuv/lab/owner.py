"""Who made a lab resource: the owning process, written into the resource's name.

A run directory is ``rejuv-lab-<pid>-<start>-<random>`` and a network
namespace ``rejuv-<pid>-<start>-<random>``, where ``<start>`` is the owner's
start time (``/proc/<pid>/stat``, clock ticks since boot). A resource is
stale once no process with that pid *and* that start time runs: a pid reused
by a newer process has another start time. Names from before the start time
was recorded (``rejuv-<pid>-<random>``) count as live while their pid runs,
whatever it runs, so that nothing in use is ever taken for garbage.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Owner", "owner_tag", "RUN_DIRECTORY_PREFIX", "NAMESPACE_PREFIX"]

RUN_DIRECTORY_PREFIX = "rejuv-lab-"
NAMESPACE_PREFIX = "rejuv-"
_PROC = Path("/proc")


def process_start(pid: int, proc: Path = _PROC) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot); None if it is gone or a zombie."""
    try:
        fields = (proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])  # fields from the 3rd: state, ..., starttime (22nd)


def owner_tag() -> str:
    """``<pid>-<start>`` of this process, for the name of a resource it makes."""
    return f"{os.getpid()}-{process_start(os.getpid())}"


@dataclass(frozen=True)
class Owner:
    """The process that made a resource; ``start`` is None for a name without a start time."""

    pid: int
    start: int | None

    @classmethod
    def from_name(cls, name: str, prefix: str) -> Owner | None:
        """The owner written in ``name`` after ``prefix``; None if the name is not a lab resource's."""
        if not name.startswith(prefix):
            return None
        parts = name[len(prefix) :].split("-")
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            return cls(int(parts[0]), int(parts[1]))
        if len(parts) == 2 and parts[0].isdigit():
            return cls(int(parts[0]), None)
        return None

    def alive(self, proc: Path = _PROC) -> bool:
        """Whether the owner still runs: same pid and, when known, same start time."""
        start = process_start(self.pid, proc)
        return start is not None and (self.start is None or start == self.start)
