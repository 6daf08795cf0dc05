"""SIGTERM inside an event loop: it cancels the work at an ``await``, so every cleanup runs, then KeyboardInterrupt."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from rejuv.signals import cancelled_on_sigterm, interrupt_on_sigterm


def test_sigterm_cancels_the_work_runs_its_cleanup_and_raises_keyboard_interrupt() -> None:
    """A SIGTERM during cancelled_on_sigterm(work): work's finally runs (and may await), then KeyboardInterrupt."""
    cleaned: list[str] = []

    async def work() -> None:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(10)
        finally:
            await asyncio.sleep(0)  # a cleanup that awaits still runs
            cleaned.append("cleaned")

    with interrupt_on_sigterm():
        outer = signal.getsignal(signal.SIGTERM)
        with pytest.raises(KeyboardInterrupt):
            asyncio.run(cancelled_on_sigterm(work()))
        assert signal.getsignal(signal.SIGTERM) is outer  # the handler around it is back
    assert cleaned == ["cleaned"]


def test_work_that_ends_by_itself_returns_its_result() -> None:
    """Without a signal, cancelled_on_sigterm(work) is work's result."""

    async def work() -> int:
        return 42

    assert asyncio.run(cancelled_on_sigterm(work())) == 42
