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
from rejuv.lab.cluster import DEFAULT_LINK, MAX_HOSTS, Cluster, ClusterHost, parse_link_rate
from rejuv.lab.cmdline import default_dirty_buffer
from rejuv.lab.cycle import CycleHost, spare_cycle
from rejuv.lab.errors import LabError
from rejuv.lab.host import MAX_VMS, Host
from rejuv.lab.image import GuestImage
from rejuv.lab.load import (
    MAX_CONCURRENCY,
    MAX_IN_FLIGHT,
    ClientReport,
    LoadClient,
    Request,
    closed_loop_spacing,
    outages,
    throughput,
)
from rejuv.lab.machine import machine_metadata, qemu_version
from rejuv.lab.mechanism import MECHANISMS, choose_mechanism
from rejuv.lab.moves import MIGRATION_PROCEDURES, Destination
from rejuv.lab.procedures import PROCEDURES, ProcedureReport
from rejuv.lab.rate_control import DEFAULT_RATE_CONTROL, parse_rate_control
from rejuv.lab.vm import DEFAULT_DOWNTIME_LIMIT, MAX_DOWNTIME_LIMIT, VM, FaultHook, GuestStatus, VMConfig, VMHost
from rejuv.lab.warmup import fill_page_caches
from rejuv.model.precopy import RateRule
from rejuv.trace.data import Trace
from rejuv.trace.markers import Marker, MarkerKind

__all__ = [
    "Experiment",
    "ExperimentResult",
    "run_experiment",
    "check_room",
    "MAX_OFFERED_LOAD",
    "PROCEDURE_NAMES",
]

#: Every procedure ``rejuv lab run`` knows: one host's, then the migrations of the lab of hosts.
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
    rate: float = 10.0  #: offered load per VM, req/s (open loop; unused when ``concurrency`` is set)
    concurrency: int | None = None  #: closed loop: requests in flight per VM, each sent when one ends (replaces rate)
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
    hosts: int = 2  #: hosts of the lab, the spare included (migration procedures): ``vms`` VMs on each of the others
    rate_control: str | None = None  #: INITIAL,INCREMENT,MAXIMUM (tc units); live_rate_control only
    downtime_limit: float | None = None  #: s: QEMU's downtime limit for every move (None: its 300 ms); live only
    dirty: float = 0.0  #: MiB/s each guest rewrites in its buffer (0: the web workload alone)
    dirty_buffer: int | None = None  #: MiB of that buffer, filled at boot (None: see default_dirty_buffer)

    @property
    def multi_host(self) -> bool:
        """Whether the procedure needs the lab of several hosts (a migration)."""
        return self.procedure in MIGRATION_PROCEDURES

    @property
    def total_vms(self) -> int:
        """VMs in the whole lab: ``vms`` on each loaded host (every host but the spare), or ``vms`` on the one host."""
        return self.vms * (self.hosts - 1) if self.multi_host else self.vms

    @property
    def load(self) -> str:
        """The load as a trace's metadata and the progress say it: open loop's rate or closed loop's concurrency."""
        if self.concurrency is None:
            return f"open loop, {self.rate:g} req/s per VM"
        return f"closed loop, {self.concurrency} in flight per VM"

    @property
    def link_rate(self) -> str:
        """The migration link's rate as given (the paper's gigabit Ethernet by default)."""
        return self.link if self.link is not None else DEFAULT_LINK

    @property
    def rate_rule(self) -> RateRule:
        """live_rate_control's rates (the paper's by default)."""
        return parse_rate_control(self.rate_control if self.rate_control is not None else DEFAULT_RATE_CONTROL)

    @property
    def downtime_limit_ms(self) -> int | None:
        """ms: QEMU's downtime limit for live's moves (given, or QEMU's default); None for the other procedures.

        Stop-and-copy has no pre-copy to end, and live_rate_control's controller sets the limit itself.
        """
        if self.procedure != "live":
            return None
        return DEFAULT_DOWNTIME_LIMIT if self.downtime_limit is None else round(self.downtime_limit * 1000)

    @property
    def dirty_buffer_mb(self) -> int:
        """MiB each guest fills at boot and rewrites at :attr:`dirty` (given, or the default with --dirty, else 0)."""
        if self.dirty_buffer is not None:
            return self.dirty_buffer
        return default_dirty_buffer(self.memory_mb) if self.dirty > 0 else 0

    def __post_init__(self) -> None:
        if self.procedure not in PROCEDURE_NAMES:
            raise LabError("procedure", f"must be one of {', '.join(PROCEDURE_NAMES)}, got {self.procedure!r}")
        if self.rate_control is not None and self.procedure != "live_rate_control":
            raise LabError("rate_control", "only the live_rate_control procedure controls its rate")
        self.rate_rule  # noqa: B018 - parsed for its errors, naming rate_control
        if self.downtime_limit is not None:
            _check_downtime_limit(self.procedure, self.downtime_limit)
        if self.link is not None and not self.multi_host:
            migrations = ", ".join(MIGRATION_PROCEDURES)
            raise LabError("link", f"only the migration procedures ({migrations}) use the lab of hosts and its links")
        if self.hosts != 2 and not self.multi_host:
            migrations = ", ".join(MIGRATION_PROCEDURES)
            raise LabError("hosts", f"only the migration procedures ({migrations}) run on several hosts")
        if not 2 <= self.hosts <= MAX_HOSTS:
            raise LabError("hosts", f"must be from 2 (a loaded host and the spare) to {MAX_HOSTS}, got {self.hosts}")
        if self.multi_host:
            parse_link_rate(self.link_rate)
        if not 1 <= self.parallel_moves <= max(1, self.vms if self.multi_host else 1):
            where = f"from 1 to --vms ({self.vms})" if self.multi_host else "1: only the migration procedures move VMs"
            raise LabError("parallel_moves", f"must be {where}, got {self.parallel_moves}")
        if self.mechanism not in MECHANISMS:
            raise LabError("mechanism", f"must be one of {', '.join(MECHANISMS)}, got {self.mechanism!r}")
        if self.accel not in ACCELERATORS:
            raise LabError("accel", f"must be one of {', '.join(ACCELERATORS)}, got {self.accel!r}")
        least = 2 if self.procedure == "os" else 1
        if not least <= self.vms <= MAX_VMS:
            raise LabError("vms", f"needs at least {least} and at most {MAX_VMS} (one /24 subnet), got {self.vms}")
        if self.total_vms > MAX_VMS:
            lab = f"{self.vms} VMs x {self.hosts - 1} loaded hosts = {self.total_vms} VMs"
            raise LabError("vms", f"{lab}: at most {MAX_VMS} fit in the lab (one /24 subnet)")
        for name, unit in (("rate", " req/s"), ("step", " s"), ("timeout", " s"), ("before", " s"), ("after", " s")):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):  # NaN fails every comparison: refused here too
                raise LabError(name, f"must be a finite number > 0{unit}, got {value:g}")
        if self.concurrency is not None:
            if not 1 <= self.concurrency <= MAX_CONCURRENCY:
                raise LabError("concurrency", f"must be from 1 to {MAX_CONCURRENCY} per VM, got {self.concurrency}")
            if self.concurrency * self.total_vms > MAX_IN_FLIGHT:
                lab = f"{self.total_vms} VMs x {self.concurrency} = {self.concurrency * self.total_vms} in flight"
                raise LabError("concurrency", f"{lab}: at most {MAX_IN_FLIGHT} (one connection each in one client)")
        elif self.rate * self.total_vms > MAX_OFFERED_LOAD:
            offered = f"{self.total_vms} VMs x {self.rate:g} req/s = {self.rate * self.total_vms:g} req/s"
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
        # its own limits, naming memory_mb, disk_bps, dirty or dirty_buffer
        VMConfig(memory_mb=self.memory_mb, disk_bps=self.disk_bps, dirty=self.dirty, dirty_buffer=self.dirty_buffer_mb)


#: Why each procedure but live takes no downtime limit.
_NO_DOWNTIME_LIMIT = {
    "migration": "stop-and-copy stops the guest before sending it: there is no pre-copy for the limit to end",
    "live_rate_control": "its rate controller sets QEMU's downtime limit itself (1 ms, lifted for the last round)",
}


def _check_downtime_limit(procedure: str, seconds: float) -> None:
    """LabError("downtime_limit") unless live takes ``seconds`` as QEMU's downtime limit: whole ms, 1 to 2000 s.

    QEMU takes 0 ms too, but then pre-copy never ends (see
    :attr:`~rejuv.lab.rate_control.RoundWatcher.downtime_limit`).
    """
    if procedure != "live":
        why = _NO_DOWNTIME_LIMIT.get(procedure, f"{procedure} migrates no VM")
        raise LabError("downtime_limit", f"only for the live procedure: {why}")
    ms = seconds * 1000
    if not math.isfinite(ms) or abs(ms - round(ms)) > 1e-6:  # 0.1 s is 100.00000000000001 ms in floating point
        raise LabError("downtime_limit", f"must be a whole number of ms (QEMU's unit), got {seconds:g} s")
    if not 1 <= round(ms) <= MAX_DOWNTIME_LIMIT:
        most = f"{MAX_DOWNTIME_LIMIT // 1000} s"
        why = f"must be from 1 ms to {most} (QEMU's range is 0 to {most}, and at 0 pre-copy never ends)"
        raise LabError("downtime_limit", f"{why}, got {ms:.0f} ms")


def check_room(experiment: Experiment, root: Path | None = None) -> None:
    """Raise :class:`LabError` (``memory_mb``) unless every guest's memory fits in RAM and in ``root`` (tmpfs).

    The memory files are sparse, but a warm reboot keeps every page a guest
    touched, so the whole of each guest's RAM must fit.
    """
    root = root if root is not None else shared_memory_root()
    needed = experiment.total_vms * experiment.memory_mb * 2**20
    stat = os.statvfs(root)
    room = min(stat.f_bavail * stat.f_frsize, _memory_available())
    if needed > room:
        guests = f"{experiment.total_vms} VMs x {experiment.memory_mb} MB = {needed // 2**20} MB of guest memory"
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
        client_host: VMHost
        options: dict[str, Any] = {"target": experiment.os_vm} if experiment.procedure == "os" else {}
        cluster: Cluster | None = None
        if experiment.multi_host:
            rate = parse_link_rate(experiment.link_rate)
            cluster = stack.enter_context(Cluster(experiment.total_vms, rate, experiment.hosts))
            client_host, cycle = cluster.client, _cycle_hosts(cluster, run_dir)
            arrivals = [cycle[i // experiment.vms].arrival for i in range(experiment.total_vms)]  # vms per loaded host
            homes = [(arrival.spare, arrival.folder) for arrival in arrivals]
            options.update(hosts=cycle, procedure=MIGRATION_PROCEDURES[experiment.procedure])
            options["parallel"] = experiment.parallel_moves
            if experiment.procedure == "live_rate_control":
                options["rule"] = experiment.rate_rule
            if experiment.downtime_limit_ms is not None:
                options["downtime_limit"] = experiment.downtime_limit_ms
            links = f"up-links {experiment.link_rate} each"
            progress(f"{experiment.hosts} hosts, {links} (namespaces {', '.join(cluster.namespaces)})")
        else:
            client_host = stack.enter_context(Host(experiment.vms))
            homes = [(client_host, run_dir)] * experiment.vms
        accel = await choose_accelerator(experiment.accel, image, *homes[0])
        progress(f"accelerator: {accel.name} ({accel.reason})")
        progress(f"warm reboot mechanism: {mechanism.name} ({mechanism.reason})")
        config = VMConfig(
            experiment.memory_mb,
            accel.name,
            experiment.disk_bps,
            mechanism=mechanism.name,
            boot_timeout=60.0 + experiment.dirty_buffer_mb / 4,  # the guest fills its buffer at >= 4 MiB/s under TCG
            dirty=experiment.dirty,
            dirty_buffer=experiment.dirty_buffer_mb,
        )
        vms = [VM(i, host, image, folder, config) for i, (host, folder) in enumerate(homes)]
        for vm in vms:
            stack.push_async_callback(vm.close)
        stack.push_async_callback(_close_all, vms)  # where a migration left them
        began = time.monotonic()
        await asyncio.gather(*(vm.boot() for vm in vms))
        progress(f"booted {experiment.total_vms} VMs in {time.monotonic() - began:.1f} s")
        for index, hook in (faults or {}).items():
            vms[index].fault = hook
        progress(f"filling each guest's page cache: {image.files} files of {image.file_kb} KB, disk unthrottled")
        filled = await fill_page_caches(
            client_host, vms, image.files, image.file_kb, experiment.disk_bps, experiment.timeout
        )
        progress(f"page caches filled in {filled:.1f} s; disks throttled to {experiment.disk_bps // 1024} KB/s")
        duration = experiment.before + experiment.after + _PROCEDURE_ALLOWANCE  # the client must outlast the run
        client = LoadClient(
            client_host,
            experiment.total_vms,
            experiment.rate,
            image.files,
            experiment.timeout,
            duration,
            concurrency=experiment.concurrency,
            on_request=on_request,
        )
        stack.push_async_callback(client.close)
        start = await client.start()
        markers: list[Marker] = []

        def mark(kind: MarkerKind, subject: str | None, note: str, at: float | None = None) -> None:
            markers.append(Marker((time.monotonic() if at is None else at) - start, kind, subject, note))
            about = subject if subject else note  # a host-wide marker's note says which host (the spare's cycle)
            progress(f"{markers[-1].time:7.1f} s  {kind.value}{' ' + about if about else ''}")

        await asyncio.sleep(max(0.0, start - time.monotonic()))
        mark(MarkerKind.LOAD_STARTED, None, experiment.load)
        await _wait(experiment.before, start, client, experiment, progress)
        status_before = await _statuses(vms)
        placed_before = _placement(vms, cluster)
        began_at = time.monotonic()
        run_procedure = spare_cycle if experiment.multi_host else PROCEDURES[experiment.procedure]
        report = await run_procedure(vms, mark, **options)
        for line in report.describe():
            progress(f"          {line}")
        resumed_at = time.monotonic()
        await _wait(experiment.after, resumed_at, client, experiment, progress)
        status_after = await _statuses(vms)
        placement = {}
        if cluster is not None:  # where every guest was and ended, and what still runs on each host
            placement = {
                "vm_hosts_before": placed_before,
                "vm_hosts_after": _placement(vms, cluster),
                "host_processes_after": {host.name: len(cluster.processes(host)) for host in cluster.hosts},
            }
        mark(MarkerKind.LOAD_ENDED, None, "")
        end = time.monotonic()
        client_report = await client.stop()
        progress(client_report.describe())
        series = throughput(client.requests, experiment.total_vms, start, end - start, experiment.step)
        metadata = {
            **machine_metadata(),
            **{f"experiment_{key}": value for key, value in asdict(experiment).items()},
            "generator": "rejuv lab",
            "time_origin_unix": time.time() - (time.monotonic() - start),  # the trace's 0 s on the wall clock
            "accel": accel.name,
            "accel_reason": accel.reason,
            "mechanism": mechanism.name,
            "mechanism_reason": mechanism.reason,
            "load": experiment.load,
            "cache_fill_s": filled,  # before the load began: each VM served each file once (rejuv.lab.warmup)
            "offered_load": experiment.rate if experiment.concurrency is None else None,  # closed loop: not known
            "seed": experiment.seed,
            "image": {"key": image.key, "files": image.files, "file_kb": image.file_kb, "kernel": image.kernel_release},
            "procedure_outcomes": report.outcomes,
            "procedure_lost": report.lost,
            "procedure_timings": report.timings,
            "procedure_pauses": report.pauses,
            "procedure_migrations": report.migrations,  # per VM: its rounds (rates in Mbit/s) and QEMU's figures
            "dirty_buffer_mb": experiment.dirty_buffer_mb,
            "lab": f"{experiment.hosts} hosts (the last one the spare)" if experiment.multi_host else "one host",
            "migration_link": experiment.link_rate if experiment.multi_host else None,
            "downtime_limit_ms": experiment.downtime_limit_ms,  # live's, every move's; None for the others
            **placement,
            "client": asdict(client_report),
            "guest_status_before": {name: asdict(s) for name, s in status_before.items()},
            "guest_status_after": {name: asdict(s) for name, s in status_after.items()},
        }
        names = tuple(vm.name for vm in vms)
        # closed loop, a gap is long against the VM's own replies before the procedure (no rate was offered)
        spacing = (
            experiment.rate
            if experiment.concurrency is None
            else closed_loop_spacing(client.requests, len(names), start, began_at)
        )
        gaps = outages(client.requests, names, start, spacing, [(began_at - start, resumed_at - start)])
        trace = Trace(experiment.step, names, series, markers=tuple(markers), metadata=metadata, outages=tuple(gaps))
        return ExperimentResult(
            trace, report, client_report, accel.name, status_before, status_after, list(client.requests), start, markers
        )
    raise AssertionError("unreachable")  # pragma: no cover - AsyncExitStack does not swallow errors here


def _cycle_hosts(cluster: Cluster, run_dir: Path) -> list[CycleHost]:
    """The cluster's hosts as the spare's cycle sees them, each with its folder for the VMs' files in ``run_dir``."""

    def host(member: ClusterHost) -> CycleHost:
        folder = run_dir / member.name
        folder.mkdir()
        return CycleHost(
            member.name, Destination(member, folder, member.migration_uri), lambda: cluster.rejuvenate(member)
        )

    return [host(member) for member in cluster.hosts]


def _placement(vms: list[VM], cluster: Cluster | None) -> dict[str, str]:
    """Each VM's name and the name of the cluster's host it runs on (nothing for the one-host lab)."""
    names = {} if cluster is None else {id(host): host.name for host in cluster.hosts}
    return {vm.name: names[id(vm.host)] for vm in vms if id(vm.host) in names}


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
        rates = [client.replies(vm, now - 5.0) / 5.0 for vm in range(experiment.total_vms)]
        progress(f"{now - client.start_at:7.1f} s  replies/s per VM: {' '.join(f'{r:5.1f}' for r in rates)}")
