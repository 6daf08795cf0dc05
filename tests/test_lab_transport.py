"""The real transport's own failures, with stand-in processes instead of QEMU (no root, no QEMU)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from rejuv.lab import transport
from rejuv.lab.cleanup import CLEANUP
from rejuv.lab.errors import QEMUDiedError, VMError
from rejuv.lab.guest import READY_LINE
from rejuv.lab.transport import ProcessTransport, ready_token


def _transport(tmp_path: Path) -> ProcessTransport:
    return ProcessTransport("vm0", tmp_path / "vm0.log", tmp_path / "vm0.err")


def test_a_qemu_that_exits_at_start_is_reported_with_its_last_error_line(tmp_path: Path) -> None:
    """A process that ends before QMP connects raises QEMUDiedError quoting its exit status and last stderr line."""
    qemu = _transport(tmp_path)
    argv = ["sh", "-c", "echo starting >&2; echo 'could not open tap0' >&2; exit 3"]
    with pytest.raises(QEMUDiedError, match=r"^vm0: start: QEMU exited \(status 3\): could not open tap0$"):
        asyncio.run(qemu.start("vm0: start", argv, tmp_path / "vm0-1.qmp"))
    asyncio.run(qemu.stop())
    assert qemu.pid is None and not any("vm0" in what for what in CLEANUP.pending())


def test_a_qemu_without_a_qmp_socket_times_out_and_stop_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No QMP socket within the connect timeout: VMError; the process lives until stop kills it and unregisters it."""
    monkeypatch.setattr(transport, "CONNECT_TIMEOUT", 0.2)
    qemu = _transport(tmp_path)
    socket = tmp_path / "vm0-1.qmp"
    with pytest.raises(VMError, match="no QMP socket at"):
        asyncio.run(qemu.start("vm0: start", [sys.executable, "-c", "import time; time.sleep(30)"], socket))
    assert qemu.pid is not None and any("vm0" in what for what in CLEANUP.pending())
    asyncio.run(qemu.stop())
    assert qemu.pid is None and not any("vm0" in what for what in CLEANUP.pending())
    assert asyncio.run(qemu.wait_exit(0.0))


def test_the_ready_token_is_read_from_the_guests_ready_line() -> None:
    """Only a line starting with the ready marker gives the token; other lines, and a marker without one, do not."""
    assert ready_token(f"booting\n{READY_LINE} token=4f2a uptime=3.1\n") == "4f2a"
    assert ready_token(f"echo {READY_LINE} token=4f2a\n{READY_LINE} uptime=3.1\n") is None
