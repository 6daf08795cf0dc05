"""A VM: one QEMU process at a time, driven over QMP (``qemu.qmp``), with explicit states.

::

    CREATED --boot--> BOOTING --> RUNNING --suspend--> SUSPENDED --resume--> RUNNING
                                  RUNNING --shutdown--> STOPPED --boot--> ...
                                  RUNNING --reset--> BOOTING --> RUNNING
    any step that fails ---------------------------------------> FAILED (or back, see below)

Guest RAM lives in a shared memory file (``memory-backend-file``,
``share=on``) in the run directory, so it outlives the QEMU process. An
on-memory suspend (:meth:`VM.suspend`) saves only the device state, with the
``x-ignore-shared`` capability, and quits QEMU; :meth:`VM.resume` starts a new
QEMU on the same memory file with ``-incoming defer``, loads the device state
and continues. ``save_ram=True`` gives the classic save-to-file suspend: RAM
goes into the state file and the memory file is discarded.

Every step rolls back on failure: a suspend whose QEMU still lives continues
the guest (RUNNING again); a resume that fails kills the new QEMU and returns
to SUSPENDED with the memory and state files intact, ready for another try; a
QEMU that died leaves the VM FAILED, its memory file kept, and
:attr:`VM.recoverable` says whether a resume can still bring it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qemu.qmp import QMPClient, QMPError

from rejuv.lab.cleanup import CLEANUP, die_with_parent
from rejuv.lab.errors import QEMUDiedError, VMError
from rejuv.lab.guest import READY_LINE, STATUS_PATH
from rejuv.lab.host import Host
from rejuv.lab.image import GuestImage

__all__ = ["VMState", "VMConfig", "VM", "GuestStatus", "QEMU_BINARY"]

QEMU_BINARY = "qemu-system-x86_64"


class VMState(enum.Enum):
    """Where a VM is in its life."""

    CREATED = "created"
    BOOTING = "booting"
    RUNNING = "running"
    SUSPENDED = "suspended"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class VMConfig:
    """How a VM is built. ``accel`` is ``"tcg"`` or ``"kvm"``."""

    memory_mb: int = 128
    accel: str = "tcg"
    disk_bps: int = 512 * 1024  #: throttled disk bandwidth, bytes/s
    boot_timeout: float = 60.0  #: seconds from QEMU start to the guest serving

    def __post_init__(self) -> None:
        if self.memory_mb < 64:
            raise VMError("memory_mb", f"must be >= 64 MB, got {self.memory_mb}")
        if self.accel not in ("tcg", "kvm"):
            raise VMError("accel", f"must be 'tcg' or 'kvm', got {self.accel!r}")
        if self.disk_bps < 4096:
            raise VMError("disk_bps", f"must be >= 4096 bytes/s, got {self.disk_bps}")


@dataclass(frozen=True)
class GuestStatus:
    """What the guest's status endpoint says: its boot token and uptime (s)."""

    token: str
    uptime: float


#: A fault to inject at a named stage of a step: called with the VM and the stage.
FaultHook = Callable[["VM", str], None]


class VM:
    """VM ``index`` of ``host``, booted from ``image``, its files in ``run_dir``."""

    def __init__(self, index: int, host: Host, image: GuestImage, run_dir: Path, config: VMConfig) -> None:
        self.index = index
        self.name = f"vm{index}"
        self.host = host
        self.image = image
        self.config = config
        self.memory_file = run_dir / f"{self.name}.mem"
        self.state_file = run_dir / f"{self.name}.state"
        self.serial_log = run_dir / f"{self.name}.log"
        self._run_dir = run_dir
        self._state = VMState.CREATED
        self._process: subprocess.Popen[bytes] | None = None
        self._process_handle: int | None = None
        self._qmp: QMPClient | None = None
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
        return self._process.pid if self._process is not None and self._process.poll() is None else None

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

    # -- QEMU process -------------------------------------------------------------------------
    def _argv(self, incoming: bool) -> list[str]:
        memory = f"{self.config.memory_mb}M"
        accel = ["-accel", "kvm", "-cpu", "host"] if self.config.accel == "kvm" else ["-accel", "tcg", "-cpu", "max"]
        socket = self._run_dir / f"{self.name}-{self._generation}.qmp"
        argv = [QEMU_BINARY, "-name", self.name, *accel, "-m", memory, "-smp", "1"]
        argv += ["-nodefaults", "-no-user-config", "-display", "none"]
        argv += ["-chardev", f"file,id=serial0,path={self.serial_log},append=on", "-serial", "chardev:serial0"]
        argv += ["-kernel", str(self.image.kernel), "-initrd", str(self.image.initrd)]
        argv += ["-append", f"console=ttyS0 quiet vmip={self.address}/24 vmgw={self.host.gateway}"]
        argv += ["-object", f"memory-backend-file,id=ram0,size={memory},mem-path={self.memory_file},share=on"]
        argv += ["-machine", "memory-backend=ram0"]
        drive = f"file={self.image.disk},if=virtio,format=raw,cache=none,readonly=on"
        argv += ["-drive", f"{drive},throttling.bps-total={self.config.disk_bps}"]
        argv += ["-netdev", f"tap,id=net0,ifname={self.host.tap(self.index)},script=no,downscript=no"]
        argv += ["-device", f"virtio-net-pci,netdev=net0,mac={self.host.mac(self.index)}"]
        argv += ["-qmp", f"unix:{socket},server=on,wait=off"]
        return argv + (["-incoming", "defer"] if incoming else [])

    async def _launch(self, incoming: bool) -> None:
        self._generation += 1
        errors = (self._run_dir / f"{self.name}.err").open("ab")
        with errors:
            self._process = subprocess.Popen(
                self.host.exec_argv(self._argv(incoming)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                preexec_fn=die_with_parent,
            )
        process = self._process
        self._process_handle = CLEANUP.add(f"QEMU of {self.name} (pid {process.pid})", lambda: _kill(process))
        socket = self._run_dir / f"{self.name}-{self._generation}.qmp"
        self._qmp = QMPClient(self.name)
        deadline = time.monotonic() + 20.0
        while True:
            self._check_alive("start")
            try:
                await self._qmp.connect(str(socket))
                return
            except (QMPError, OSError) as err:
                if time.monotonic() > deadline:
                    raise VMError(f"{self.name}: start", f"no QMP socket at {socket}: {err}") from err
                await asyncio.sleep(0.02)

    def _stderr_tail(self) -> str:
        path = self._run_dir / f"{self.name}.err"
        text = path.read_text(errors="replace").strip() if path.exists() else ""
        return text.splitlines()[-1] if text else "no message"

    def _check_alive(self, step: str) -> None:
        if self._process is None or self._process.poll() is not None:
            code = None if self._process is None else self._process.returncode
            raise QEMUDiedError(f"{self.name}: {step}", f"QEMU exited (status {code}): {self._stderr_tail()}")

    async def _execute(self, step: str, command: str, arguments: dict[str, Any] | None = None) -> Any:
        self._check_alive(step)
        assert self._qmp is not None
        try:
            return await self._qmp.execute(command, arguments)
        except (QMPError, OSError, EOFError) as err:
            await asyncio.sleep(0.05)  # let a dying QEMU finish dying, to tell the two apart
            self._check_alive(step)
            raise VMError(f"{self.name}: {step}", f"QMP {command} failed: {err}") from err

    async def _disconnect(self) -> None:
        client, self._qmp = self._qmp, None
        if client is not None:
            with contextlib.suppress(QMPError, OSError, EOFError):  # the other side is gone: closed all the same
                await client.disconnect()

    async def _wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._process is not None and self._process.poll() is None:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def _end_process(self) -> None:
        """Kill the QEMU process (if alive), close QMP and drop its socket."""
        await self._disconnect()
        if self._process is not None:
            _kill(self._process)
        if self._process_handle is not None:
            CLEANUP.release(self._process_handle)
            self._process_handle = None
        (self._run_dir / f"{self.name}-{self._generation}.qmp").unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL the QEMU process now, as a crash would (for fault injection)."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGKILL)

    # -- guest --------------------------------------------------------------------------------
    async def _wait_ready(self, offset: int, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive("boot")
            text = self.serial_log.read_bytes()[offset:].decode(errors="replace") if self.serial_log.exists() else ""
            for line in text.splitlines():
                if line.startswith(READY_LINE) and "token=" in line:
                    return line.split("token=", 1)[1].split()[0]
            if self._qmp is not None and "REJUV-GUEST-ERROR" in text:
                raise VMError(f"{self.name}: boot", f"the guest reported: {text.strip().splitlines()[-1]}")
            await asyncio.sleep(0.05)
        raise VMError(f"{self.name}: boot", f"the guest did not serve within {timeout:g} s ({self.config.accel})")

    def _log_size(self) -> int:
        return self.serial_log.stat().st_size if self.serial_log.exists() else 0

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
        offset = self._log_size()
        try:
            await self._launch(incoming=False)
            self.boot_token = await self._wait_ready(offset, self.config.boot_timeout)
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
        offset = self._log_size()
        try:
            await self._execute("reset", "system_reset")
            self.boot_token = await self._wait_ready(offset, self.config.boot_timeout)
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
            clean = await self._wait_exit(timeout)
        finally:
            await self._end_process()
            self.memory_file.unlink(missing_ok=True)
            self._state = VMState.STOPPED
        if not clean:
            raise VMError(f"{self.name}: shutdown", f"the guest did not power off within {timeout:g} s; QEMU killed")

    async def suspend(self, save_ram: bool = False) -> None:
        """Save the device state (and RAM if ``save_ram``) to :attr:`state_file` and quit QEMU.

        On error: a live QEMU continues the guest (RUNNING); a dead one leaves
        the VM FAILED with its memory file kept (see :attr:`recoverable`).
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
            await self._wait_migration("suspend")
            os.replace(partial, self.state_file)
            self._ram_in_state = save_ram
            self._inject("saved")
        except BaseException:
            partial.unlink(missing_ok=True)
            await self._rollback_suspend(stopped)
            raise
        try:
            await self._execute("quit", "quit")
        except QEMUDiedError:  # it was to exit anyway, and the state is saved
            self.anomalies.append("QEMU was gone before quit; its device state had been saved")
        await self._wait_exit(10.0)
        await self._end_process()
        if save_ram:
            self.memory_file.unlink(missing_ok=True)  # RAM is in the state file; a VMM reboot loses the rest
        self._state = VMState.SUSPENDED

    async def _rollback_suspend(self, stopped: bool) -> None:
        if self._process is not None and self._process.poll() is None:
            try:
                if stopped:
                    await self._execute("suspend rollback", "cont")
                self._state = VMState.RUNNING
                return
            except VMError:
                pass
        await self._end_process()
        self._state = VMState.FAILED

    async def _wait_migration(self, step: str, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = await self._execute(step, "query-migrate")
            status = info.get("status") if isinstance(info, dict) else None
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

    async def close(self) -> None:
        """Kill QEMU if it runs and delete the memory and state files: the VM is gone (STOPPED)."""
        await self._end_process()
        self.memory_file.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)
        self.state_file.with_suffix(".partial").unlink(missing_ok=True)
        self._state = VMState.STOPPED


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):  # unkillable (D state): the kernel reaps it with us
        process.wait(timeout=10)
