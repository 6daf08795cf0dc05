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
from dataclasses import dataclass
from pathlib import Path

from rejuv.lab.errors import VMError
from rejuv.lab.image import GuestImage
from rejuv.lab.mechanism import WARM_MECHANISMS

__all__ = ["QEMU_BINARY", "VMConfig", "VMPaths", "NetworkIdentity", "CprSockets", "qemu_argv"]

QEMU_BINARY = "qemu-system-x86_64"


@dataclass(frozen=True)
class VMConfig:
    """How a VM is built. ``accel`` is ``"tcg"`` or ``"kvm"``; ``mechanism`` its Warm-VM Reboot (:mod:`~rejuv.lab.mechanism`)."""

    memory_mb: int = 128
    accel: str = "tcg"
    disk_bps: int = 512 * 1024  #: throttled disk bandwidth, bytes/s
    boot_timeout: float = 60.0  #: seconds from QEMU start to the guest serving
    mechanism: str = "ignore-shared"  #: ``cpr-transfer``, ``cpr-reboot`` or ``ignore-shared``

    def __post_init__(self) -> None:
        if self.memory_mb < 64:
            raise VMError("memory_mb", f"must be >= 64 MB, got {self.memory_mb}")
        if self.accel not in ("tcg", "kvm"):
            raise VMError("accel", f"must be 'tcg' or 'kvm', got {self.accel!r}")
        if self.disk_bps < 4096:
            raise VMError("disk_bps", f"must be >= 4096 bytes/s, got {self.disk_bps}")
        if self.mechanism not in WARM_MECHANISMS:
            raise VMError("mechanism", f"must be one of {', '.join(WARM_MECHANISMS)}, got {self.mechanism!r}")


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
    argv += ["-append", f"console=ttyS0 quiet vmip={network.address}/24 vmgw={network.gateway}"]
    argv += ["-object", f"memory-backend-file,id=ram0,size={memory},mem-path={paths.memory_file},share=on"]
    # cpr-transfer passes every RAM block as a file descriptor: QEMU's own (ROMs, ...) must be shared too.
    aux = ",aux-ram-share=on" if config.mechanism == "cpr-transfer" else ""
    argv += ["-machine", f"memory-backend=ram0{aux}"]
    drive = f"file={image.disk},if=virtio,format=raw,cache=none,readonly=on"
    argv += ["-drive", f"{drive},throttling.bps-total={config.disk_bps}"]
    argv += ["-netdev", f"tap,id=net0,ifname={network.tap},script=no,downscript=no"]
    argv += ["-device", f"virtio-net-pci,netdev=net0,mac={network.mac}"]
    argv += ["-qmp", f"unix:{paths.qmp_socket},server=on,wait=off"]
    if isinstance(incoming, CprSockets):
        cpr = json.dumps(_channel("cpr", incoming.cpr), separators=(",", ":"))
        return [*argv, "-incoming", f"unix:{incoming.main}", "-incoming", cpr]
    return argv + (["-incoming", "defer"] if incoming else [])
