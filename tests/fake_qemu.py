"""A fake QEMU at the transport seam: the VM state machine's steps and rollbacks, without root or QEMU.

:class:`FakeQEMU` implements :class:`rejuv.lab.transport.Transport` with a
few lines of QEMU's behaviour: run states (``running``, ``paused``,
``inmigrate``, ``postmigrate``), migration to an ``exec:cat`` file or to
another fake listening on a ``tcp:`` URI, the ``cpr-reboot`` mode (a
``file:`` URI; QEMU stops the guest itself and continues it on arrival), a
``cpr-transfer`` to another fake waiting on its CPR socket (the memory file
handed over, the guest continued by the destination), the QMP events
``STOP`` and ``RESUME``, and a guest whose boot token lives in the memory
file, so that a test sees whether the guest's memory survived a step.
:meth:`FakeQEMU.fail` injects a failure at any step: at a QMP command, at
``start``, ``socket`` (the CPR socket), ``connect``, ``ready`` (the guest's
ready line) or ``exit``.
"""

from __future__ import annotations

import itertools
import json
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rejuv.lab.errors import QEMUDiedError, VMError
from rejuv.lab.guest import READY_LINE
from rejuv.lab.image import GuestImage
from rejuv.lab.transport import Event, ready_token

_PIDS = itertools.count(4000)
_FINISHED = ("completed", "failed", "cancelled")


@dataclass
class _Fault:
    how: str
    times: int | None  #: None: every time


@dataclass
class FakeHost:
    """A host without a namespace: addresses as :class:`rejuv.lab.host.Host` gives them, argv unchanged."""

    gateway: str = "10.0.2.1"

    def address(self, index: int) -> str:
        return f"10.0.2.{10 + index}"

    def mac(self, index: int) -> str:
        return f"52:54:00:2a:00:{index:02x}"

    def tap(self, index: int, spare: bool = False) -> str:
        return f"tap{index}{'s' if spare else ''}"

    def exec_argv(self, argv: list[str]) -> list[str]:
        return argv

    async def http_get(self, url: str, timeout: float = 5.0) -> str:
        raise AssertionError("the fake host has no network")


def fake_image(folder: Path) -> GuestImage:
    """A guest image whose files exist only by name."""
    return GuestImage(
        folder, folder / "vmlinuz", folder / "initrd.gz", folder / "disk.img", "6.1-fake", 20, 128, "fake"
    )


class FakeQEMU:
    """A scripted QEMU, one process at a time; ``network`` is shared by the fakes that migrate to each other."""

    def __init__(
        self, name: str = "vm0", network: dict[str, FakeQEMU] | None = None, journal: list[str] | None = None
    ) -> None:
        self.name = name
        self.network = network if network is not None else {}
        self.journal = journal if journal is not None else []  #: "<name> start", "<name> <command>", shared by fakes
        self.argvs: list[list[str]] = []  #: every command line started
        self.commands: list[str] = []  #: every QMP command executed, in order
        self.console: list[str] = []  #: the serial console, one line per entry
        self.token: str | None = None  #: the guest in this QEMU's RAM
        self.run_status = "none"
        self.migration: str | None = None
        self._pid: int | None = None
        self._faults: dict[str, _Fault] = {}
        self._before: dict[str, Callable[[], None]] = {}
        self._capabilities: dict[str, bool] = {}
        self._memory: Path | None = None
        self._target: tuple[str, str] | None = None  #: where a started migration goes: ("file"|"tcp", where)
        self._boots = itertools.count(1)
        self._hung = False
        self._connected = False
        self._mode = "normal"
        self._events: list[Event] = []
        self._cpr_socket: Path | None = None  #: where this fake waits for a cpr-transfer
        self._connectable = True  #: False while a cpr-transfer destination waits for its CPR state (no QMP yet)
        self._autostart = False  #: whether the guest ran when the outgoing migration began
        #: ``ram`` figures an outgoing migration reports while active, one per ``query-migrate``, before it completes
        self.progress: list[dict[str, object]] = []
        self.parameters: list[dict[str, object]] = []  #: every ``migrate-set-parameters``' arguments, in order

    # -- scripting ------------------------------------------------------------------------------
    def fail(self, where: str, how: str, times: int | None = 1) -> None:
        """Make ``where`` fail ``times`` times (None: always); ``how``, by ``where``:

        - a QMP command: ``error`` (QEMU answers with an error) or ``die`` (QEMU ends instead);
          ``query-migrate`` also ``failed`` or ``cancelled`` (the migration's status);
        - ``start``: ``die``, or ``timeout`` (no QMP socket);
        - ``socket``: ``die`` or ``timeout`` (a cpr-transfer destination makes no CPR socket);
        - ``connect``: ``die`` or ``timeout`` (no QMP socket after :meth:`spawn`);
        - ``ready``: ``die``, ``error`` (the guest reports one) or ``timeout`` (no ready line);
        - ``exit``: ``timeout`` (the guest ignores ``system_powerdown``);
        - ``migrate-progress``: ``hang`` (the next migration never ends until cancelled).
        """
        self._faults[where] = _Fault(how, times)

    def before(self, where: str, action: Callable[[], None]) -> None:
        """Run ``action`` once, just before ``where`` (a QMP command, ``start`` or ``ready``)."""
        self._before[where] = action

    def _reach(self, where: str) -> None:
        action = self._before.pop(where, None)
        if action is not None:
            action()

    def _fault(self, where: str) -> str | None:
        fault = self._faults.get(where)
        if fault is None:
            return None
        if fault.times is not None:
            fault.times -= 1
            if fault.times == 0:
                del self._faults[where]
        return fault.how

    def _died(self, what: str) -> QEMUDiedError:
        return QEMUDiedError(what, "QEMU exited (status -9): fake")

    def _boot_guest(self) -> None:
        self.token = f"{self.name}-boot{next(self._boots)}"
        if self._memory is not None:
            self._memory.write_text(self.token)
        self.console.append(f"{READY_LINE} token={self.token} uptime=1.0")

    # -- Transport --------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._pid

    async def start(self, what: str, argv: Sequence[str], qmp_socket: Path) -> None:
        await self.spawn(what, argv, qmp_socket)
        await self.connect(what)

    async def spawn(self, what: str, argv: Sequence[str], qmp_socket: Path) -> None:
        assert self._pid is None, "a second QEMU started while one runs"
        self._reach("start")
        self.journal.append(f"{self.name} start")
        self.argvs.append(list(argv))
        self._pid, self.token, self.migration, self._target, self._capabilities = next(_PIDS), None, None, None, {}
        self._hung, self._connected, self._mode, self._events = False, False, "normal", []
        self._connectable = True
        memory = next(a for a in argv if a.startswith("memory-backend-file"))
        self._memory = Path(dict(kv.split("=", 1) for kv in memory.split(",")[1:])["mem-path"])
        self._memory.touch()  # share=on: QEMU opens the file, or creates it
        fault = self._fault("start")
        if fault == "die":
            self.kill()
            raise self._died(what)
        if fault == "timeout":
            raise VMError(what, f"no QMP socket at {qmp_socket}: fake timeout")
        channels = [json.loads(a) for a in argv if a.startswith('{"channel-type":"cpr"')]
        if channels:  # a cpr-transfer destination: waits on its CPR socket
            self._cpr_socket = Path(channels[0]["addr"]["path"])
            self._cpr_socket.touch()
            self.network[str(self._cpr_socket)] = self
            self.run_status, self._connectable = "inmigrate", False
        elif "-incoming" in argv:
            self.run_status = "inmigrate"
        else:
            self.run_status = "running"
            self._boot_guest()

    async def wait_socket(self, what: str, path: Path, timeout: float) -> None:
        self._reach("socket")
        fault = self._fault("socket")
        if fault == "die":
            self.kill()
        if self._pid is None:
            raise self._died(what)
        if fault == "timeout" or not path.exists():
            raise VMError(what, f"QEMU made no socket at {path} within {timeout:g} s")

    async def connect(self, what: str) -> None:
        self._reach("connect")
        fault = self._fault("connect")
        if fault == "die":
            self.kill()
        if self._pid is None:
            raise self._died(what)
        if fault == "timeout":
            raise VMError(what, "no QMP socket: fake timeout")
        assert self._connectable, "QMP connect to a cpr-transfer destination before its CPR state came"
        self._connected = True

    def events(self) -> list[Event]:
        return list(self._events)

    def _event(self, name: str) -> None:
        self._events.append((name, time.time()))

    def _set_run_status(self, status: str) -> None:
        if status == "running" and self.run_status != "running":
            self._event("RESUME")
        elif status != "running" and self.run_status == "running":
            self._event("STOP")
        self.run_status = status

    async def execute(self, what: str, command: str, arguments: Mapping[str, object] | None = None) -> object:
        self.commands.append(command)
        self.journal.append(f"{self.name} {command}")
        self._reach(command)
        if self._pid is None:
            raise self._died(what)
        assert self._connected, f"QMP {command} before connecting"
        fault = self._fault(command)
        if fault == "die":
            self.kill()
            raise self._died(what)
        if fault == "error":
            raise VMError(what, f"QMP {command} failed: injected")
        if command == "query-migrate":
            return self._query_migrate(fault)
        return self._run(command, dict(arguments or {}))

    def _run(self, command: str, arguments: dict[str, object]) -> object:
        if command == "migrate-set-capabilities":
            capabilities = arguments["capabilities"]
            assert isinstance(capabilities, list)
            self._capabilities.update({entry["capability"]: entry["state"] for entry in capabilities})
        elif command == "migrate-set-parameters":
            self.parameters.append(arguments)
            self._mode = str(arguments.get("mode", self._mode))
        elif command == "stop":
            self._set_run_status("paused")
        elif command == "cont" and self.run_status != "inmigrate":  # in QEMU, cont during inmigrate only sets autostart
            self._set_run_status("running")
        elif command == "system_reset":
            self._boot_guest()
        elif command in ("quit", "system_powerdown"):
            if command == "quit" or self._fault("exit") != "timeout":  # a guest may ignore the power button
                self._exit()
        elif command == "migrate" and "channels" in arguments:
            self._transfer(arguments["channels"])
        elif command == "migrate":
            kind, _, where = str(arguments["uri"]).partition(":")
            if kind == "exec":
                self._target = ("file", shlex.split(where)[-1])
            else:
                self._target = ("file", where) if kind == "file" else (kind, str(arguments["uri"]))
            if kind in ("exec", "file"):
                Path(self._target[1]).write_text("")  # the shell's redirection, or QEMU, creates the file at once
            self._autostart = self.run_status == "running"
            if self._mode == "cpr-reboot":
                self._set_run_status("paused")  # CPR stops the guest itself
            self.migration = "active"
            self._hung = self._fault("migrate-progress") == "hang"
        elif command == "migrate_cancel" and self.migration not in (None, *_FINISHED):
            self.migration = "cancelling"  # cancelled when next asked
        elif command == "migrate-incoming":
            self._incoming(str(arguments["uri"]))
        elif command == "query-status":
            return {"status": self.run_status, "running": self.run_status == "running"}
        return {}

    def _transfer(self, channels: object) -> None:
        """The source's side of a cpr-transfer: connect to the destination's CPR socket, or fail as QEMU does."""
        assert self._mode == "cpr-transfer" and isinstance(channels, list)
        cpr = next(c["addr"]["path"] for c in channels if c["channel-type"] == "cpr")
        destination = self.network.get(cpr)
        if not Path(cpr).exists() or destination is None or destination.pid is None:
            self.migration = "failed"
            raise VMError("migrate", f"Failed to connect to '{cpr}': No such file or directory")
        self._target, self.migration = ("cpr", cpr), "active"
        self._autostart = self.run_status == "running"
        destination._connectable = True
        self._hung = self._fault("migrate-progress") == "hang"

    def _incoming(self, uri: str) -> None:
        if uri.startswith("tcp:"):
            self.network[uri] = self
            return
        saved = Path(shlex.split(uri.partition(":")[2])[-1]).read_text().split()
        shared = self._capabilities.get("x-ignore-shared", False)
        assert self._memory is not None
        self.token = self._memory.read_text() if shared else saved[0]  # RAM: the shared file, or the saved state
        autostart = self._mode == "cpr-reboot" and saved[2:] == ["autostart"]
        self.migration = "completed"
        self._set_run_status("running" if autostart else "paused")

    def _query_migrate(self, fault: str | None) -> dict[str, object]:
        if fault in ("failed", "cancelled"):
            self.migration = fault
            return {"status": fault, "error-desc": "injected"}
        if self.migration == "cancelling":
            self.migration = "cancelled"
        if self.migration != "active" or self._hung:
            return {"status": self.migration} if self.migration is not None else {}
        if self.progress:
            return {"status": "active", "ram": self.progress.pop(0)}
        assert self._target is not None
        kind, where = self._target
        if kind == "file":
            shared = self._capabilities.get("x-ignore-shared", False)
            autostart = " autostart" if self._autostart else ""
            Path(where).write_text(f"{self.token} {'devices' if shared else 'devices+ram'}{autostart}")
        elif kind == "cpr":
            destination = self.network.get(where)
            if destination is None or destination.pid is None:
                self.migration = "failed"
                return {"status": "failed", "error-desc": "fake: the new QEMU is gone"}
            self._set_run_status("postmigrate")
            assert destination._memory is not None
            destination.token = destination._memory.read_text()  # the RAM itself, passed as a file descriptor
            destination.migration = "completed"
            destination._set_run_status("running" if self._autostart else "paused")
        else:
            destination = self.network.get(where)
            if destination is None or destination.pid is None:
                self.migration = "failed"
                return {"status": "failed", "error-desc": "fake: the destination is gone"}
            shared = self._capabilities.get("x-ignore-shared", False)  # RAM not sent: the destination has none
            destination.token = self.token if not shared else None
            destination.migration = "completed"
            destination.run_status = "running" if self.run_status == "running" else "paused"
            self.run_status = "postmigrate"
        self.migration = "completed"
        return {"status": "completed"}

    def _exit(self) -> None:
        self._pid, self.run_status = None, "shutdown"

    async def wait_exit(self, timeout: float) -> bool:
        return self._pid is None

    def console_offset(self) -> int:
        return len(self.console)

    async def wait_ready(self, what: str, since: int, timeout: float) -> str | None:
        self._reach("ready")
        fault = self._fault("ready")
        if fault == "die":
            self.kill()
        if self._pid is None:
            raise self._died(what)
        if fault == "error":
            raise VMError(what, "the guest reported: REJUV-GUEST-ERROR fake")
        return None if fault == "timeout" else ready_token("\n".join(self.console[since:]))

    def kill(self) -> None:
        self._pid, self.run_status, self._connected = None, "killed", False
        if self._cpr_socket is not None:
            self._cpr_socket.unlink(missing_ok=True)
            self._cpr_socket = None
        for uri in [uri for uri, fake in self.network.items() if fake is self]:
            del self.network[uri]

    async def stop(self) -> None:
        if self._pid is not None:
            self.kill()
