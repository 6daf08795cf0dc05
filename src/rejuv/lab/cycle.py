"""The spare's cycle: each loaded host in turn is emptied onto the spare, its VMM rejuvenated, and it becomes the spare.

With hosts ``host0`` to ``host<H-1>``, the last one empty (the spare), a
migration procedure (:data:`~rejuv.lab.moves.MIGRATION_PROCEDURES`) moves
every VM of ``host0`` to the spare; once its last VM has left, ``host0``'s VMM
is restarted (:meth:`CycleHost.rejuvenate`, timed) and ``host0`` is the spare
for ``host1``; and so on, as the paper's cluster rejuvenates its hosts one
after another. Over three hosts the cycle runs twice: ``host0 -> host2``, then
``host1 -> host0``, and ``host1`` ends empty.

Markers, besides each VM's own (``migration-started`` ... ``-ended`` or
``-cancelled``): ``evacuation-started`` (subject None, note ``"host0 -> host2"``)
before a host's first move, and ``host-rejuvenated`` (subject None, note
naming the host and how long its VMM took) after its VMM restarted. A host
that still runs a VM after its moves (one was cancelled) is not rejuvenated:
the report says so and the cycle ends there, since no host is free to be the
next spare.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rejuv.lab.errors import LabError
from rejuv.lab.moves import Destination, TimedMark
from rejuv.lab.procedures import ProcedureReport
from rejuv.lab.vm import VM
from rejuv.trace.markers import MarkerKind

__all__ = ["CycleHost", "MoveProcedure", "spare_cycle"]

#: A migration procedure: moves the VMs given to the destination (``**options``: ``parallel``, ...).
MoveProcedure = Callable[..., Awaitable[ProcedureReport]]


@dataclass(frozen=True)
class CycleHost:
    """A host of the cycle: its name, where VMs that come to it go, and how its VMM restarts."""

    name: str
    arrival: Destination  #: its VMHost (``arrival.spare``), folder and migration URIs, for VMs moving here
    rejuvenate: Callable[[], object]  #: restarts its VMM once its VMs have left; raises LabError if it cannot


def _on(host: CycleHost, vms: Sequence[VM]) -> list[int]:
    return [position for position, vm in enumerate(vms) if vm.host is host.arrival.spare]


async def spare_cycle(
    vms: list[VM], mark: TimedMark, hosts: Sequence[CycleHost], procedure: MoveProcedure, **options: Any
) -> ProcedureReport:
    """Empty ``hosts[0]`` to ``hosts[-2]`` in turn onto the spare by ``procedure``; ``vms`` then holds them where they run.

    The spare starts as ``hosts[-1]`` (it must run none of ``vms``); each
    emptied host is rejuvenated and becomes the next spare. The report holds
    every VM's outcome, timing and pause, and the timings ``"<host>
    evacuation"`` and ``"<host> rejuvenation"`` (s) and ``"total"``.
    LabError("hosts") for fewer than two hosts or VMs already on the spare.
    """
    if len(hosts) < 2:
        raise LabError("hosts", f"the cycle needs a loaded host and a spare, got {len(hosts)} hosts")
    if _on(hosts[-1], vms):
        raise LabError("hosts", f"the spare {hosts[-1].name} must start empty")
    report: ProcedureReport | None = None
    began = time.monotonic()
    spare = hosts[-1]
    for host in hosts[:-1]:
        positions = _on(host, vms)
        mark(MarkerKind.EVACUATION_STARTED, None, f"{host.name} -> {spare.name}")
        group = [vms[position] for position in positions]
        part = await procedure(group, mark, spare.arrival, **options)
        for position, vm in zip(positions, group, strict=True):
            vms[position] = vm
        report = _merged(report, part, f"{host.name} evacuation")
        stayed = [vms[position].name for position in _on(host, vms)]
        if stayed:
            report.outcomes[host.name] = f"not rejuvenated: {', '.join(stayed)} still run there; the cycle ends"
            break
        rejuvenating = time.monotonic()
        host.rejuvenate()
        took = time.monotonic() - rejuvenating
        mark(MarkerKind.HOST_REJUVENATED, None, f"{host.name}: VMM restarted in {took:.3f} s")
        report.timings[f"{host.name} rejuvenation"] = took
        report.outcomes[host.name] = f"emptied onto {spare.name}, VMM restarted in {took:.3f} s; the next spare"
        spare = host
    assert report is not None  # hosts[:-1] is not empty
    report.timings["total"] = time.monotonic() - began
    return report


def _merged(report: ProcedureReport | None, part: ProcedureReport, evacuation: str) -> ProcedureReport:
    """``part``'s outcomes, timings, pauses and migrations added to ``report``; its total renamed ``evacuation``."""
    merged = report if report is not None else ProcedureReport(part.procedure)
    merged.outcomes.update(part.outcomes)
    merged.lost.update(part.lost)
    merged.pauses.update(part.pauses)
    merged.migrations.update(part.migrations)
    timings = dict(part.timings)
    merged.timings[evacuation] = timings.pop("total", 0.0)
    merged.timings.update(timings)
    return merged
