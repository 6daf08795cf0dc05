"""Nothing left behind: undo actions for every resource a run holds, run however the run ends.

Each resource (a QEMU process, the run directory, a network namespace) is
registered in :data:`CLEANUP` when it is made and dropped from it when it is
released normally. Context managers release resources on success, failure
and Ctrl-C (``KeyboardInterrupt``, or SIGTERM turned into one by
:func:`rejuv.signals.interrupt_on_sigterm`); :func:`atexit` runs whatever is still
registered as a last resort. Only a SIGKILL of the Python process itself can
leave something behind; QEMU children then die with it (``PR_SET_PDEATHSIG``),
and the run directory and the namespace carry their owner in their names
(:mod:`rejuv.lab.owner`), so that :mod:`rejuv.lab.reclaim` can remove them.
"""

from __future__ import annotations

import atexit
import ctypes
import itertools
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rejuv.lab.owner import RUN_DIRECTORY_PREFIX, owner_tag

__all__ = [
    "Cleanup",
    "CLEANUP",
    "run_directory",
    "shared_memory_root",
    "die_with_parent",
]


class Cleanup:
    """A registry of undo actions, run last-registered first."""

    def __init__(self) -> None:
        self._actions: dict[int, tuple[str, Callable[[], None]]] = {}
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def add(self, what: str, action: Callable[[], None]) -> int:
        """Register ``action`` (which undoes ``what``); return a handle for :meth:`release`."""
        with self._lock:
            handle = next(self._counter)
            self._actions[handle] = (what, action)
        return handle

    def release(self, handle: int, run: bool = False) -> None:
        """Forget the action ``handle``, running it first if ``run``."""
        with self._lock:
            entry = self._actions.pop(handle, None)
        if run and entry is not None:
            entry[1]()

    def pending(self) -> list[str]:
        """What is still registered, oldest first."""
        with self._lock:
            return [what for what, _ in self._actions.values()]

    def run_all(self) -> list[str]:
        """Run every registered action, newest first; return what failed (and why)."""
        failed: list[str] = []
        while True:
            with self._lock:
                if not self._actions:
                    return failed
                handle = max(self._actions)
                what, action = self._actions.pop(handle)
            try:
                action()
            except Exception as err:  # a cleanup must go on with the rest
                failed.append(f"{what}: {err}")


#: The process-wide registry; :func:`atexit` runs it.
CLEANUP = Cleanup()
atexit.register(CLEANUP.run_all)


def shared_memory_root() -> Path:
    """Where run directories go: ``/dev/shm`` (tmpfs, so guest memory files are RAM), else the temporary folder."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


@contextmanager
def run_directory() -> Iterator[Path]:
    """A private (mode 0700) directory ``rejuv-lab-<pid>-<start>-*`` on tmpfs for sockets, state and memory files.

    It is removed when the block ends, or at exit; after a SIGKILL its name
    says whose it was (:class:`~rejuv.lab.owner.Owner`).
    """
    path = Path(tempfile.mkdtemp(prefix=f"{RUN_DIRECTORY_PREFIX}{owner_tag()}-", dir=shared_memory_root()))
    path.chmod(0o700)
    handle = CLEANUP.add(f"run directory {path}", lambda: shutil.rmtree(path, ignore_errors=True))
    try:
        yield path
    finally:
        CLEANUP.release(handle, run=True)


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child before exec: ask the kernel to SIGKILL it when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
