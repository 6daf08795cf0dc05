"""A VM's state machine: one QEMU process at a time, reached through a transport, with explicit states.

::

    CREATED --boot--> BOOTING --> RUNNING --suspend--> SUSPENDED --resume--> RUNNING
                                  RUNNING --shutdown--> STOPPED --boot--> ...
                                  RUNNING --reset--> BOOTING --> RUNNING
                                  RUNNING --migrate--> MIGRATING --> STOPPED  (the guest runs on the destination)
    CREATED, STOPPED, FAILED --receive--> INCOMING (a migration's destination) --> RUNNING
    any step that fails ---------------------------------------> FAILED (or back, see below)

The VM knows nothing about processes: it builds the command line
(:func:`~rejuv.lab.cmdline.qemu_argv`) and hands it to its
:class:`~rejuv.lab.transport.Transport`, the real one by default, a fake in tests.

Guest RAM lives in a shared memory file (``memory-backend-file``,
``share=on``) in the run directory, so it outlives the QEMU process. An
on-memory suspend (:meth:`VM.suspend`) saves only the device state, with the
``x-ignore-shared`` capability, and quits QEMU; :meth:`VM.resume` starts a new
QEMU on the same memory file with ``-incoming defer``, loads the device state
and continues. ``save_ram=True`` gives the classic save-to-file suspend: RAM
goes into the state file and the memory file is discarded.

Every step rolls back on failure: a suspend whose QEMU still lives continues
the guest (RUNNING again), and one whose state was saved but whose QEMU would
not quit kills it (SUSPENDED); a resume that fails kills the new QEMU and
returns to SUSPENDED with the memory and state files intact, ready for another
try; a failed migration is cancelled, the destination's QEMU killed, and the
guest goes on running here; a QEMU that died leaves the VM FAILED, its memory
file kept, and :attr:`VM.recoverable` says whether a resume can still bring it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rejuv.lab.cmdline import QEMU_BINARY, NetworkIdentity, VMConfig, VMPaths, qemu_argv
from rejuv.lab.errors import QEMUDiedError, VMError
from rejuv.lab.guest import STATUS_PATH
from rejuv.lab.image import GuestImage
from rejuv.lab.transport import ProcessTransport, Transport

__all__ = ["VMState", "VMConfig", "VM", "VMHost", "GuestStatus", "FaultHook", "QEMU_BINARY"]


class VMState(enum.Enum):
    """Where a VM is in its life."""

    CREATED = "created"
    BOOTING = "booting"
    RUNNING = "running"
    SUSPENDED = "suspended"
    STOPPED = "stopped"
    FAILED = "failed"
    INCOMING = "incoming"  #: a migration's destination, waiting for the guest
    MIGRATING = "migrating"  #: its guest is moving to another VM


@dataclass(frozen=True)
class GuestStatus:
    """What the guest's status endpoint says: its boot token and uptime (s)."""

    token: str
    uptime: float


class VMHost(Protocol):
    """What a VM needs of its host (:class:`~rejuv.lab.host.Host` is one): addresses, devices, a way in."""

    gateway: str

    def address(self, index: int) -> str: ...

    def mac(self, index: int) -> str: ...

    def tap(self, index: int) -> str: ...

    def exec_argv(self, argv: list[str]) -> list[str]: ...

    async def http_get(self, url: str, timeout: float = 5.0) -> str: ...


#: A fault to inject at a named stage of a step: called with the VM and the stage.
FaultHook = Callable[["VM", str], None]


class VM:
    """VM ``index`` of ``host``, booted from ``image``, its files in ``run_dir``; QEMU through ``transport``."""

    def __init__(
        self,
        index: int,
        host: VMHost,
        image: GuestImage,
        run_dir: Path,
        config: VMConfig,
        transport: Transport | None = None,
    ) -> None:
        self.index = index
        self.name = f"vm{index}"
        self.host = host
        self.image = image
        self.config = config
        self.memory_file = run_dir / f"{self.name}.mem"
        self.state_file = run_dir / f"{self.name}.state"
        self.serial_log = run_dir / f"{self.name}.log"
        self.transport: Transport = (
            transport
            if transport is not None
            else ProcessTransport(self.name, self.serial_log, run_dir / f"{self.name}.err")
        )
        self._run_dir = run_dir
        self._state = VMState.CREATED
        self._generation = 0
        self._ram_in_state = False
        self.boot_token: str | None = None  #: the token the guest printed when it last booted
        self.fault: FaultHook | None = None  #: for tests: a fault to inject at each stage
        self.anomalies: list[str] = []  #: what went wrong but was absorbed, for reports

    # -- state --------------------------------------------------------------------------------
    @property
    def state(self) -> VMState:
        return self._state

    @property
    def address(self) -> str:
        return self.host.address(self.index)

    @property
    def pid(self) -> int | None:
        """The running QEMU's process id, if any."""
        return self.transport.pid

    @property
    def recoverable(self) -> bool:
        """Whether a resume can bring the guest back: its memory file and a complete device state exist."""
        return self.memory_file.exists() and self.state_file.exists()

    def _require(self, step: str, *states: VMState) -> None:
        if self._state not in states:
            allowed = ", ".join(s.value for s in states)
            raise VMError(f"{self.name}: {step}", f"needs state {allowed}, is {self._state.value}")

    def _inject(self, stage: str) -> None:
        if self.fault is not None:
            self.fault(self, stage)

    # -- QEMU, through the transport ----------------------------------------------------------
    def argv(self, incoming: bool) -> list[str]:
        """The command line of this VM's next QEMU, run inside its host."""
        socket = self._run_dir / f"{self.name}-{self._generation}.qmp"
        paths = VMPaths(self.memory_file, self.serial_log, socket)
        index = self.index
        network = NetworkIdentity(self.address, self.host.gateway, self.host.tap(index), self.host.mac(index))
        return self.host.exec_argv(qemu_argv(self.name, self.config, self.image, paths, network, incoming))

    async def _launch(self, incoming: bool) -> None:
        self._generation += 1
        socket = self._run_dir / f"{self.name}-{self._generation}.qmp"
        await self.transport.start(f"{self.name}: start", self.argv(incoming), socket)

    async def _execute(self, step: str, command: str, arguments: Mapping[str, object] | None = None) -> object:
        return await self.transport.execute(f"{self.name}: {step}", command, arguments)

    async def _query(self, step: str, command: str) -> dict[str, object]:
        answer = await self._execute(step, command)
        return answer if isinstance(answer, dict) else {}

    async def _end_process(self) -> None:
        """Kill the QEMU process (if alive), close QMP and drop its socket."""
        await self.transport.stop()

    def kill(self) -> None:
        """SIGKILL the QEMU process now, as a crash would (for fault injection)."""
        self.transport.kill()

    async def _wait_ready(self, since: int) -> str:
        token = await self.transport.wait_ready(f"{self.name}: boot", since, self.config.boot_timeout)
        if token is None:
            why = f"the guest did not serve within {self.config.boot_timeout:g} s ({self.config.accel})"
            raise VMError(f"{self.name}: boot", why)
        return token

    async def status(self, timeout: float = 5.0) -> GuestStatus:
        """Ask the guest for its boot token and uptime, over HTTP from inside the namespace."""
        body = await self.host.http_get(f"http://{self.address}{STATUS_PATH}", timeout)
        fields = dict(line.split("=", 1) for line in body.splitlines() if "=" in line)
        if "token" not in fields or "uptime" not in fields:
            raise VMError(f"{self.name}: status", f"unexpected answer {body[:80]!r}")
        return GuestStatus(fields["token"], float(fields["uptime"]))

    # -- steps --------------------------------------------------------------------------------
    async def boot(self) -> None:
        """Start QEMU and boot the guest from a fresh memory file; FAILED (QEMU killed) on error."""
        self._require("boot", VMState.CREATED, VMState.STOPPED, VMState.FAILED)
        self._state = VMState.BOOTING
        self.memory_file.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)
        offset = self.transport.console_offset()
        try:
            await self._launch(incoming=False)
            self.boot_token = await self._wait_ready(offset)
        except BaseException:
            await self._end_process()
            self.memory_file.unlink(missing_ok=True)
            self._state = VMState.FAILED
            raise
        self._state = VMState.RUNNING

    async def reset(self) -> None:
        """Reboot the guest OS (``system_reset``), wait until it serves again; FAILED on error."""
        self._require("reset", VMState.RUNNING)
        self._state = VMState.BOOTING
        offset = self.transport.console_offset()
        try:
            await self._execute("reset", "system_reset")
            self.boot_token = await self._wait_ready(offset)
        except BaseException:
            await self._end_process()
            self._state = VMState.FAILED
            raise
        self._state = VMState.RUNNING

    async def shutdown(self, timeout: float = 30.0) -> None:
        """Power the guest off (``system_powerdown``) and wait for QEMU to exit; killed after ``timeout``."""
        self._require("shutdown", VMState.RUNNING)
        try:
            await self._execute("shutdown", "system_powerdown")
            clean = await self.transport.wait_exit(timeout)
        finally:
            await self._end_process()
            self.memory_file.unlink(missing_ok=True)
            self._state = VMState.STOPPED
        if not clean:
            raise VMError(f"{self.name}: shutdown", f"the guest did not power off within {timeout:g} s; QEMU killed")

    async def suspend(self, save_ram: bool = False, timeout: float = 600.0) -> None:
        """Save the device state (and RAM if ``save_ram``) to :attr:`state_file` and quit QEMU.

        On error: a live QEMU continues the guest (RUNNING); a dead one leaves
        the VM FAILED with its memory file kept (see :attr:`recoverable`). A
        QEMU that fails to quit after the state is saved is killed (SUSPENDED).
        ``timeout`` bounds the save, in seconds.
        """
        self._require("suspend", VMState.RUNNING)
        self.state_file.unlink(missing_ok=True)
        partial = self.state_file.with_suffix(".partial")
        capability = [{"capability": "x-ignore-shared", "state": not save_ram}]
        stopped = False
        try:
            await self._execute("suspend", "migrate-set-capabilities", {"capabilities": capability})
            await self._execute("suspend", "migrate-set-parameters", {"max-bandwidth": 10**12})
            await self._execute("suspend", "stop")
            stopped = True
            self._inject("suspend")
            await self._execute("suspend", "migrate", {"uri": f"exec:cat > {shlex.quote(str(partial))}"})
            await self._wait_migration("suspend", timeout)
            os.replace(partial, self.state_file)
            self._ram_in_state = save_ram
            self._inject("saved")
        except BaseException:
            partial.unlink(missing_ok=True)
            await self._continue_here("suspend rollback", stopped)
            raise
        await self._quit("its device state had been saved")
        if save_ram:
            self.memory_file.unlink(missing_ok=True)  # RAM is in the state file; a VMM reboot loses the rest
        self._state = VMState.SUSPENDED

    async def _quit(self, done: str) -> None:
        """``quit`` a QEMU whose guest is safe elsewhere (``done`` says where); kill it if it will not."""
        try:
            await self._execute("quit", "quit")
        except QEMUDiedError:  # it was to exit anyway
            self.anomalies.append(f"QEMU was gone before quit; {done}")
        except VMError as err:  # it lives but will not quit: end it as quit would have
            self.anomalies.append(f"QEMU did not quit ({err.why}) and was killed; {done}")
        await self.transport.wait_exit(10.0)
        await self._end_process()

    async def _continue_here(self, step: str, stopped: bool) -> None:
        """Roll back an outgoing migration or save: cancel it and run the guest here (RUNNING), else FAILED."""
        if self.pid is not None:
            try:
                with contextlib.suppress(VMError):  # no migration running, or it already ended
                    await self._execute(step, "migrate_cancel")
                await self._settle_migration(step)
                if stopped or (await self._query(step, "query-status")).get("status") != "running":
                    await self._execute(step, "cont")
                self._state = VMState.RUNNING
                return
            except VMError:
                pass
        await self._end_process()
        self._state = VMState.FAILED

    async def _settle_migration(self, step: str, timeout: float = 10.0) -> None:
        """Wait until no migration is in progress (after ``migrate_cancel``)."""
        deadline = time.monotonic() + timeout
        while (await self._query(step, "query-migrate")).get("status") not in (
            None,
            "completed",
            "failed",
            "cancelled",
        ):
            if time.monotonic() > deadline:
                raise VMError(f"{self.name}: {step}", f"the migration did not end within {timeout:g} s of cancelling")
            await asyncio.sleep(0.01)

    async def _wait_migration(self, step: str, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = await self._query(step, "query-migrate")
            status = info.get("status")
            if status == "completed":
                return
            if status in ("failed", "cancelled"):
                raise VMError(f"{self.name}: {step}", f"migration {status}: {info.get('error-desc', '')}")
            await asyncio.sleep(0.005)
        raise VMError(f"{self.name}: {step}", f"migration did not complete within {timeout:g} s")

    async def resume(self) -> None:
        """Start a new QEMU on the memory file, load the state file, continue.

        On error the new QEMU is killed and the VM is SUSPENDED again, its files intact.
        """
        self._require("resume", VMState.SUSPENDED, VMState.FAILED)
        if not self.state_file.exists():
            raise VMError(f"{self.name}: resume", f"no saved device state ({self.state_file.name}): nothing to resume")
        try:
            await self._launch(incoming=True)
            capability = [{"capability": "x-ignore-shared", "state": not self._ram_in_state}]
            await self._execute("resume", "migrate-set-capabilities", {"capabilities": capability})
            uri = f"exec:cat {shlex.quote(str(self.state_file))}"
            await self._execute("resume", "migrate-incoming", {"uri": uri})
            await self._wait_migration("resume")
            self._inject("resume")
            await self._execute("resume", "cont")
        except BaseException:
            await self._end_process()
            self._state = VMState.SUSPENDED
            raise
        self.state_file.unlink(missing_ok=True)
        self._state = VMState.RUNNING

    # -- migration (prepared for the migration procedures; no procedure uses it yet) -------------
    async def receive(self, uri: str) -> None:
        """Start QEMU ``-incoming defer`` on a fresh memory file and listen on ``uri`` (``tcp:ADDRESS:PORT``).

        The VM waits for a guest (INCOMING) sent by :meth:`migrate` of the same
        VM on another host. On error its QEMU is killed (FAILED).
        """
        self._require("receive", VMState.CREATED, VMState.STOPPED, VMState.FAILED)
        self.memory_file.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)
        try:
            await self._launch(incoming=True)
            await self._execute("receive", "migrate-incoming", {"uri": uri})
        except BaseException:
            await self._end_process()
            self.memory_file.unlink(missing_ok=True)
            self._state = VMState.FAILED
            raise
        self._state = VMState.INCOMING

    async def migrate(
        self, destination: VM, uri: str, live: bool = True, max_bandwidth: int = 10**12, timeout: float = 600.0
    ) -> None:
        """Move the guest to ``destination`` (INCOMING on ``uri``, see :meth:`receive`); RAM is sent, not shared.

        Live pre-copy if ``live``, else stop-and-copy (``stop`` first);
        ``max_bandwidth`` in bytes/s, ``timeout`` in s. On success the
        destination runs the guest (RUNNING) and this QEMU has quit (STOPPED).
        On failure (the destination dies, a QMP error, the migration
        ``failed`` or ``cancelled``, timeout) the migration is cancelled, the
        destination's QEMU killed (STOPPED) and the guest goes on running here
        (RUNNING); if this QEMU died, FAILED. Not yet used by a procedure.
        """
        self._require("migrate", VMState.RUNNING)
        destination._require("migrate", VMState.INCOMING)
        self._state = VMState.MIGRATING
        stopped = False
        try:
            capability = [{"capability": "x-ignore-shared", "state": False}]  # a resumed QEMU has it on
            await self._execute("migrate", "migrate-set-capabilities", {"capabilities": capability})
            await self._execute("migrate", "migrate-set-parameters", {"max-bandwidth": max_bandwidth})
            if not live:
                await self._execute("migrate", "stop")
                stopped = True
            await self._execute("migrate", "migrate", {"uri": uri})
            await self._wait_migration("migrate", timeout)
            await destination._arrive(self.boot_token)
        except BaseException:
            await destination.close()
            await self._continue_here("migrate rollback", stopped)
            raise
        await self._quit(f"its guest had moved to {destination.name}")
        self.memory_file.unlink(missing_ok=True)
        self._state = VMState.STOPPED

    async def _arrive(self, token: str | None, timeout: float = 30.0) -> None:
        """Run the guest that came in: wait until QEMU leaves ``inmigrate``, then ``cont`` if paused."""
        deadline = time.monotonic() + timeout
        while (status := (await self._query("arrive", "query-status")).get("status")) == "inmigrate":
            if time.monotonic() > deadline:
                raise VMError(f"{self.name}: arrive", f"still in migration {timeout:g} s after the source completed")
            await asyncio.sleep(0.01)
        if status != "running":
            await self._execute("arrive", "cont")
        self.boot_token = token
        self._state = VMState.RUNNING

    async def close(self) -> None:
        """Kill QEMU if it runs and delete the memory and state files: the VM is gone (STOPPED)."""
        await self._end_process()
        self.memory_file.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)
        self.state_file.with_suffix(".partial").unlink(missing_ok=True)
        self._state = VMState.STOPPED
