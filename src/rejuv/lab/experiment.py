"""One measured run: boot n VMs in a fresh host, load them, rejuvenate, record a trace.

:func:`run_experiment` makes a private run directory and a network namespace,
chooses the accelerator and the Warm-VM Reboot mechanism (:mod:`~rejuv.lab.mechanism`), boots the VMs, starts the load client, waits
``before`` seconds, runs the procedure, waits ``after`` seconds, stops the
load and builds the :class:`~rejuv.trace.data.Trace`: replies per second per
VM, each VM's outages to the request, the procedure's markers (on the same clock), and the run's metadata. It
removes every VM, memory file, socket and the namespace however it ends.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rejuv.lab.accel import ACCELERATORS, choose_accelerator
from rejuv.lab.cleanup import run_directory, shared_memory_root
from rejuv.lab.cluster import DEFAULT_LINK, Cluster, parse_link_rate
from rejuv.lab.errors import LabError
from rejuv.lab.host import MAX_VMS, Host
from rejuv.lab.image import GuestImage
from rejuv.lab.load import ClientReport, LoadClient, Request, outages, throughput
from rejuv.lab.machine import machine_metadata, qemu_version
from rejuv.lab.mechanism import MECHANISMS, choose_mechanism
from rejuv.lab.moves import MIGRATION_PROCEDURES, Destination
from rejuv.lab.procedures import PROCEDURES, ProcedureReport
from rejuv.lab.vm import VM, FaultHook, GuestStatus, VMConfig, VMHost
from rejuv.trace.data import Trace
from rejuv.trace.markers import Marker, MarkerKind

__all__ = ["Experiment", "ExperimentResult", "run_experiment", "check_room", "MAX_OFFERED_LOAD", "PROCEDURE_NAMES"]

#: Every procedure ``rejuv lab run`` knows: one host's, then the two-host lab's migrations.
PROCEDURE_NAMES = (*PROCEDURES, *MIGRATION_PROCEDURES)

#: req/s over all VMs. The client sends about 500 requests per CPU-second (docs/lab.md), on one core
#: at most: above twice that it cannot keep its schedule at all (and it stops answering SIGTERM).
MAX_OFFERED_LOAD = 1000.0
_PROCEDURE_ALLOWANCE = 3600.0  #: s the load goes on for the procedure itself, beyond before + after


@dataclass(frozen=True)
class Experiment:
    """What to run. Raises :class:`LabError` naming the field for a bad value, before anything is made."""

    procedure: str = "warm"
    vms: int = 2
    rate: float = 10.0  #: offered load per VM, req/s
    before: float = 30.0  #: seconds of load before the procedure
    after: float = 60.0  #: seconds of load after it
    memory_mb: int = 128
    disk_bps: int = 512 * 1024
    accel: str = "auto"
    step: float = 1.0
    seed: int = 0
    os_vm: int = 0  #: the VM whose OS the ``os`` procedure reboots
    timeout: float = 10.0  #: per request, s
    mechanism: str = "auto"  #: Warm-VM Reboot mechanism: auto, cpr-transfer, cpr-reboot or ignore-shared
    link: str | None = None  #: the migration link's rate (tc units, e.g. 1gbit); migration procedures only
    parallel_moves: int = 1  #: VMs that move at once (migration procedures)

    @property
    def two_hosts(self) -> bool:
        """Whether the procedure needs the two-host lab (a migration)."""
        return self.procedure in MIGRATION_PROCEDURES

    @property
    def link_rate(self) -> str:
        """The migration link's rate as given (the paper's gigabit Ethernet by default)."""
        return self.link if self.link is not None else DEFAULT_LINK

    def __post_init__(self) -> None:
        if self.procedure not in PROCEDURE_NAMES:
            raise LabError("procedure", f"must be one of {', '.join(PROCEDURE_NAMES)}, got {self.procedure!r}")
        if self.link is not None and not self.two_hosts:
            migrations = ", ".join(MIGRATION_PROCEDURES)
            raise LabError("link", f"only the migration procedures ({migrations}) use the two-host lab and its link")
        if self.two_hosts:
            parse_link_rate(self.link_rate)
        if not 1 <= self.parallel_moves <= max(1, self.vms if self.two_hosts else 1):
            where = f"from 1 to --vms ({self.vms})" if self.two_hosts else "1: only the migration procedures move VMs"
            raise LabError("parallel_moves", f"must be {where}, got {self.parallel_moves}")
        if self.mechanism not in MECHANISMS:
            raise LabError("mechanism", f"must be one of {', '.join(MECHANISMS)}, got {self.mechanism!r}")
        if self.accel not in ACCELERATORS:
            raise LabError("accel", f"must be one of {', '.join(ACCELERATORS)}, got {self.accel!r}")
        least = 2 if self.procedure == "os" else 1
        if not least <= self.vms <= MAX_VMS:
            raise LabError("vms", f"needs at least {least} and at most {MAX_VMS} (one /24 subnet), got {self.vms}")
        for name, unit in (("rate", " req/s"), ("step", " s"), ("timeout", " s"), ("before", " s"), ("after", " s")):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):  # NaN fails every comparison: refused here too
                raise LabError(name, f"must be a finite number > 0{unit}, got {value:g}")
        if self.rate * self.vms > MAX_OFFERED_LOAD:
            offered = f"{self.vms} VMs x {self.rate:g} req/s = {self.rate * self.vms:g} req/s"
            raise LabError(
                "rate", f"{offered} is more than one load client can send (at most {MAX_OFFERED_LOAD:g} req/s)"
            )
        if self.step > min(self.before, self.after):  # else a side of the procedure has no sample to compare
            window = f"the load before ({self.before:g} s) and after ({self.after:g} s) the procedure"
            raise LabError("step", f"must be no longer than {window}, got {self.step:g} s")
        if not 0 <= self.os_vm < self.vms:
            raise LabError("os_vm", f"must be a VM index from 0 to {self.vms - 1}, got {self.os_vm}")
        if self.seed < 0:
            raise LabError("seed", f"must be >= 0, got {self.seed}")
        VMConfig(memory_mb=self.memory_mb, disk_bps=self.disk_bps)  # its own limits, naming memory_mb or disk_bps


def check_room(experiment: Experiment, root: Path | None = None) -> None:
    """Raise :class:`LabError` (``memory_mb``) unless every guest's memory fits in RAM and in ``root`` (tmpfs).

    The memory files are sparse, but a warm reboot keeps every page a guest
    touched, so the whole of each guest's RAM must fit.
    """
    root = root if root is not None else shared_memory_root()
    needed = experiment.vms * experiment.memory_mb * 2**20
    stat = os.statvfs(root)
    room = min(stat.f_bavail * stat.f_frsize, _memory_available())
    if needed > room:
        guests = f"{experiment.vms} VMs x {experiment.memory_mb} MB = {needed // 2**20} MB of guest memory"
        raise LabError("memory_mb", f"{guests} do not fit in the {room // 2**20} MB free in RAM and {root}")


def _memory_available() -> int:
    """MemAvailable from /proc/meminfo, in bytes (no limit where it cannot be read)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 2**63


@dataclass
class ExperimentResult:
    """The trace and everything behind it."""

    trace: Trace
    report: ProcedureReport
    client: ClientReport
    accel: str
    status_before: dict[str, GuestStatus] = field(default_factory=dict)
    status_after: dict[str, GuestStatus] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    start: float = 0.0  #: monotonic time of the trace's t = 0
    markers: list[Marker] = field(default_factory=list)

    def marker_time(self, kind: MarkerKind) -> float:
        """Seconds from the trace's start of the first marker of ``kind``."""
        return next(m.time for m in self.markers if m.kind is kind)


async def _statuses(vms: list[VM]) -> dict[str, GuestStatus]:
    found = await asyncio.gather(*(vm.status() for vm in vms))
    return {vm.name: status for vm, status in zip(vms, found, strict=True)}


async def run_experiment(
    experiment: Experiment,
    image: GuestImage,
    progress: Callable[[str], None] = lambda _: None,
    faults: dict[int, FaultHook] | None = None,
    on_request: Callable[[Request], None] | None = None,
) -> ExperimentResult:
    """Run ``experiment`` on ``image``; ``faults`` maps VM indexes to fault hooks (tests).

    ``on_request`` is called with each of the client's requests as it finishes (``--metrics`` counts them).
    """
    check_room(experiment)
    mechanism = choose_mechanism(experiment.mechanism, qemu_version())  # refused before anything is made
    async with AsyncExitStack() as stack:
        run_dir = stack.enter_context(run_directory())
        host: VMHost
        client_host: VMHost
        options: dict[str, Any] = {"target": experiment.os_vm} if experiment.procedure == "os" else {}
        if experiment.two_hosts:
            cluster = stack.enter_context(Cluster(experiment.vms, parse_link_rate(experiment.link_rate)))
            host, client_host, vm_dir = cluster.source, cluster.client, run_dir / "source"
            vm_dir.mkdir()
            (run_dir / "spare").mkdir()
            options["destination"] = Destination(cluster.spare, run_dir / "spare", cluster.migration_uri)
            options["parallel"] = experiment.parallel_moves
            progress(
                f"two-host lab: migration link {experiment.link_rate} (namespaces {', '.join(cluster.namespaces)})"
            )
        else:
            host = client_host = stack.enter_context(Host(experiment.vms))
            vm_dir = run_dir
        accel = await choose_accelerator(experiment.accel, image, host, vm_dir)
        progress(f"accelerator: {accel.name} ({accel.reason})")
        progress(f"warm reboot mechanism: {mechanism.name} ({mechanism.reason})")
        config = VMConfig(experiment.memory_mb, accel.name, experiment.disk_bps, mechanism=mechanism.name)
        vms = [VM(i, host, image, vm_dir, config) for i in range(experiment.vms)]
        for vm in vms:
            stack.push_async_callback(vm.close)
        stack.push_async_callback(_close_all, vms)  # where a migration left them
        began = time.monotonic()
        await asyncio.gather(*(vm.boot() for vm in vms))
        progress(f"booted {experiment.vms} VMs in {time.monotonic() - began:.1f} s")
        for index, hook in (faults or {}).items():
            vms[index].fault = hook
        duration = experiment.before + experiment.after + _PROCEDURE_ALLOWANCE  # the client must outlast the run
        client = LoadClient(
            client_host,
            experiment.vms,
            experiment.rate,
            image.files,
            experiment.timeout,
            duration,
            on_request=on_request,
        )
        stack.push_async_callback(client.close)
        start = await client.start()
        markers: list[Marker] = []

        def mark(kind: MarkerKind, subject: str | None, note: str, at: float | None = None) -> None:
            markers.append(Marker((time.monotonic() if at is None else at) - start, kind, subject, note))
            progress(f"{markers[-1].time:7.1f} s  {kind.value}{' ' + subject if subject else ''}")

        await asyncio.sleep(max(0.0, start - time.monotonic()))
        mark(MarkerKind.LOAD_STARTED, None, f"{experiment.rate:g} req/s per VM")
        await _wait(experiment.before, start, client, experiment, progress)
        status_before = await _statuses(vms)
        began_at = time.monotonic()
        report = await {**PROCEDURES, **MIGRATION_PROCEDURES}[experiment.procedure](vms, mark, **options)
        for line in report.describe():
            progress(f"          {line}")
        resumed_at = time.monotonic()
        await _wait(experiment.after, resumed_at, client, experiment, progress)
        status_after = await _statuses(vms)
        if experiment.two_hosts:  # where every guest ended, and what still runs on each host
            on = {id(cluster.source): "source", id(cluster.spare): "spare"}
            placement = {
                "vm_hosts_after": {vm.name: on.get(id(vm.host), "?") for vm in vms},
                "host_processes_after": {
                    "source": len(cluster.processes(cluster.source)),
                    "spare": len(cluster.processes(cluster.spare)),
                },
            }
        else:
            placement = {}
        mark(MarkerKind.LOAD_ENDED, None, "")
        end = time.monotonic()
        client_report = await client.stop()
        progress(client_report.describe())
        series = throughput(client.requests, experiment.vms, start, end - start, experiment.step)
        metadata = {
            **machine_metadata(),
            **{f"experiment_{key}": value for key, value in asdict(experiment).items()},
            "generator": "rejuv lab",
            "time_origin_unix": time.time() - (time.monotonic() - start),  # the trace's 0 s on the wall clock
            "accel": accel.name,
            "accel_reason": accel.reason,
            "mechanism": mechanism.name,
            "mechanism_reason": mechanism.reason,
            "offered_load": experiment.rate,
            "seed": experiment.seed,
            "image": {"key": image.key, "files": image.files, "file_kb": image.file_kb, "kernel": image.kernel_release},
            "procedure_outcomes": report.outcomes,
            "procedure_lost": report.lost,
            "procedure_timings": report.timings,
            "procedure_pauses": report.pauses,
            "lab": "two hosts (source, spare)" if experiment.two_hosts else "one host",
            "migration_link": experiment.link_rate if experiment.two_hosts else None,
            **placement,
            "client": asdict(client_report),
            "guest_status_before": {name: asdict(s) for name, s in status_before.items()},
            "guest_status_after": {name: asdict(s) for name, s in status_after.items()},
        }
        names = tuple(vm.name for vm in vms)
        gaps = outages(client.requests, names, start, experiment.rate, [(began_at - start, resumed_at - start)])
        trace = Trace(experiment.step, names, series, markers=tuple(markers), metadata=metadata, outages=tuple(gaps))
        return ExperimentResult(
            trace, report, client_report, accel.name, status_before, status_after, list(client.requests), start, markers
        )
    raise AssertionError("unreachable")  # pragma: no cover - AsyncExitStack does not swallow errors here


async def _close_all(vms: list[VM]) -> None:
    for vm in vms:
        await vm.close()


async def _wait(
    seconds: float, since: float, client: LoadClient, experiment: Experiment, progress: Callable[[str], None]
) -> None:
    """Sleep ``seconds`` from ``since``, reporting throughput each 5 s."""
    deadline = since + seconds
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(5.0, left))
        now = time.monotonic()
        rates = [client.replies(vm, now - 5.0) / 5.0 for vm in range(experiment.vms)]
        progress(f"{now - client.start_at:7.1f} s  replies/s per VM: {' '.join(f'{r:5.1f}' for r in rates)}")
