"""The seam between a VM's state machine and its QEMU processes: :class:`Transport`.

A transport runs one VM's QEMU processes, one at a time: it starts one from a
command line and connects to its QMP socket, executes QMP commands, waits for
it to exit or for the guest's ready line on the serial console, and kills it.
The state machine (:mod:`rejuv.lab.vm`) only talks to a transport, so the
tests hand it a fake one that scripts QEMU's replies and injects failures
(a QMP error, a process that dies, a timeout) at any step, with no root and
no QEMU. :class:`ProcessTransport` is the real one: :mod:`subprocess` and the
``qemu.qmp`` client.

Every method that can fail takes ``what`` (``"vm0: suspend"``) to name the
error: :class:`QEMUDiedError` if the process has ended, :class:`VMError` for
anything else.

A transport also records the QMP events of its process (``STOP``,
``RESUME``, ...) with QEMU's own timestamps, so that a guest's pause is
measured by QEMU: from the old process's ``STOP`` to the new one's ``RESUME``.
A ``cpr-transfer`` needs the new process started before its QMP socket
exists (it opens it only once it has the old one's CPR state):
:meth:`Transport.spawn`, :meth:`Transport.wait_socket`, then :meth:`Transport.connect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from qemu.qmp import EventListener, Message, QMPClient, QMPError

from rejuv.lab.cleanup import CLEANUP, die_with_parent
from rejuv.lab.errors import QEMUDiedError, VMError
from rejuv.lab.guest import READY_LINE

__all__ = ["Transport", "ProcessTransport", "Event", "ready_token", "CONNECT_TIMEOUT"]

#: A QMP event: its name and QEMU's timestamp of it (s since the epoch).
Event = tuple[str, float]

CONNECT_TIMEOUT = 20.0  #: seconds for a new QEMU to open its QMP socket


class Transport(Protocol):
    """One VM's QEMU process (at most one at a time), its QMP session and its serial console."""

    @property
    def pid(self) -> int | None:
        """The running QEMU's process id; None if none runs."""

    async def start(self, what: str, argv: Sequence[str], qmp_socket: Path) -> None:
        """Start ``argv`` and connect to its QMP socket; after a failure, :meth:`stop` ends what was started."""

    async def spawn(self, what: str, argv: Sequence[str], qmp_socket: Path) -> None:
        """Start ``argv`` without connecting (see :meth:`connect`); after a failure, :meth:`stop` ends it."""

    async def wait_socket(self, what: str, path: Path, timeout: float) -> None:
        """Wait until the process has made the socket ``path``; VMError after ``timeout`` s."""

    async def connect(self, what: str) -> None:
        """Connect to the QMP socket of the process :meth:`spawn` started."""

    def events(self) -> list[Event]:
        """The QMP events of the current process so far, oldest first."""

    async def execute(self, what: str, command: str, arguments: Mapping[str, object] | None = None) -> object:
        """Run one QMP command and return its result."""

    async def wait_exit(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the process to exit; whether it did."""

    def console_offset(self) -> int:
        """Where the serial console log ends now (for :meth:`wait_ready`)."""

    async def wait_ready(self, what: str, since: int, timeout: float) -> str | None:
        """The token of the guest's ready line after ``since``; None if none within ``timeout`` s."""

    def kill(self) -> None:
        """SIGKILL the process now, as a crash would (fault injection)."""

    async def stop(self) -> None:
        """Kill the process if it runs, close QMP, drop its socket (idempotent)."""


def ready_token(console: str) -> str | None:
    """The boot token of the first ready line in ``console`` text, if any."""
    for line in console.splitlines():
        if line.startswith(READY_LINE) and "token=" in line:
            return line.split("token=", 1)[1].split()[0]
    return None


class ProcessTransport:
    """QEMU as a child process (dies with us: ``PR_SET_PDEATHSIG``), driven with ``qemu.qmp``.

    ``serial_log`` is the console file the command line writes to; QEMU's
    standard error is appended to ``error_log`` and quoted when it dies.
    """

    def __init__(self, name: str, serial_log: Path, error_log: Path) -> None:
        self.name = name
        self.serial_log = serial_log
        self.error_log = error_log
        self._process: subprocess.Popen[bytes] | None = None
        self._handle: int | None = None
        self._qmp: QMPClient | None = None
        self._socket: Path | None = None
        self._events: list[Event] = []
        self._listener: EventListener | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    async def start(self, what: str, argv: Sequence[str], qmp_socket: Path) -> None:
        await self.spawn(what, argv, qmp_socket)
        await self.connect(what)

    async def spawn(self, what: str, argv: Sequence[str], qmp_socket: Path) -> None:
        with self.error_log.open("ab") as errors:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors, preexec_fn=die_with_parent
            )
        process, self._socket, self._events = self._process, qmp_socket, []
        self._handle = CLEANUP.add(f"QEMU of {self.name} (pid {process.pid})", lambda: _kill(process))

    async def wait_socket(self, what: str, path: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            self._check_alive(what)
            if time.monotonic() > deadline:
                raise VMError(what, f"QEMU made no socket at {path} within {timeout:g} s")
            await asyncio.sleep(0.005)

    async def connect(self, what: str) -> None:
        assert self._socket is not None
        self._qmp = QMPClient(self.name)
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            self._check_alive(what)
            try:
                await self._qmp.connect(str(self._socket))
                break
            except (QMPError, OSError) as err:
                if time.monotonic() > deadline:
                    raise VMError(what, f"no QMP socket at {self._socket}: {err}") from err
                await asyncio.sleep(0.005)
        self._listener = EventListener()  # registered at once: no event is missed
        self._qmp.register_listener(self._listener)

    def events(self) -> list[Event]:
        if self._listener is not None:  # every event arrived so far, read in the same step (no task to lag)
            self._events += [_event(message) for message in self._listener.clear()]
        return list(self._events)

    def _stderr_tail(self) -> str:
        text = self.error_log.read_text(errors="replace").strip() if self.error_log.exists() else ""
        return text.splitlines()[-1] if text else "no message"

    def _check_alive(self, what: str) -> None:
        if self._process is None or self._process.poll() is not None:
            code = None if self._process is None else self._process.returncode
            raise QEMUDiedError(what, f"QEMU exited (status {code}): {self._stderr_tail()}")

    async def execute(self, what: str, command: str, arguments: Mapping[str, object] | None = None) -> object:
        self._check_alive(what)
        assert self._qmp is not None
        try:
            return await self._qmp.execute(command, arguments)
        except (QMPError, OSError, EOFError) as err:
            await asyncio.sleep(0.05)  # let a dying QEMU finish dying, to tell the two apart
            self._check_alive(what)
            raise VMError(what, f"QMP {command} failed: {err}") from err

    async def wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._process is not None and self._process.poll() is None:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def console_offset(self) -> int:
        return self.serial_log.stat().st_size if self.serial_log.exists() else 0

    async def wait_ready(self, what: str, since: int, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive(what)
            text = self.serial_log.read_bytes()[since:].decode(errors="replace") if self.serial_log.exists() else ""
            token = ready_token(text)
            if token is not None:
                return token
            if "REJUV-GUEST-ERROR" in text:
                raise VMError(what, f"the guest reported: {text.strip().splitlines()[-1]}")
            await asyncio.sleep(0.05)
        return None

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGKILL)

    async def stop(self) -> None:
        self.events()  # kept until the next process starts
        client, self._qmp, self._listener = self._qmp, None, None
        if client is not None:
            with contextlib.suppress(QMPError, OSError, EOFError):  # the other side is gone: closed all the same
                await client.disconnect()
        if self._process is not None:
            _kill(self._process)
        if self._handle is not None:
            CLEANUP.release(self._handle)
            self._handle = None
        if self._socket is not None:
            self._socket.unlink(missing_ok=True)


def _event(message: Message) -> Event:
    """A QMP event message as (name, QEMU's timestamp in s since the epoch)."""
    stamp = message.get("timestamp")
    seconds, micro = (stamp.get("seconds"), stamp.get("microseconds")) if isinstance(stamp, dict) else (None, None)
    when = seconds + micro / 1e6 if isinstance(seconds, int) and isinstance(micro, int) else time.time()
    return str(message.get("event")), when


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):  # unkillable (D state): the kernel reaps it with us
        process.wait(timeout=10)
