"""The core of a VM's state machine: one QEMU process at a time through a transport; see :mod:`rejuv.lab.vm`.

:class:`VMBase` holds a VM's files, its transports and its state, and the
steps of a VM's own life: boot, reset, shutdown, suspend, resume, close.
The ``cpr-transfer`` hand-over (:mod:`~rejuv.lab.handover`) and migration to
another host (:mod:`~rejuv.lab.vm`) build on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import shlex
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rejuv.lab.cmdline import DATA_DISK, CprSockets, NetworkIdentity, VMConfig, VMPaths, qemu_argv
from rejuv.lab.errors import QEMUDiedError, VMError
from rejuv.lab.guest import STATUS_PATH
from rejuv.lab.image import GuestImage
from rejuv.lab.transport import Event, ProcessTransport, Transport

__all__ = ["VMState", "VMBase", "VMHost", "GuestStatus", "FaultHook", "MigrationObserver"]


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
    PREPARED = "prepared"  #: running, with a new QEMU waiting to take the guest over (cpr-transfer)
    HANDED_OVER = "handed-over"  #: the old QEMU has sent everything to the new one, which runs the guest


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

    def tap(self, index: int, spare: bool = False) -> str: ...

    def exec_argv(self, argv: list[str]) -> list[str]: ...

    async def http_get(self, url: str, timeout: float = 5.0) -> str: ...


#: A fault to inject at a named stage of a step: called with the VM and the stage.
FaultHook = Callable[["VMBase", str], None]
#: Sees each ``query-migrate`` answer of an outgoing migration while it runs (a rate controller).
MigrationObserver = Callable[[dict[str, object]], Awaitable[None]]


class VMBase:
    """VM ``index`` of ``host``, booted from ``image``, its files in ``run_dir``; QEMU through ``transport``."""

    def __init__(
        self,
        index: int,
        host: VMHost,
        image: GuestImage,
        run_dir: Path,
        config: VMConfig,
        transport: Transport | None = None,
        spare_transport: Transport | None = None,
    ) -> None:
        """``spare_transport`` runs the new QEMU of a ``cpr-transfer`` beside ``transport`` (they swap after it);
        by default both are :class:`ProcessTransport`, and a VM handed only ``transport`` cannot hand over."""
        self.index = index
        self.name = f"vm{index}"
        self.host = host
        self.image = image
        self.config = config
        self.memory_file = run_dir / f"{self.name}.mem"
        self.state_file = run_dir / f"{self.name}.state"
        self.serial_log = run_dir / f"{self.name}.log"
        errors = run_dir / f"{self.name}.err"
        self.transport: Transport = (
            transport if transport is not None else ProcessTransport(self.name, self.serial_log, errors)
        )
        self._spare: Transport | None = (
            spare_transport
            if spare_transport is not None or transport is not None
            else ProcessTransport(self.name, self.serial_log, errors)
        )
        self._on_spare_tap = False  #: which of its two taps the running QEMU has
        self._sockets: CprSockets | None = None  #: a prepared hand-over's sockets
        self._stopped_at: float | None = None  #: QEMU's time of the last STOP of the guest
        self.last_pause: float | None = None  #: s from the guest's last STOP to its RESUME, by QEMU's events
        self.switched_over_at: float | None = None  #: QEMU's time (s since the epoch) of a migration's switch-over
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
    def argv(self, incoming: bool | CprSockets, spare_tap: bool = False) -> list[str]:
        """The command line of this VM's next QEMU, run inside its host, on its spare tap if ``spare_tap``."""
        paths = VMPaths(self.memory_file, self.serial_log, self._qmp_socket())
        index = self.index
        tap = self.host.tap(index, spare=True) if spare_tap else self.host.tap(index)
        network = NetworkIdentity(self.address, self.host.gateway, tap, self.host.mac(index))
        return self.host.exec_argv(qemu_argv(self.name, self.config, self.image, paths, network, incoming))

    def _qmp_socket(self) -> Path:
        return self._run_dir / f"{self.name}-{self._generation}.qmp"

    async def _launch(self, incoming: bool) -> None:
        self._generation += 1
        argv = self.argv(incoming, self._on_spare_tap)
        await self.transport.start(f"{self.name}: start", argv, self._qmp_socket())

    async def _execute(self, step: str, command: str, arguments: Mapping[str, object] | None = None) -> object:
        return await self.transport.execute(f"{self.name}: {step}", command, arguments)

    async def set_disk_rate(self, bps: int) -> None:
        """Throttle the data disk to ``bps`` bytes/s in all (0: no limit) now, by QMP ``block_set_io_throttle``."""
        limits = {"bps": bps, "bps_rd": 0, "bps_wr": 0, "iops": 0, "iops_rd": 0, "iops_wr": 0}
        await self._execute("disk rate", "block_set_io_throttle", {"device": DATA_DISK, **limits})

    async def _query(self, step: str, command: str) -> dict[str, object]:
        answer = await self._execute(step, command)
        return answer if isinstance(answer, dict) else {}

    async def _end_process(self) -> None:
        """Kill the QEMU process (if alive), close QMP and drop its socket."""
        await self.transport.stop()

    def _last(self, name: str, events: list[Event]) -> float | None:
        return next((when for event, when in reversed(events) if event == name), None)

    def _note_resume(self) -> None:
        """Set :attr:`last_pause` from the STOP noted at the suspend to this QEMU's RESUME (None if either is missing)."""
        resumed = self._last("RESUME", self.transport.events())
        stopped, self._stopped_at = self._stopped_at, None
        self.last_pause = resumed - stopped if resumed is not None and stopped is not None else None

    async def _set_mode(self, step: str, mode: str) -> None:
        """Set the migration mode (QEMU >= 8.2) where the VM's mechanism is a CPR one; QEMU 7.2 has no modes."""
        if self.config.mechanism != "ignore-shared":
            await self._execute(step, "migrate-set-parameters", {"mode": mode})

    def kill(self, successor: bool = False) -> None:
        """SIGKILL the QEMU process (or, with ``successor``, a hand-over's new one) now, as a crash would (faults)."""
        if not successor:
            self.transport.kill()
        elif self._spare is not None:
            self._spare.kill()

    @property
    def handover_sockets(self) -> CprSockets | None:
        """The sockets of a prepared hand-over (None if none is prepared)."""
        return self._sockets

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
        self._on_spare_tap = False
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
        self.last_pause = None
        self.state_file.unlink(missing_ok=True)
        partial = self.state_file.with_suffix(".partial")
        capability = [{"capability": "x-ignore-shared", "state": not save_ram}]
        cpr = self.config.mechanism != "ignore-shared" and not save_ram  # cpr-reboot: QEMU stops the guest itself
        stopped = False
        try:
            await self._execute("suspend", "migrate-set-capabilities", {"capabilities": capability})
            await self._execute("suspend", "migrate-set-parameters", {"max-bandwidth": 10**12})
            await self._set_mode("suspend", "cpr-reboot" if cpr else "normal")
            if not cpr:
                await self._execute("suspend", "stop")
                stopped = True
            self._inject("suspend")
            uri = f"file:{partial}" if cpr else f"exec:cat > {shlex.quote(str(partial))}"
            await self._execute("suspend", "migrate", {"uri": uri})
            await self._wait_migration("suspend", timeout)
            self._stopped_at = self._last("STOP", self.transport.events())
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

    async def _quit(self, done: str, transport: Transport | None = None) -> None:
        """``quit`` a QEMU (this one, or ``transport``'s) whose guest is safe elsewhere (``done`` says where).

        One that will not quit is killed; one already gone is noted among the anomalies.
        """
        process = transport if transport is not None else self.transport
        try:
            await process.execute(f"{self.name}: quit", "quit")
        except QEMUDiedError:  # it was to exit anyway
            self.anomalies.append(f"QEMU was gone before quit; {done}")
        except VMError as err:  # it lives but will not quit: end it as quit would have
            self.anomalies.append(f"QEMU did not quit ({err.why}) and was killed; {done}")
        await process.wait_exit(10.0)
        await process.stop()

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

    async def _wait_migration(
        self, step: str, timeout: float = 600.0, stall: float | None = None, observe: MigrationObserver | None = None
    ) -> None:
        """Wait until the migration completes; VMError if it fails, takes ``timeout`` s, or sends nothing for ``stall`` s.

        ``observe`` sees every ``query-migrate`` answer, the last (completed) one included.
        """
        deadline = time.monotonic() + timeout
        sent, moved_at = None, time.monotonic()
        while (now := time.monotonic()) < deadline:
            info = await self._query(step, "query-migrate")
            if observe is not None:
                await observe(info)
            status = info.get("status")
            if status == "completed":
                return
            if status in ("failed", "cancelled"):
                raise VMError(f"{self.name}: {step}", f"migration {status}: {info.get('error-desc', '')}")
            if stall is not None:
                ram = info.get("ram")
                transferred = ram.get("transferred") if isinstance(ram, dict) else None
                if transferred != sent:
                    sent, moved_at = transferred, now
                elif now - moved_at > stall:
                    why = f"migration stalled: nothing sent for {stall:g} s (the link is down?)"
                    raise VMError(f"{self.name}: {step}", why)
            await asyncio.sleep(0.005)
        raise VMError(f"{self.name}: {step}", f"migration did not complete within {timeout:g} s")

    async def resume(self) -> None:
        """Start a new QEMU on the memory file, load the state file, continue.

        On error the new QEMU is killed and the VM is SUSPENDED again, its files intact.
        """
        self._require("resume", VMState.SUSPENDED, VMState.FAILED)
        if not self.state_file.exists():
            raise VMError(f"{self.name}: resume", f"no saved device state ({self.state_file.name}): nothing to resume")
        cpr = self.config.mechanism != "ignore-shared" and not self._ram_in_state
        try:
            await self._launch(incoming=True)
            capability = [{"capability": "x-ignore-shared", "state": not self._ram_in_state}]
            await self._execute("resume", "migrate-set-capabilities", {"capabilities": capability})
            await self._set_mode("resume", "cpr-reboot" if cpr else "normal")
            uri = f"file:{self.state_file}" if cpr else f"exec:cat {shlex.quote(str(self.state_file))}"
            await self._execute("resume", "migrate-incoming", {"uri": uri})
            await self._wait_migration("resume")
            self._inject("resume")
            await self._run_arrived("resume")
        except BaseException:
            await self._end_process()
            self._state = VMState.SUSPENDED
            raise
        self.state_file.unlink(missing_ok=True)
        self._note_resume()
        self._state = VMState.RUNNING

    async def _run_arrived(self, step: str, timeout: float = 30.0) -> None:
        """Run a guest that came in: wait until QEMU leaves ``inmigrate``, then ``cont`` unless it runs already."""
        deadline = time.monotonic() + timeout
        while (status := (await self._query(step, "query-status")).get("status")) == "inmigrate":
            if time.monotonic() > deadline:
                raise VMError(f"{self.name}: {step}", f"still in migration {timeout:g} s after it completed")
            await asyncio.sleep(0.005)
        if status != "running":
            await self._execute(step, "cont")

    # -- cpr-transfer's sockets, and the end ---------------------------------------------------
    def _drop_sockets(self) -> None:
        sockets, self._sockets = self._sockets, None
        if sockets is not None:
            sockets.main.unlink(missing_ok=True)
            sockets.cpr.unlink(missing_ok=True)

    async def close(self) -> None:
        """Kill QEMU (both, during a hand-over) and delete the memory and state files: the VM is gone (STOPPED)."""
        await self._end_process()
        if self._spare is not None:
            await self._spare.stop()
        self._drop_sockets()
        self.memory_file.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)
        self.state_file.with_suffix(".partial").unlink(missing_ok=True)
        self._state = VMState.STOPPED
