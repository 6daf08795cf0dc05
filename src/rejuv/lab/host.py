"""A host: a private network namespace with a bridge, and one tap device per VM.

Each VM ``i`` has a fixed MAC (``52:54:00:2a:00:<i>``) and address
(``10.0.2.<10 + i>``) on its own persistent tap ``tap<i>``, enslaved to the
bridge ``br0`` (``10.0.2.1``), and a spare tap ``tap<i>s`` on the same bridge
for the new QEMU of a ``cpr-transfer``, which starts while the old one holds
``tap<i>`` (a tap is open in one process at a time). The addresses exist only inside the
namespace: nothing is reachable from, or listens on, the host's own network.
QEMU runs inside the namespace (``ip netns exec``) so that it can open the
taps, and so does the load generator. Persistent taps survive a QEMU restart,
so a VM keeps its link across a Warm-VM Reboot. The bridge's neighbour table
holds each VM's address and MAC as a permanent entry: while a VM's QEMU
restarts nobody answers ARP, and a lost ARP request would hold every
connection to that VM for the kernel's 1 s retry, which is no part of the
rejuvenation being measured.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from types import TracebackType

from rejuv.lab.cleanup import CLEANUP
from rejuv.lab.errors import HostError
from rejuv.lab.owner import NAMESPACE_PREFIX, owner_tag

__all__ = ["Host", "NamespaceVMs", "MAX_VMS", "require_root", "vm_address", "vm_mac", "vm_tap", "http_get", "ip"]

MAX_VMS = 200
_SUBNET = "10.0.2"
_BRIDGE = "br0"
_BRIDGE_MAC = "52:54:00:2a:ff:ff"  #: fixed, so that the bridge never takes a port's MAC (which flushes its neighbours)


def ip(*argv: str) -> None:
    """Run ``ip ARGV``; HostError quoting ip's message if it fails."""
    done = subprocess.run(["ip", *argv], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise HostError(f"ip {' '.join(argv)}", done.stderr.strip() or f"exit status {done.returncode}")


def vm_address(index: int) -> str:
    """The IP address of VM ``index`` (on whatever host it runs)."""
    return f"{_SUBNET}.{10 + index}"


def vm_mac(index: int) -> str:
    """The MAC address of VM ``index``."""
    return f"52:54:00:2a:{index // 256:02x}:{index % 256:02x}"


def vm_tap(index: int, spare: bool = False) -> str:
    """The tap device of VM ``index``, or its spare one."""
    return f"tap{index}{'s' if spare else ''}"


async def http_get(namespace: str, url: str, timeout: float = 5.0) -> str:
    """The body at ``url``, fetched from inside ``namespace`` (busybox wget); HostError if none within ``timeout`` s."""
    command = ["ip", "netns", "exec", namespace, "busybox", "wget", "-q", "-O", "-", url]  # its -T crashes (1.35)
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except BaseException as error:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if isinstance(error, TimeoutError):  # the guest did not answer: the caller's error, not a crash
            raise HostError(url, f"no answer within {timeout:g} s") from None
        raise
    if process.returncode != 0:
        raise HostError(url, err.decode().strip() or f"wget exit status {process.returncode}")
    return out.decode(errors="replace")


def require_root() -> None:
    """Raise :class:`HostError` unless running as root, which a host needs; say so before anything is made."""
    if os.geteuid() != 0:  # not with ip's own message, after half a namespace
        raise HostError("rejuv lab", "needs root: it creates a network namespace, a bridge and tap devices")


class NamespaceVMs:
    """What a VM needs of the namespace its QEMU runs in: its identity on the network and how to run there."""

    namespace: str

    def address(self, index: int) -> str:
        """The IP address of VM ``index``."""
        return vm_address(index)

    def mac(self, index: int) -> str:
        """The MAC address of VM ``index``."""
        return vm_mac(index)

    def tap(self, index: int, spare: bool = False) -> str:
        """The tap device of VM ``index``, or its spare one."""
        return vm_tap(index, spare)

    def exec_argv(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the namespace."""
        return ["ip", "netns", "exec", self.namespace, *argv]


class Host(NamespaceVMs):
    """A network namespace holding a bridge and ``vms`` taps; a context manager that removes it all."""

    def __init__(self, vms: int) -> None:
        if not 1 <= vms <= MAX_VMS:
            raise HostError("vms", f"must be between 1 and {MAX_VMS}, got {vms}")
        require_root()
        self.vms = vms
        self.namespace = f"{NAMESPACE_PREFIX}{owner_tag()}-{secrets.token_hex(3)}"  # whose it is, after a SIGKILL
        self.gateway = f"{_SUBNET}.1"
        self._handle: int | None = None

    def create(self) -> Host:
        """Make the namespace, the bridge and the taps; on failure remove what was made."""
        if self._handle is not None:
            return self
        ip("netns", "add", self.namespace)
        self._handle = CLEANUP.add(f"network namespace {self.namespace}", self._delete)
        try:
            inside = ("-n", self.namespace)
            ip(*inside, "link", "set", "lo", "up")
            ip(*inside, "link", "add", _BRIDGE, "address", _BRIDGE_MAC, "type", "bridge")
            ip(*inside, "addr", "add", f"{self.gateway}/24", "dev", _BRIDGE)
            ip(*inside, "link", "set", _BRIDGE, "up")
            for tap in (self.tap(index, spare) for index in range(self.vms) for spare in (False, True)):
                ip(*inside, "tuntap", "add", tap, "mode", "tap")
                ip(*inside, "link", "set", tap, "master", _BRIDGE, "up")
            for index in range(self.vms):  # now that no port joins and changes the bridge's MAC (which flushes them)
                entry = (self.address(index), "lladdr", self.mac(index), "dev", _BRIDGE, "nud", "permanent")
                ip(*inside, "neigh", "replace", *entry)
        except BaseException:
            self.remove()
            raise
        return self

    def _delete(self) -> None:
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, check=False)

    def remove(self) -> None:
        """Delete the namespace with its bridge and taps (idempotent)."""
        if self._handle is not None:
            CLEANUP.release(self._handle, run=True)
            self._handle = None

    async def http_get(self, url: str, timeout: float = 5.0) -> str:
        """The body at ``url``, fetched from inside the namespace (busybox wget); HostError if none."""
        return await http_get(self.namespace, url, timeout)

    def exists(self) -> bool:
        """Whether the namespace is there."""
        return os.path.exists(f"/run/netns/{self.namespace}")

    def __enter__(self) -> Host:
        return self.create()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.remove()
