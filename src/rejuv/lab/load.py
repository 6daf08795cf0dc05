"""The load client: start it inside the namespace, collect every request, derive throughput.

:class:`LoadClient` runs :mod:`rejuv.lab.loadgen` as a subprocess inside the
host's namespace, open loop (``rate`` req/s per VM) or closed loop
(``concurrency`` requests in flight per VM), and reads its records as they arrive (for progress).
:func:`throughput` bins successful replies by the time they ended, per VM, at
any step; :func:`outages` finds each VM's gaps in them, to the request; :func:`client_limit` turns the worker's own CPU time and send
lateness into the rate it could sustain, so a run whose client is the
bottleneck says so.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rejuv.lab.cleanup import CLEANUP, die_with_parent
from rejuv.lab.errors import LabError
from rejuv.lab.guest import FILE_TEMPLATE, FILES_PATH
from rejuv.lab.vmbase import VMHost
from rejuv.trace.outages import Outage

__all__ = [
    "Request",
    "ClientReport",
    "LoadClient",
    "OUTAGE_SPACINGS",
    "MAX_CONCURRENCY",
    "MAX_IN_FLIGHT",
    "CONNECT_TIMEOUT",
    "RETRY_DELAY",
    "reply_rates",
    "closed_loop_spacing",
    "CLOSED_LOOP_OUTAGE",
    "throughput",
    "client_limit",
    "outages",
    "reply_gap",
]


@dataclass(frozen=True)
class Request:
    """One request: times on the monotonic clock, ``status`` 0 when no HTTP reply came."""

    vm: int
    seq: int
    file: int
    scheduled: float
    start: float
    end: float
    status: int
    bytes: int
    error: str

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class ClientReport:
    """The client's own load: what it sent, its CPU time and how late it sent."""

    requests: int
    cpu_seconds: float
    lateness_median: float
    lateness_p99: float
    lateness_max: float
    limit: float  #: requests/s the client could send with one full core
    offered: float  #: requests/s it was asked to send (closed loop: it sent), all VMs together
    bound: bool  #: True: the client, not the VMs, may limit the measured throughput
    closed_loop: bool = False  #: True: ``offered`` is what the VMs' replies let it send, not a schedule

    def describe(self) -> str:
        verdict = "the CLIENT MAY BE THE BOTTLENECK" if self.bound else "not the bottleneck"
        load = f"sent {self.offered:.1f}, closed loop" if self.closed_loop else f"offered {self.offered:g}"
        return (
            f"client: {self.requests} requests, {self.cpu_seconds:.2f} s CPU, limit ~{self.limit:.0f} req/s "
            f"({load}), send lateness median {self.lateness_median * 1e3:.1f} ms, "
            f"p99 {self.lateness_p99 * 1e3:.1f} ms: {verdict}"
        )


def client_limit(summary: dict[str, Any], offered: float, closed_loop: bool = False) -> ClientReport:
    """The client's limit from its summary: requests per CPU-second; bound if offered > half of it or p99 late > 0.1 s.

    Closed loop, ``offered`` is the rate it sent: over half its limit, its own CPU may be what the VMs' replies wait on.
    """
    requests = int(summary["requests"])
    cpu = float(summary["cpu_seconds"])
    limit = requests / cpu if cpu > 0 else float("inf")
    bound = offered > 0.5 * limit or float(summary["lateness_p99"]) > 0.1
    return ClientReport(
        requests,
        cpu,
        float(summary["lateness_median"]),
        float(summary["lateness_p99"]),
        float(summary["lateness_max"]),
        limit,
        offered,
        bound,
        closed_loop,
    )


#: Closed loop: requests in flight per VM at most. A TCG guest's one vCPU serves one request at a time and is
#: saturated by 2 (docs/lab.md); 16 leaves room for KVM guests. More only queue in the guest.
MAX_CONCURRENCY = 16
#: Closed loop: requests in flight over all VMs at most: each holds one of the client's file descriptors,
#: 1024 by default (``ulimit -n``), and the asyncio worker must keep some for itself.
MAX_IN_FLIGHT = 512
#: Closed loop: s a slot waits after a failed request (refused, timed out, VM down) before its next, so that
#: it does not spin; with CONNECT_TIMEOUT it bounds how soon after a VM is back its first reply comes.
RETRY_DELAY = 0.05
#: Closed loop: s to make a connection; a SYN lost while a VM moves is retransmitted only after 1 s, so a
#: slot gives up sooner and sends a new one. A loaded TCG guest answers a SYN within ms (its kernel does).
CONNECT_TIMEOUT = 0.25


@dataclass
class LoadClient:
    """A running load worker to each of ``host``'s first ``vms`` VMs, files in order.

    Open loop at ``rate`` req/s per VM, or, if ``concurrency`` is set, closed loop with that many
    requests in flight per VM (``rate`` unused), or, if ``one_pass``, each VM's files once
    (:func:`rejuv.lab.warmup.fill_page_caches`; ``rate`` unused).
    """

    host: VMHost
    vms: int
    rate: float
    files: int
    timeout: float = 10.0
    duration: float = 3600.0
    concurrency: int | None = None
    one_pass: bool = False
    requests: list[Request] = field(default_factory=list)
    start_at: float = 0.0
    on_request: Callable[[Request], None] | None = None  #: called with each request as it finishes
    _process: asyncio.subprocess.Process | None = None
    _reader: asyncio.Task[dict[str, Any]] | None = None
    _handle: int | None = None

    async def start(self, delay: float = 1.0) -> float:
        """Start the worker; its first requests go ``delay`` s from now. Return that time (monotonic)."""
        self.start_at = time.monotonic() + delay
        config = {
            "targets": [self.host.address(i) for i in range(self.vms)],
            "rate": self.rate,
            "files": self.files,
            "start_at": self.start_at,
            "duration": self.duration,
            "timeout": self.timeout,
            "path": FILES_PATH + FILE_TEMPLATE,
        }
        if self.one_pass:
            config.update(one_pass=True, retry_delay=RETRY_DELAY, connect_timeout=CONNECT_TIMEOUT)
        elif self.concurrency is not None:
            config.update(concurrency=self.concurrency, retry_delay=RETRY_DELAY, connect_timeout=CONNECT_TIMEOUT)
        argv = self.host.exec_argv([sys.executable, "-m", "rejuv.lab.loadgen", json.dumps(config)])
        self._process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, preexec_fn=die_with_parent
        )
        process = self._process
        self._handle = CLEANUP.add(f"load client (pid {process.pid})", lambda: _kill(process))
        self._reader = asyncio.create_task(self._read())
        return self.start_at

    async def _read(self) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        async for line in self._process.stdout:
            item = json.loads(line)
            if "summary" in item:
                return dict(item["summary"])
            self.requests.append(Request(**item))
            if self.on_request is not None:
                self.on_request(self.requests[-1])
        raise LabError("load client", f"ended without a summary (exit status {await self._process.wait()})")

    async def finished(self) -> None:
        """Wait until the worker ends by itself (a one-pass worker's last file, or ``duration`` run out)."""
        assert self._reader is not None
        await asyncio.wait({self._reader}, timeout=self.start_at - time.monotonic() + self.duration + self.timeout + 10)

    def replies(self, vm: int, since: float) -> int:
        """Successful replies from VM ``vm`` that ended after ``since`` (monotonic)."""
        return sum(1 for r in self.requests if r.vm == vm and r.ok and r.end >= since)

    async def stop(self) -> ClientReport:
        """Ask the worker to stop, wait for its requests in flight, return its report."""
        assert self._process is not None and self._reader is not None
        if self._process.returncode is None:
            self._process.terminate()
        asked_at = time.monotonic()
        try:
            summary = await asyncio.wait_for(self._reader, self.timeout + 10)
        except TimeoutError:  # an OSError with no text: say what did not happen
            why = f"did not stop within {self.timeout + 10:g} s of being asked ({self._load()})"
            raise LabError("load client", why) from None
        finally:
            await self.close()
        if self.concurrency is None:
            return client_limit(summary, self.rate * self.vms)
        sent = int(summary["requests"]) / max(asked_at - self.start_at, 1e-9)
        return client_limit(summary, sent, closed_loop=True)

    def _load(self) -> str:
        if self.concurrency is None:
            return f"offered {self.rate * self.vms:g} req/s"
        return f"{self.concurrency} in flight per VM x {self.vms} VMs"

    async def close(self) -> None:
        """Kill the worker if it still runs (idempotent)."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        if self._reader is not None:
            if not self._reader.done():
                self._reader.cancel()
            elif not self._reader.cancelled():
                self._reader.exception()  # a killed worker ends without a summary: retrieved, not logged at exit
        if self._handle is not None:
            CLEANUP.release(self._handle)
            self._handle = None


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()


def throughput(
    requests: Sequence[Request], vms: int, start: float, duration: float, step: float = 1.0
) -> NDArray[np.float64]:
    """Successful replies per second, shape (samples, vms), binned by end time from ``start`` at ``step`` s."""
    samples = int(duration // step)
    counts = np.zeros((samples, vms))
    for request in requests:
        sample = int((request.end - start) // step)
        if request.ok and 0 <= sample < samples:
            counts[sample, request.vm] += 1
    result: NDArray[np.float64] = counts / step
    return result


#: A gap in a VM's replies longer than this many request spacings (1 / rate) is an outage; a 0.3 s warm
#: reboot is 3 at 10 req/s, and the gaps between replies of a loaded TCG guest stay under 2 (docs/lab.md).
#: Closed loop, the spacing is 1 / the VM's own reply rate before the procedure, floored (:func:`closed_loop_spacing`).
OUTAGE_SPACINGS = 2.5


#: Closed loop: s, the shortest gap in a VM's replies that is an outage outside a procedure. A saturated TCG
#: guest's own gaps (C = 2, two VMs, load average 7): median 12-15 ms, 99.9th percentile 0.18-0.21 s, and
#: 0.25 s while its page cache fills (a 128 KB file from a 512 KB/s disk), so 2.5 spacings of its reply rate
#: (0.06 s at 40 replies/s) would flag hundreds; within a procedure the longest gap counts however short.
CLOSED_LOOP_OUTAGE = 0.5


def closed_loop_spacing(requests: Sequence[Request], vms: int, start: float, until: float) -> list[float]:
    """Each VM's rate for :func:`outages` under a closed loop: its reply rate over [start, until), at most
    :data:`OUTAGE_SPACINGS` / :data:`CLOSED_LOOP_OUTAGE` (so the threshold is never under that many s)."""
    most = OUTAGE_SPACINGS / CLOSED_LOOP_OUTAGE
    return [min(rate, most) for rate in reply_rates(requests, vms, start, until)]


def reply_rates(requests: Sequence[Request], vms: int, start: float, until: float) -> list[float]:
    """Each VM's successful replies per second that ended between ``start`` and ``until`` (monotonic, s)."""
    span = until - start
    if span <= 0:
        raise LabError("reply rates", f"need a window of positive length, got {span:g} s")
    counts = [0] * vms
    for request in requests:
        if request.ok and start <= request.end < until:
            counts[request.vm] += 1
    return [count / span for count in counts]


def outages(
    requests: Sequence[Request],
    names: Sequence[str],
    start: float,
    rate: float | Sequence[float],
    spans: Sequence[tuple[float, float]] = (),
) -> list[Outage]:
    """Each VM's gaps between consecutive successful replies longer than :data:`OUTAGE_SPACINGS` / ``rate`` s.

    ``rate`` is every VM's (open loop: the offered rate) or one per VM (closed loop: each VM's reply rate
    before the procedure, :func:`closed_loop_spacing`; a VM that never replied has no gap to find).
    ``names[i]`` names VM ``i``; times are seconds from ``start`` (monotonic), the
    trace's clock: from the end of the last reply before a gap to the end of the first after it.
    Within each
    of ``spans`` (s on the same clock: a procedure's), each VM's longest gap is an outage
    however short, so a warm reboot shorter than the threshold is still measured.
    """
    rates = [rate] * len(names) if isinstance(rate, int | float) else list(rate)
    found = []
    for vm, name in enumerate(names):
        ends = np.sort([r.end - start for r in requests if r.vm == vm and r.ok])
        threshold = OUTAGE_SPACINGS / rates[vm] if rates[vm] > 0 else np.inf
        gaps = np.flatnonzero(np.diff(ends) > threshold)
        mine = [Outage(name, float(ends[i]), float(ends[i + 1])) for i in gaps if ends[i] >= 0]
        for first, last in spans:
            if any(o.start < last and o.end > first for o in mine) or len(ends) < 2:
                continue
            inside = np.flatnonzero((ends[:-1] < last) & (ends[1:] > first))
            if len(inside):
                longest = int(inside[np.argmax(np.diff(ends)[inside])])
                mine.append(Outage(name, float(ends[longest]), float(ends[longest + 1])))
        found += sorted(mine, key=lambda outage: outage.start)
    return found


def reply_gap(requests: Sequence[Request], vm: int, after: float, until: float) -> float:
    """The longest time without a successful reply from ``vm`` between ``after`` and ``until`` (s).

    This is the downtime the client sees: gaps between the ends of
    consecutive successful replies, the window's edges included.
    """
    ends = sorted(r.end for r in requests if r.vm == vm and r.ok and after <= r.end <= until)
    edges = [after, *ends, until]
    return max(b - a for a, b in itertools.pairwise(edges))
