"""The open-loop load client: start it inside the namespace, collect every request, derive throughput.

:class:`LoadClient` runs :mod:`rejuv.lab.loadgen` as a subprocess inside the
host's namespace and reads its records as they arrive (for progress).
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
    offered: float  #: requests/s it was asked to send, all VMs together
    bound: bool  #: True: the client, not the VMs, may limit the measured throughput

    def describe(self) -> str:
        verdict = "the CLIENT MAY BE THE BOTTLENECK" if self.bound else "not the bottleneck"
        return (
            f"client: {self.requests} requests, {self.cpu_seconds:.2f} s CPU, limit ~{self.limit:.0f} req/s "
            f"(offered {self.offered:g}), send lateness median {self.lateness_median * 1e3:.1f} ms, "
            f"p99 {self.lateness_p99 * 1e3:.1f} ms: {verdict}"
        )


def client_limit(summary: dict[str, Any], offered: float) -> ClientReport:
    """The client's limit from its summary: requests per CPU-second; bound if offered > half of it or p99 late > 0.1 s."""
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
    )


@dataclass
class LoadClient:
    """A running load worker: ``rate`` req/s to each of ``host``'s first ``vms`` VMs, files in order."""

    host: VMHost
    vms: int
    rate: float
    files: int
    timeout: float = 10.0
    duration: float = 3600.0
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

    def replies(self, vm: int, since: float) -> int:
        """Successful replies from VM ``vm`` that ended after ``since`` (monotonic)."""
        return sum(1 for r in self.requests if r.vm == vm and r.ok and r.end >= since)

    async def stop(self) -> ClientReport:
        """Ask the worker to stop, wait for its requests in flight, return its report."""
        assert self._process is not None and self._reader is not None
        if self._process.returncode is None:
            self._process.terminate()
        try:
            summary = await asyncio.wait_for(self._reader, self.timeout + 10)
        except TimeoutError:  # an OSError with no text: say what did not happen
            why = f"did not stop within {self.timeout + 10:g} s of being asked (offered {self.rate * self.vms:g} req/s)"
            raise LabError("load client", why) from None
        finally:
            await self.close()
        return client_limit(summary, self.rate * self.vms)

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
OUTAGE_SPACINGS = 2.5


def outages(
    requests: Sequence[Request],
    names: Sequence[str],
    start: float,
    rate: float,
    spans: Sequence[tuple[float, float]] = (),
) -> list[Outage]:
    """Each VM's gaps between consecutive successful replies longer than :data:`OUTAGE_SPACINGS` / ``rate`` s.

    ``names[i]`` names VM ``i``; times are seconds from ``start`` (monotonic), the
    trace's clock: from the end of the last reply before a gap to the end of the first after it.
    Within each
    of ``spans`` (s on the same clock: a procedure's), each VM's longest gap is an outage
    however short, so a warm reboot shorter than the threshold is still measured.
    """
    found = []
    for vm, name in enumerate(names):
        ends = np.sort([r.end - start for r in requests if r.vm == vm and r.ok])
        gaps = np.flatnonzero(np.diff(ends) > OUTAGE_SPACINGS / rate)
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
