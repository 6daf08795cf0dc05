"""A lab of several hosts: a switch, H hosts and a client, each its own network namespace.

::

                              switch (bridge sw0)
          ┌───────────────┬──────────┴────┬─────────────── ... ──┐
     pclient            p0 ▼▲ shaped     p1 ▼▲ shaped          p<H-1> ▼▲ shaped
       │                  │                │                     │
     up0 (client)       up0 (host0)      up0 (host1)           up0 (the spare, host<H-1>)
     10.0.2.1           bridge br0       bridge br0            bridge br0
     load, wget         10.9.0.1         10.9.0.2              10.9.0.<H>
                        tap<i>: VMs      tap<i>: VMs           tap<i>: VMs that moved here

Each host's one up-link to the switch is its whole network, as each of the
paper's hosts had one gigabit Ethernet: the veth ``up0`` (host side) to
``p<h>`` (switch side), shaped in both directions with ``tc qdisc ... tbf`` at
the link rate (``--link``; egress of ``up0``: everything the host sends,
egress of ``p<h>``: everything it receives). The host's bridge ``br0`` holds
its up-link, its VMs' taps and the host's own address on a second subnet
(``10.9.0.<1 + h>``, the cluster network), where a migration's destination
listens. So a host's VMs' replies and the migration stream it sends leave by
the same shaped link and compete for it, and a move takes as long as the link
allows.

The client holds the guests' gateway address; every VM keeps its fixed
address and MAC (``10.0.2.<10 + i>``) on whichever host runs it, and the
switch's bridge learns a move from the announcement QEMU sends when a
migration completes (RARP, then the guest's gratuitous ARP): the client never
needs a new address. The client's neighbour table holds each VM's address and
MAC as a permanent entry, as a single :class:`~rejuv.lab.host.Host` does.
Every host has a tap for every VM of the lab, since in the spare's cycle
(:mod:`rejuv.lab.cycle`) any VM may come to any host. Every host's QEMUs open
the same read-only data disk, as the paper's hosts shared NFS.

:meth:`Cluster.rejuvenate` restarts what makes a host's VMM in the lab once
its QEMUs are gone: its bridge, its address and its taps are deleted and made
again (its shaped up-link stays, as a host's NIC would). Nothing exists
outside the lab's namespaces: deleting them deletes every veth, bridge, tap
and qdisc, and their names carry the owner (:mod:`rejuv.lab.owner`) so that
``rejuv lab clean`` reclaims a killed run's.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from collections.abc import Callable
from types import TracebackType

from rejuv.lab.cleanup import CLEANUP
from rejuv.lab.errors import HostError, LabError
from rejuv.lab.host import MAX_VMS, NamespaceVMs, http_get, ip, require_root, vm_address, vm_mac, vm_tap
from rejuv.lab.owner import NAMESPACE_PREFIX, owner_tag

__all__ = ["Cluster", "ClusterHost", "parse_link_rate", "host_address", "DEFAULT_LINK", "MAX_HOSTS", "UPLINK"]

DEFAULT_LINK = "1gbit"  #: the paper's gigabit Ethernet
MAX_HOSTS = 16  #: hosts in one lab (each its namespace, switch port and shaped up-link)
UPLINK = "up0"  #: a host's end of its link to the switch
_GATEWAY = "10.0.2.1"
_BRIDGE = "br0"
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


def host_address(number: int) -> str:
    """Host ``number``'s own address on the cluster network (where migrations to it arrive)."""
    return f"10.9.0.{1 + number}"


class ClusterHost(NamespaceVMs):
    """One host of a :class:`Cluster` as a VM sees it (:class:`~rejuv.lab.vmbase.VMHost`).

    Its VMs' QEMUs run in ``namespace``; the guests are reached (``http_get``) from the client's.
    """

    def __init__(self, number: int, namespace: str, client_namespace: str, name: str | None = None) -> None:
        self.number = number
        self.name = name if name is not None else f"host{number}"
        self.namespace = namespace
        self.client_namespace = client_namespace
        self.gateway = _GATEWAY

    def migration_uri(self, index: int) -> str:
        """Where VM ``index``'s destination QEMU on this host listens for its migration stream."""
        return f"tcp:{host_address(self.number)}:{4444 + index}"

    async def http_get(self, url: str, timeout: float = 5.0) -> str:
        """The body at ``url``, fetched by the client (it holds the cluster's gateway address)."""
        return await http_get(self.client_namespace, url, timeout)


class Cluster:
    """Switch, ``hosts`` hosts and client namespaces, each host's up-link shaped at ``link``; a context manager.

    ``vms`` is how many VMs the lab holds in all (indexes 0 to vms - 1, each
    with a tap on every host); ``link`` is the up-links' rate in bits/s.
    HostError naming ``vms`` or ``hosts`` for a count out of range.
    """

    def __init__(self, vms: int, link: int, hosts: int = 2) -> None:
        if not 1 <= vms <= MAX_VMS:
            raise HostError("vms", f"must be between 1 and {MAX_VMS}, got {vms}")
        if not 2 <= hosts <= MAX_HOSTS:
            raise HostError("hosts", f"must be between 2 and {MAX_HOSTS}, got {hosts}")
        require_root()
        self.vms, self.link = vms, link
        base = f"{NAMESPACE_PREFIX}{owner_tag()}-{secrets.token_hex(3)}"  # the role is a suffix: the owner still parses
        roles = ("sw", "client", *(f"h{number}" for number in range(hosts)))
        self.names = {role: f"{base}{role}" for role in roles}
        self.client = ClusterHost(-1, self.names["client"], self.names["client"], "client")
        self.hosts = [ClusterHost(number, self.names[f"h{number}"], self.names["client"]) for number in range(hosts)]
        self._handles: list[int] = []

    @property
    def namespaces(self) -> list[str]:
        return list(self.names.values())

    def create(self) -> Cluster:
        """Make every namespace and everything in them; on failure remove what was made."""
        if self._handles:
            return self
        try:
            for name in self.namespaces:
                ip("netns", "add", name)
                self._handles.append(CLEANUP.add(f"network namespace {name}", _deleter(name)))
                ip("-n", name, "link", "set", "lo", "up")
            self._switch()
            self._client()
            for host in self.hosts:
                self._uplink(host)
                self._vmm(host)
        except BaseException:
            self.remove()
            raise
        return self

    def _switch(self) -> None:
        switch = ("-n", self.names["sw"])
        ip(*switch, "link", "add", "sw0", "address", "52:54:00:2a:fd:00", "type", "bridge")
        ip(*switch, "link", "set", "sw0", "up")
        ports = [("pclient", "client"), *((f"p{host.number}", f"h{host.number}") for host in self.hosts)]
        for port, role in ports:
            ip(*switch, "link", "add", port, "type", "veth", "peer", "name", UPLINK, "netns", self.names[role])
            ip(*switch, "link", "set", port, "master", "sw0", "up")
            ip("-n", self.names[role], "link", "set", UPLINK, "up")

    def _client(self) -> None:
        client = ("-n", self.names["client"])
        ip(*client, "addr", "add", f"{_GATEWAY}/24", "dev", UPLINK)
        for index in range(self.vms):
            entry = (vm_address(index), "lladdr", vm_mac(index), "dev", UPLINK, "nud", "permanent")
            ip(*client, "neigh", "replace", *entry)

    def _uplink(self, host: ClusterHost) -> None:
        """Shape both directions of ``host``'s link: what it sends (``up0``) and what the switch sends it."""
        shape = ["root", "tbf", "rate", f"{self.link}bit", "burst", "1mb", "latency", "20ms"]
        _tc(host.namespace, ["qdisc", "replace", "dev", UPLINK, *shape])
        _tc(self.names["sw"], ["qdisc", "replace", "dev", f"p{host.number}", *shape])

    def _vmm(self, host: ClusterHost) -> None:
        """Make ``host``'s bridge with its address, its up-link and a tap per VM."""
        inside = ("-n", host.namespace)
        ip(*inside, "link", "add", _BRIDGE, "address", f"52:54:00:2a:fe:{host.number:02x}", "type", "bridge")
        ip(*inside, "addr", "add", f"{host_address(host.number)}/24", "dev", _BRIDGE)
        ip(*inside, "link", "set", UPLINK, "master", _BRIDGE)
        ip(*inside, "link", "set", _BRIDGE, "up")
        for tap in (vm_tap(index) for index in range(self.vms)):
            ip(*inside, "tuntap", "add", tap, "mode", "tap")
            ip(*inside, "link", "set", tap, "master", _BRIDGE, "up")

    def rejuvenate(self, host: ClusterHost) -> float:
        """Restart ``host``'s VMM: delete its bridge and taps and make them again; the seconds it took.

        HostError (``host<h>``) if any process still runs in its namespace: a VMM restarts once its VMs have left.
        """
        running = self.processes(host)
        if running:
            raise HostError(host.name, f"its VMM cannot restart while processes {running} run there")
        began = time.monotonic()
        inside = ("-n", host.namespace)
        ip(*inside, "link", "del", _BRIDGE)  # releases up0, drops the address and every bridge entry
        for tap in (vm_tap(index) for index in range(self.vms)):
            ip(*inside, "link", "del", tap)
        self._vmm(host)
        return time.monotonic() - began

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
