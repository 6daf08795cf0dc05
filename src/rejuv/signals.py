"""SIGTERM ends work as Ctrl-C does, so that every context manager cleans up on the way out.

A ``kill`` (SIGTERM) would otherwise stop Python without unwinding: no
temporary file removed, no VM stopped. Within :func:`interrupt_on_sigterm` it
raises :class:`KeyboardInterrupt` instead; the command line wraps every
command in it, and so do the lab's benchmarks.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

__all__ = ["interrupt_on_sigterm", "cancelled_on_sigterm"]

T = TypeVar("T")


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


async def cancelled_on_sigterm(work: Coroutine[Any, Any, T]) -> T:
    """Await ``work``; a SIGTERM meanwhile cancels it at its next ``await`` and raises KeyboardInterrupt.

    Inside an event loop, :func:`interrupt_on_sigterm`'s KeyboardInterrupt can
    strike any task between two statements, a QMP client's reader among
    them, and a cleanup that then waits for that reader waits for ever.
    Here the signal only cancels ``work``: every ``finally`` and rollback runs
    with the loop and its other tasks intact (asyncio does the same for Ctrl-C).
    """
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    terminated: list[bool] = []

    def cancel() -> None:
        terminated.append(True)
        task.cancel()

    previous = signal.getsignal(signal.SIGTERM)
    loop.add_signal_handler(signal.SIGTERM, cancel)
    try:
        return await task
    except asyncio.CancelledError:
        if terminated:
            raise KeyboardInterrupt(f"signal {signal.SIGTERM}") from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous)
