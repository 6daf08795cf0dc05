"""A VM's QEMU command line, as a pure function of what the VM is: nothing runs here.

:func:`qemu_argv` turns a :class:`VMConfig`, a guest image, the VM's files
(:class:`VMPaths`) and its place on the network (:class:`NetworkIdentity`)
into the argument list of ``qemu-system-x86_64``. The same inputs with
``incoming=True`` give the command line of a QEMU that waits for a guest
(``-incoming defer``): a resume, or the destination of a migration; with
:class:`CprSockets` instead, the new QEMU of a ``cpr-transfer``, which waits
on the CPR socket for the guest RAM's file descriptors and then listens for
the device state on the main socket. Both sides of a migration must have the
same RAM size, machine and devices, and so they do when they come from the
same config and image (the tap may differ: see :class:`NetworkIdentity`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from rejuv.lab.errors import VMError
from rejuv.lab.image import GuestImage
from rejuv.lab.mechanism import WARM_MECHANISMS

__all__ = [
    "DATA_DISK",
    "QEMU_BINARY",
    "VMConfig",
    "VMPaths",
    "NetworkIdentity",
    "CprSockets",
    "qemu_argv",
    "default_dirty_buffer",
    "max_dirty_buffer",
    "dirtying_arguments",
    "GUEST_RESERVE_MB",
]

QEMU_BINARY = "qemu-system-x86_64"
DATA_DISK = "data"  #: the data disk's drive id: QMP names its throttle by it (rejuv.lab.warmup)
GUEST_RESERVE_MB = 48  #: MiB of guest RAM the dirtying buffer leaves to the kernel, initramfs and httpd, beyond 1/4
DIRTY_TICK = 0.25  #: s between the guest dirtier's writes
DIRTY_BLOCK = 64 * 1024  #: bytes per block it writes
DIRTY_STEP = DIRTY_BLOCK / DIRTY_TICK / 2**20  #: MiB/s: one block per tick, the finest rate


@dataclass(frozen=True)
class VMConfig:
    """How a VM is built. ``accel`` is ``"tcg"`` or ``"kvm"``; ``mechanism`` its Warm-VM Reboot (:mod:`~rejuv.lab.mechanism`)."""

    memory_mb: int = 128
    accel: str = "tcg"
    disk_bps: int = 512 * 1024  #: throttled disk bandwidth, bytes/s
    boot_timeout: float = 60.0  #: seconds from QEMU start to the guest serving
    mechanism: str = "ignore-shared"  #: ``cpr-transfer``, ``cpr-reboot`` or ``ignore-shared``
    dirty: float = 0.0  #: MiB/s the guest rewrites in its buffer (:mod:`~rejuv.lab.guest`); 0: none
    dirty_buffer: int = 0  #: MiB of that buffer, filled with random bytes at boot; 0: none

    def __post_init__(self) -> None:
        _check_dirtying(self.memory_mb, self.dirty, self.dirty_buffer)
        if self.memory_mb < 64:
            raise VMError("memory_mb", f"must be >= 64 MB, got {self.memory_mb}")
        if self.accel not in ("tcg", "kvm"):
            raise VMError("accel", f"must be 'tcg' or 'kvm', got {self.accel!r}")
        if self.disk_bps < 4096:
            raise VMError("disk_bps", f"must be >= 4096 bytes/s, got {self.disk_bps}")
        if self.mechanism not in WARM_MECHANISMS:
            raise VMError("mechanism", f"must be one of {', '.join(WARM_MECHANISMS)}, got {self.mechanism!r}")


def max_dirty_buffer(memory_mb: int) -> int:
    """MiB of the largest dirtying buffer a guest of ``memory_mb`` MiB holds: 3/4 of it less :data:`GUEST_RESERVE_MB`.

    Measured: a 128 MiB guest fills 48 MiB and panics (out of memory) at 64;
    the kernel's own tables grow with RAM, so the reserve does too.
    """
    return max(0, memory_mb * 3 // 4 - GUEST_RESERVE_MB)


def default_dirty_buffer(memory_mb: int) -> int:
    """MiB of the dirtying buffer by default: half the guest's RAM, at most :func:`max_dirty_buffer`."""
    return max(1, min(memory_mb // 2, max_dirty_buffer(memory_mb)))


def _check_dirtying(memory_mb: int, dirty: float, buffer: int) -> None:
    if not (math.isfinite(dirty) and dirty >= 0):
        raise VMError("dirty", f"must be a finite number >= 0 MiB/s, got {dirty:g}")
    if 0 < dirty < DIRTY_STEP:
        raise VMError("dirty", f"must be 0 or at least {DIRTY_STEP:g} MiB/s (the guest's step), got {dirty:g}")
    if dirty > 0 and buffer < 1:
        raise VMError("dirty_buffer", f"must be at least 1 MiB to dirty memory, got {buffer}")
    if not 0 <= buffer <= max_dirty_buffer(memory_mb):
        room = f"{max_dirty_buffer(memory_mb)} MiB (3/4 of the guest's {memory_mb} MiB less {GUEST_RESERVE_MB} MiB)"
        raise VMError("dirty_buffer", f"must be from 0 to {room}, got {buffer} MiB")


def dirtying_arguments(config: VMConfig) -> list[str]:
    """The kernel command-line words that start the guest's dirtier: 64 KiB blocks per tick, buffer MiB."""
    if config.dirty_buffer == 0:
        return []
    blocks = round(config.dirty * 2**20 * DIRTY_TICK / DIRTY_BLOCK)
    return [f"vmdirty={min(blocks, config.dirty_buffer * 16)}", f"vmdirtybuf={config.dirty_buffer}"]


@dataclass(frozen=True)
class VMPaths:
    """The files one QEMU process uses: guest RAM, serial console log, QMP socket."""

    memory_file: Path  #: ``memory-backend-file`` with ``share=on``: outlives the process
    serial_log: Path  #: appended to, across processes
    qmp_socket: Path  #: one per process


@dataclass(frozen=True)
class NetworkIdentity:
    """Where a VM is on its host's network: the guest's address and gateway, its tap and MAC.

    The old and the new QEMU of a ``cpr-transfer`` run at once, and a tap is
    open in one process at a time, so the new one takes the VM's other tap on
    the same bridge; QEMU's announcement after the migration moves the MAC.
    """

    address: str
    gateway: str
    tap: str
    mac: str


@dataclass(frozen=True)
class CprSockets:
    """The two UNIX sockets a ``cpr-transfer`` destination listens on."""

    main: Path  #: the device state (the migration stream)
    cpr: Path  #: the CPR state: file descriptors of the guest RAM, passed with SCM_RIGHTS

    def channels(self) -> list[dict[str, object]]:
        """The ``channels`` argument of the source's ``migrate``."""
        return [_channel("main", self.main), _channel("cpr", self.cpr)]


def _channel(kind: str, path: Path) -> dict[str, object]:
    return {"channel-type": kind, "addr": {"transport": "socket", "type": "unix", "path": str(path)}}


def qemu_argv(
    name: str,
    config: VMConfig,
    image: GuestImage,
    paths: VMPaths,
    network: NetworkIdentity,
    incoming: bool | CprSockets = False,
) -> list[str]:
    """The argument list of the QEMU of VM ``name``.

    ``incoming``: ``True``, wait for a guest (``-incoming defer``); :class:`CprSockets`,
    wait for it from a ``cpr-transfer`` on those sockets.
    """
    memory = f"{config.memory_mb}M"
    accel = ["-accel", "kvm", "-cpu", "host"] if config.accel == "kvm" else ["-accel", "tcg", "-cpu", "max"]
    argv = [QEMU_BINARY, "-name", name, *accel, "-m", memory, "-smp", "1"]
    argv += ["-nodefaults", "-no-user-config", "-display", "none"]
    argv += ["-chardev", f"file,id=serial0,path={paths.serial_log},append=on", "-serial", "chardev:serial0"]
    argv += ["-kernel", str(image.kernel), "-initrd", str(image.initrd)]
    words = ["console=ttyS0", "quiet", f"vmip={network.address}/24", f"vmgw={network.gateway}"]
    argv += ["-append", " ".join([*words, *dirtying_arguments(config)])]
    argv += ["-object", f"memory-backend-file,id=ram0,size={memory},mem-path={paths.memory_file},share=on"]
    # cpr-transfer passes every RAM block as a file descriptor: QEMU's own (ROMs, ...) must be shared too.
    aux = ",aux-ram-share=on" if config.mechanism == "cpr-transfer" else ""
    argv += ["-machine", f"memory-backend=ram0{aux}"]
    drive = f"id={DATA_DISK},file={image.disk},if=virtio,format=raw,cache=none,readonly=on"
    argv += ["-drive", f"{drive},throttling.bps-total={config.disk_bps}"]
    argv += ["-netdev", f"tap,id=net0,ifname={network.tap},script=no,downscript=no"]
    argv += ["-device", f"virtio-net-pci,netdev=net0,mac={network.mac}"]
    argv += ["-qmp", f"unix:{paths.qmp_socket},server=on,wait=off"]
    if isinstance(incoming, CprSockets):
        cpr = json.dumps(_channel("cpr", incoming.cpr), separators=(",", ":"))
        return [*argv, "-incoming", f"unix:{incoming.main}", "-incoming", cpr]
    return argv + (["-incoming", "defer"] if incoming else [])
