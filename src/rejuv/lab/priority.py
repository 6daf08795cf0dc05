"""The lab's CPU priority: one niceness for the whole run, set before anything starts.

A lab run measures throughput and downtime on a machine that other jobs may
share. Under Linux's CFS a runnable task gets CPU in proportion to its weight,
and each step of niceness changes the weight by about 1.25x: nice -10 weighs
about 9.3x a nice-0 task (9548 against 1024). Lowering the niceness of the
process that runs the lab, before it starts QEMU and the load client, gives
every process of the run (all inherit it) that weight against other jobs;
it changes nothing between the run's own processes, which all share it, so the
measured shares of the VMs, the migration and the client stay as they were.
Only root may lower a niceness (``CAP_SYS_NICE``); anyone may raise it.
Linux keeps a niceness per thread, and new threads and processes take their
creator's: set it in the main thread before the run starts threads or children.
"""

from __future__ import annotations

import os

from rejuv.lab.errors import LabError

__all__ = ["NICE_RANGE", "check_nice", "current_nice", "set_nice"]

NICE_RANGE = range(-20, 20)  #: Linux's nicenesses: -20 (most CPU) to 19 (least)


def current_nice() -> int:
    """This process's niceness (its children's too, unless they changed it)."""
    return os.getpriority(os.PRIO_PROCESS, 0)


def check_nice(nice: int, what: str = "nice") -> int:
    """``nice``, if it is a niceness (-20 to 19); else :class:`LabError` naming ``what``. Changes nothing."""
    if nice not in NICE_RANGE:
        raise LabError(what, f"must be a niceness from -20 to 19, got {nice}")
    return nice


def set_nice(nice: int, what: str = "nice") -> None:
    """Set this process's niceness to ``nice``; the processes it starts afterwards inherit it.

    ``what`` names the option in errors. Raises :class:`LabError` for a niceness
    outside -20..19, or one below the current without the right to lower it.
    """
    check_nice(nice, what)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except PermissionError:
        raise LabError(
            what, f"cannot set niceness {nice} (now {current_nice()}): lowering it needs root (CAP_SYS_NICE)"
        ) from None
