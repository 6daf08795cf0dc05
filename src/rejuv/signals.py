"""SIGTERM ends work as Ctrl-C does, so that every context manager cleans up on the way out.

A ``kill`` (SIGTERM) would otherwise stop Python without unwinding: no
temporary file removed, no VM stopped. Within :func:`interrupt_on_sigterm` it
raises :class:`KeyboardInterrupt` instead; the command line wraps every
command in it, and so do the lab's benchmarks.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["interrupt_on_sigterm"]


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt (like Ctrl-C) within the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
