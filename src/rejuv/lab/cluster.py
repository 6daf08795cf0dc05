"""A two-host lab: a switch, a source host, a spare host and a client, each its own network namespace.

::

                       switch (bridge sw0)
            ┌──────────────┼───────────────┐
       up0 (client)    up0 (source)     up0 (spare)
       10.0.2.1        bridge br0       bridge br0
       load, wget      tap<i>: VMs      tap<i>: VMs that moved here
                            mig0 ═════════ mig0        the migration link,
                          10.9.0.1      10.9.0.2      shaped with tc tbf (--link)

The client holds the guests' gateway address on the cluster network; every
VM keeps its fixed address and MAC (``10.0.2.<10 + i>``) on whichever host
runs it, and the switch's bridge learns a move from the announcement QEMU
sends when a migration completes (RARP, then the guest's gratuitous ARP):
the client never needs a new address. The client's neighbour table holds each
VM's address and MAC as a permanent entry, as a single :class:`~rejuv.lab.host.Host`
does. Migration streams cross only the link between the hosts (its own
subnet), shaped on both ends with ``tc qdisc ... tbf``, so a move takes as
long as the link allows. Both hosts' QEMUs open the same read-only data disk,
as the paper's hosts shared NFS. Nothing exists outside the four namespaces:
deleting them deletes every veth, bridge, tap and qdisc, and their names carry
the owner (:mod:`rejuv.lab.owner`) so that ``rejuv lab clean`` reclaims a killed run's.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Callable
from types import TracebackType

from rejuv.lab.cleanup import CLEANUP
from rejuv.lab.errors import HostError, LabError
from rejuv.lab.host import MAX_VMS, NamespaceVMs, http_get, ip, require_root, vm_address, vm_mac, vm_tap
from rejuv.lab.owner import NAMESPACE_PREFIX, owner_tag

__all__ = ["Cluster", "ClusterHost", "parse_link_rate", "LINK_ADDRESSES", "DEFAULT_LINK"]

DEFAULT_LINK = "1gbit"  #: the paper's gigabit Ethernet
LINK_ADDRESSES = ("10.9.0.1", "10.9.0.2")  #: the source's and the spare's end of the migration link
_GATEWAY = "10.0.2.1"
_UNITS = {"kbit": 10**3, "mbit": 10**6, "gbit": 10**9}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(kbit|mbit|gbit)\s*$", re.IGNORECASE)


def parse_link_rate(text: str) -> int:
    """A link rate like ``1gbit`` or ``100mbit`` (tc's units, bits/s) as bits/s; LabError("link") otherwise."""
    match = _RATE.match(text)
    bits = int(float(match.group(1)) * _UNITS[match.group(2).lower()]) if match else 0
    if not 10**6 <= bits <= 10**11:
        why = "must be a rate like 1gbit or 100mbit, between 1mbit and 100gbit"
        raise LabError("link", f"{why}, got {text!r}")
    return bits


class ClusterHost(NamespaceVMs):
    """One namespace of a :class:`Cluster` as a VM sees it (:class:`~rejuv.lab.vmbase.VMHost`).

    Its VMs' QEMUs run in ``namespace``; the guests are reached (``http_get``) from the client's.
    """

    def __init__(self, namespace: str, client_namespace: str) -> None:
        self.namespace = namespace
        self.client_namespace = client_namespace
        self.gateway = _GATEWAY

    async def http_get(self, url: str, timeout: float = 5.0) -> str:
        """The body at ``url``, fetched by the client (it holds the cluster's gateway address)."""
        return await http_get(self.client_namespace, url, timeout)


class Cluster:
    """Switch, source host, spare host and client namespaces, and the shaped migration link; a context manager.

    ``vms`` VMs fit on each host; ``link`` is the migration link's rate in bits/s.
    """

    def __init__(self, vms: int, link: int) -> None:
        if not 1 <= vms <= MAX_VMS:
            raise HostError("vms", f"must be between 1 and {MAX_VMS}, got {vms}")
        require_root()
        self.vms, self.link = vms, link
        base = f"{NAMESPACE_PREFIX}{owner_tag()}-{secrets.token_hex(3)}"  # the role is a suffix: the owner still parses
        self.names = {role: f"{base}{role}" for role in ("sw", "src", "spare", "client")}
        self.client = ClusterHost(self.names["client"], self.names["client"])
        self.source = ClusterHost(self.names["src"], self.names["client"])
        self.spare = ClusterHost(self.names["spare"], self.names["client"])
        self._handles: list[int] = []

    @property
    def namespaces(self) -> list[str]:
        return list(self.names.values())

    def migration_uri(self, index: int) -> str:
        """Where VM ``index``'s destination on the spare host listens for its migration stream."""
        return f"tcp:{LINK_ADDRESSES[1]}:{4444 + index}"

    def create(self) -> Cluster:
        """Make the four namespaces and everything in them; on failure remove what was made."""
        if self._handles:
            return self
        try:
            for name in self.namespaces:
                ip("netns", "add", name)
                self._handles.append(CLEANUP.add(f"network namespace {name}", _deleter(name)))
                ip("-n", name, "link", "set", "lo", "up")
            self._switch()
            self._client()
            for number, host in enumerate((self.source, self.spare)):
                self._host(host.namespace, number)
            self._link()
        except BaseException:
            self.remove()
            raise
        return self

    def _switch(self) -> None:
        switch = ("-n", self.names["sw"])
        ip(*switch, "link", "add", "sw0", "address", "52:54:00:2a:fd:00", "type", "bridge")
        ip(*switch, "link", "set", "sw0", "up")
        for port, role in (("pclient", "client"), ("psrc", "src"), ("pspare", "spare")):
            ip(*switch, "link", "add", port, "type", "veth", "peer", "name", "up0", "netns", self.names[role])
            ip(*switch, "link", "set", port, "master", "sw0", "up")
            ip("-n", self.names[role], "link", "set", "up0", "up")

    def _client(self) -> None:
        client = ("-n", self.names["client"])
        ip(*client, "addr", "add", f"{_GATEWAY}/24", "dev", "up0")
        for index in range(self.vms):
            entry = (vm_address(index), "lladdr", vm_mac(index), "dev", "up0", "nud", "permanent")
            ip(*client, "neigh", "replace", *entry)

    def _host(self, namespace: str, number: int) -> None:
        inside = ("-n", namespace)
        ip(*inside, "link", "add", "br0", "address", f"52:54:00:2a:fe:{number:02x}", "type", "bridge")
        ip(*inside, "link", "set", "up0", "master", "br0")
        ip(*inside, "link", "set", "br0", "up")
        for tap in (vm_tap(index, spare) for index in range(self.vms) for spare in (False, True)):
            ip(*inside, "tuntap", "add", tap, "mode", "tap")
            ip(*inside, "link", "set", tap, "master", "br0", "up")

    def _link(self) -> None:
        source, spare = self.names["src"], self.names["spare"]
        ip("-n", source, "link", "add", "mig0", "type", "veth", "peer", "name", "mig0", "netns", spare)
        for namespace, address in zip((source, spare), LINK_ADDRESSES, strict=True):
            ip("-n", namespace, "addr", "add", f"{address}/30", "dev", "mig0")
            ip("-n", namespace, "link", "set", "mig0", "up")
            shape = ["qdisc", "replace", "dev", "mig0", "root", "tbf", "rate", f"{self.link}bit"]
            _tc(namespace, [*shape, "burst", "1mb", "latency", "20ms"])

    def link_qdisc(self, host: ClusterHost) -> str:
        """What ``tc qdisc show dev mig0`` says in ``host``'s namespace (for tests and reports)."""
        done = subprocess.run(
            ["tc", "-n", host.namespace, "qdisc", "show", "dev", "mig0"], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    def processes(self, host: ClusterHost) -> list[int]:
        """The processes running in ``host``'s namespace (its QEMUs)."""
        done = subprocess.run(["ip", "netns", "pids", host.namespace], capture_output=True, text=True, check=False)
        return [int(pid) for pid in done.stdout.split()]

    def remove(self) -> None:
        """Delete every namespace (idempotent): veths, bridges, taps and qdiscs go with them."""
        while self._handles:
            CLEANUP.release(self._handles.pop(), run=True)

    def __enter__(self) -> Cluster:
        return self.create()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.remove()


def _deleter(name: str) -> Callable[[], None]:
    def delete() -> None:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)

    return delete


def _tc(namespace: str, argv: list[str]) -> None:
    done = subprocess.run(["tc", "-n", namespace, *argv], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise HostError(f"tc {' '.join(argv)}", done.stderr.strip() or f"exit status {done.returncode}")
