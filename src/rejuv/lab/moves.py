"""The migration procedures: every VM of the source host moves to the spare host, one at a time.

- ``migration``: stop-and-copy. The guest stops on the source, its whole RAM
  and device state cross the hosts' shaped up-links, and it runs on the spare.
- ``live``: QEMU's pre-copy live migration, limited only by the link
  (QEMU's own ``max-bandwidth`` is lifted: the tc-shaped link is the limit);
  QEMU switches over once the rest fits in its ``downtime-limit``
  (``downtime_limit``, ms; QEMU's 300 by default).
- ``live_rate_control``: pre-copy with adaptive rate control (Xen's, after
  Clark et al.), driven by :class:`~rejuv.lab.rate_control.RoundWatcher`:
  each round's rate is set over QMP and written as a ``migration-round`` marker.

For each VM, in order (``parallel`` at a time, one by default), a destination
QEMU starts on the spare host (``-incoming``, listening on the spare's
address), the source sends the guest, and the destination runs it at the
VM's same address and MAC. Each move writes three markers for its VM:
``migration-started`` (before the destination starts),
``migration-switched-over`` (QEMU's ``STOP`` of the guest on the source,
placed at QEMU's own time of it; at the end of the move if QEMU sent none)
and ``migration-ended`` (the guest runs on the spare). A move that fails (the
destination dies, the link breaks so that nothing is sent for :data:`STALL`
s, a QMP error) is cancelled by :meth:`~rejuv.lab.vm.VM.migrate`: the guest
goes on running on the source, the trace says ``migration-cancelled`` with
the reason, the report says so, and the next VM moves. Ctrl-C and
cancellation are not faults: they propagate, and the caller's cleanup ends
every QEMU on both hosts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rejuv.lab.errors import LabError
from rejuv.lab.procedures import ProcedureReport
from rejuv.lab.rate_control import Round, RoundWatcher
from rejuv.lab.transport import Transport
from rejuv.lab.vm import DEFAULT_DOWNTIME_LIMIT, VM, VMHost, VMState
from rejuv.model.precopy import RateRule
from rejuv.trace.markers import MarkerKind

__all__ = ["MIGRATION_PROCEDURES", "TimedMark", "Destination", "move_all", "STALL"]

#: s without a byte sent after which a move counts as broken (a cut link: TCP alone would wait for minutes)
STALL = 5.0


class TimedMark(Protocol):
    """Records a marker: kind, subject VM name, note, and when (``time.monotonic()``; None: now)."""

    def __call__(self, kind: MarkerKind, subject: str | None, note: str, at: float | None = None) -> None: ...


@dataclass(frozen=True)
class Destination:
    """Where the VMs go: the spare host, its folder for the VMs' files, and each VM's migration URI."""

    spare: VMHost
    folder: Path
    migration_uri: Callable[[int], str]
    transport: Callable[[VM], Transport | None] = lambda vm: None  #: a destination's QEMU (tests: a fake); None: real


def _monotonic(wall: float | None) -> float | None:
    """QEMU's wall-clock time ``wall`` on the monotonic clock of the markers."""
    return None if wall is None else time.monotonic() - (time.time() - wall)


def _watcher(vm: VM, rule: RateRule | None, mark: TimedMark, downtime_limit: int) -> RoundWatcher:
    """The rounds of ``vm``'s live move; under ``rule`` each one's rate is set and marked."""

    def on_round(round_: Round) -> None:
        if rule is not None:
            mark(MarkerKind.MIGRATION_ROUND, vm.name, round_.describe(), at=round_.began)

    ram = vm.config.memory_mb * 2**20
    return RoundWatcher(ram, rule, vm.set_migration_parameters, on_round, unlimited_downtime_limit=downtime_limit)


async def _move(
    vm: VM,
    destination: Destination,
    live: bool,
    mark: TimedMark,
    report: ProcedureReport,
    rule: RateRule | None = None,
    downtime_limit: int = DEFAULT_DOWNTIME_LIMIT,
) -> VM:
    """Move ``vm`` to the spare host; the VM that runs the guest afterwards (the new one, or ``vm`` if cancelled)."""
    how = ("live, rate control" if rule is not None else "live") if live else "stop-and-copy"
    arrived = VM(vm.index, destination.spare, vm.image, destination.folder, vm.config, destination.transport(vm))
    uri = destination.migration_uri(vm.index)
    began = time.monotonic()
    mark(MarkerKind.MIGRATION_STARTED, vm.name, how)
    watcher = _watcher(vm, rule, mark, downtime_limit)  # its first round begins now
    limits = {"max_bandwidth": watcher.max_bandwidth, "downtime_limit": watcher.downtime_limit}
    try:
        await arrived.receive(uri)
        await vm.migrate(arrived, uri, live=live, stall=STALL, observe=watcher.observe, **limits)
    except LabError as err:
        await arrived.close()
        where = "runs on the source host" if vm.state is VMState.RUNNING else f"is {vm.state.value}"
        mark(MarkerKind.MIGRATION_CANCELLED, vm.name, f"{how}: {err}; the guest {where}")
        report.outcomes[vm.name] = f"migration cancelled ({err}); the guest {where}"
        return vm
    mark(MarkerKind.MIGRATION_SWITCHED_OVER, vm.name, how, at=_monotonic(vm.switched_over_at))
    mark(MarkerKind.MIGRATION_ENDED, vm.name, how)
    report.timings[vm.name] = time.monotonic() - began
    report.pauses[vm.name] = arrived.last_pause
    rounds = [r.record() for r in watcher.rounds]
    report.migrations[vm.name] = {"limits": limits, "rounds": rounds, "qemu": watcher.final_figures}
    report.outcomes[vm.name] = "; ".join([f"moved to the spare host ({how})", *vm.anomalies])
    return arrived


async def move_all(
    vms: list[VM],
    mark: TimedMark,
    destination: Destination,
    live: bool,
    parallel: int = 1,
    rule: RateRule | None = None,
    downtime_limit: int = DEFAULT_DOWNTIME_LIMIT,
) -> ProcedureReport:
    """Move every VM of ``vms`` to the spare host, ``parallel`` at a time (in order); ``vms`` then holds them where they run.

    One at a time by default, the paper's assumption (parallel moves lengthen
    each VM's downtime). The report's timings give each VM's move (s, start
    to end) and the total, its pauses the guest's pause by QEMU's events (the
    source's ``STOP`` to the spare's ``RESUME``), its migrations each move's
    starting ``limits`` (QEMU's ``max_bandwidth`` in bytes/s and
    ``downtime_limit`` in ms), rounds and QEMU's final ``query-migrate``
    figures. A live move under ``rule`` has its rate controlled; without, QEMU
    switches over once the rest fits in ``downtime_limit`` (ms).
    LabError("parallel_moves") unless 1 <= ``parallel``.
    """
    if parallel < 1:
        raise LabError("parallel_moves", f"must be at least 1, got {parallel}")
    report = ProcedureReport(("live_rate_control" if rule is not None else "live") if live else "migration")
    began = time.monotonic()
    gate = asyncio.Semaphore(parallel)  # first come, first served: the VMs start in order

    async def move(position: int, vm: VM) -> None:
        async with gate:
            vms[position] = await _move(vm, destination, live, mark, report, rule, downtime_limit)

    async with asyncio.TaskGroup() as moves:  # an interruption cancels every move, each rolling back
        for position, vm in enumerate(list(vms)):
            moves.create_task(move(position, vm))
    report.timings["total"] = time.monotonic() - began
    return report


async def stop_and_copy(vms: list[VM], mark: TimedMark, destination: Destination, parallel: int = 1) -> ProcedureReport:
    """``migration``: every VM moves by stop-and-copy, ``parallel`` at a time."""
    return await move_all(vms, mark, destination, live=False, parallel=parallel)


async def live_migration(
    vms: list[VM],
    mark: TimedMark,
    destination: Destination,
    parallel: int = 1,
    downtime_limit: int = DEFAULT_DOWNTIME_LIMIT,
) -> ProcedureReport:
    """``live``: every VM moves by QEMU's pre-copy live migration, ``parallel`` at a time, under ``downtime_limit`` (ms)."""
    return await move_all(vms, mark, destination, live=True, parallel=parallel, downtime_limit=downtime_limit)


async def live_rate_control(
    vms: list[VM], mark: TimedMark, destination: Destination, parallel: int = 1, rule: RateRule | None = None
) -> ProcedureReport:
    """``live_rate_control``: every VM moves live under adaptive rate control (``rule``; None: the paper's rates)."""
    return await move_all(vms, mark, destination, live=True, parallel=parallel, rule=rule or RateRule())


#: The migration procedures by name; each runs in the lab of hosts (:class:`~rejuv.lab.cluster.Cluster`),
#: once per loaded host in the spare's cycle (:func:`~rejuv.lab.cycle.spare_cycle`).
MIGRATION_PROCEDURES: dict[str, Callable[..., Awaitable[ProcedureReport]]] = {
    "migration": stop_and_copy,
    "live": live_migration,
    "live_rate_control": live_rate_control,
}
