"""The rejuvenation procedures, each writing its markers and saying what happened to every VM.

- :func:`warm_reboot`: Warm-VM Reboot, by the VMs' mechanism. With
  ``ignore-shared`` or ``cpr-reboot``: on-memory suspend of every VM in
  parallel (device state only; RAM stays in the memory files), quick reload
  (every QEMU has quit; new ones start on the same memory files), on-memory
  resume in parallel. With ``cpr-transfer``: every new QEMU starts while the
  old ones still serve, then every old QEMU hands its guest over in parallel
  (RAM as file descriptors, then the device state), and the old ones quit.
- :func:`save_to_file_reboot`: the same with the classic suspend that writes
  RAM into the state file and reads it back: the baseline.
- :func:`cold_reboot`: Cold-VM Reboot. Every guest shuts down, every QEMU
  exits, every VM boots again: the guests' caches are lost.
- :func:`os_rejuvenation`: one guest reboots (``system_reset``) while the others serve.

Faults: a new QEMU that fails to start for a hand-over, or a hand-over
rolled back, leaves its VM serving in the old QEMU, not rejuvenated, and the
report says so. A QEMU that dies while its VM suspends or resumes is
recovered from the preserved memory file and device state where both exist
(a resume is retried once); where the device state was never saved, or a
hand-over broke off after the guest moved, the VM boots afresh and the
report says that its memory was lost. The other VMs go on either way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rejuv.lab.errors import LabError, VMError
from rejuv.lab.vm import VM, VMState
from rejuv.trace.markers import MarkerKind

__all__ = [
    "ProcedureReport",
    "Mark",
    "PROCEDURES",
    "warm_reboot",
    "save_to_file_reboot",
    "cold_reboot",
    "os_rejuvenation",
]

#: Records a marker now: kind, subject VM name (None: the host), note.
Mark = Callable[[MarkerKind, "str | None", str], None]


@dataclass
class ProcedureReport:
    """What a procedure did: per-VM outcome, anything lost, and step durations (s)."""

    procedure: str
    outcomes: dict[str, str] = field(default_factory=dict)
    lost: dict[str, str] = field(default_factory=dict)  #: VM -> what it lost, for faults that lost state
    timings: dict[str, float] = field(default_factory=dict)
    pauses: dict[str, float | None] = field(default_factory=dict)  #: VM -> guest pause, STOP to RESUME (s)
    migrations: dict[str, dict[str, object]] = field(default_factory=dict)  #: VM -> its move's rounds and QEMU figures

    def describe(self) -> list[str]:
        lines = [f"{name}: {outcome}" for name, outcome in self.outcomes.items()]
        lines += [f"{name}: LOST {what}" for name, what in self.lost.items()]
        return lines


async def _timed(report: ProcedureReport, name: str, work: Awaitable[None]) -> None:
    began = time.monotonic()
    await work
    report.timings[name] = time.monotonic() - began


async def _reboot_on_memory(vms: Sequence[VM], mark: Mark, save_ram: bool, name: str) -> ProcedureReport:
    report = ProcedureReport(name)
    note = "save-to-file" if save_ram else "on-memory"
    mark(MarkerKind.SUSPEND_STARTED, None, note)
    await _each(vms, lambda vm: vm.suspend(save_ram=save_ram), report, "suspend", "suspend failed: {}")
    mark(MarkerKind.ALL_SUSPENDED, None, note)
    # Quick reload: every old QEMU has quit; the new VMM is ready to start new ones.
    mark(MarkerKind.VMM_RESTARTED, None, note)
    began = time.monotonic()
    await asyncio.gather(*(_bring_back(vm, report) for vm in vms))
    report.timings["resume"] = time.monotonic() - began
    mark(MarkerKind.ALL_RESUMED, None, note)
    report.pauses = {vm.name: vm.last_pause for vm in vms}
    return report


async def _reboot_by_handover(vms: Sequence[VM], mark: Mark) -> ProcedureReport:
    """Warm-VM Reboot by ``cpr-transfer``: new QEMUs start beside the serving ones, then take their guests over."""
    report = ProcedureReport("warm")
    failed_start = "its new QEMU failed to start ({}), not rejuvenated"
    await _each(vms, lambda vm: vm.prepare_handover(), report, "prepare", failed_start)
    ready = [vm for vm in vms if vm.state is VMState.PREPARED]
    mark(MarkerKind.SUSPEND_STARTED, None, "on-memory")
    await _each(ready, lambda vm: vm.hand_over(), report, "suspend", "hand-over failed: {}")
    mark(MarkerKind.ALL_SUSPENDED, None, "on-memory")
    mark(MarkerKind.VMM_RESTARTED, None, "on-memory")  # the new QEMUs were there before the guests stopped
    began = time.monotonic()
    await asyncio.gather(*(_take_over(vm, report) for vm in vms))
    report.timings["resume"] = time.monotonic() - began
    mark(MarkerKind.ALL_RESUMED, None, "on-memory")
    report.pauses = {vm.name: vm.last_pause for vm in vms}
    return report


async def _take_over(vm: VM, report: ProcedureReport) -> None:
    """Finish ``vm``'s hand-over, or say why it kept running, or boot it afresh and report what was lost."""
    if vm.state is VMState.HANDED_OVER:
        try:
            await vm.take_over()
            report.outcomes[vm.name] = "; ".join(["handed over", *vm.anomalies])
            return
        except VMError as err:
            report.outcomes[vm.name] = f"take-over failed: {err}"
    if vm.state is VMState.RUNNING:  # its new QEMU failed, or its hand-over was rolled back
        report.outcomes[vm.name] = report.outcomes.get(vm.name, "") + "; kept running"
        return
    report.lost[vm.name] = (
        "guest memory and device state: the hand-over did not complete, so the guest was booted afresh"
    )
    await vm.close()
    await vm.boot()
    report.outcomes[vm.name] = report.outcomes.get(vm.name, "") + "; booted afresh"


async def _each(
    vms: Sequence[VM], step: Callable[[VM], Awaitable[object]], report: ProcedureReport, timing: str, failure: str
) -> None:
    """Run ``step`` on every VM at once, timed as ``timing``; a VM whose step fails is reported (``failure`` formats it)."""
    began = time.monotonic()
    results = await asyncio.gather(*(step(vm) for vm in vms), return_exceptions=True)
    report.timings[timing] = time.monotonic() - began
    for vm, result in zip(vms, results, strict=True):
        _reraise_interrupts(result)
        if isinstance(result, BaseException):
            report.outcomes[vm.name] = failure.format(result)


def _reraise_interrupts(result: object) -> None:
    if isinstance(result, BaseException) and not isinstance(result, Exception):
        raise result  # Ctrl-C and cancellation are not faults to recover from


async def _bring_back(vm: VM, report: ProcedureReport) -> None:
    """Resume ``vm`` from its files (twice at most), or boot it afresh and report what was lost."""
    if vm.state is VMState.RUNNING:  # its suspend failed but was rolled back: it never stopped serving
        report.outcomes[vm.name] = report.outcomes.get(vm.name, "") + "; kept running"
        return
    if vm.recoverable:
        for attempt in (1, 2):
            try:
                await vm.resume()
                failure = "; ".join(filter(None, [report.outcomes.get(vm.name), *vm.anomalies])) or None
                report.outcomes[vm.name] = (
                    "resumed"
                    if attempt == 1 and failure is None
                    else (
                        f"recovered from its memory file and saved state (attempt {attempt})"
                        + (f" after: {failure}" if failure else "")
                    )
                )
                return
            except VMError as err:
                report.outcomes[vm.name] = f"resume attempt {attempt} failed: {err}"
    report.lost[vm.name] = (
        "guest memory and device state: the device state was never saved completely, so the guest was booted afresh"
        if not vm.state_file.exists()
        else "guest memory: resuming from the saved state failed twice, so the guest was booted afresh"
    )
    await vm.close()
    await vm.boot()
    report.outcomes[vm.name] = report.outcomes.get(vm.name, "") + "; booted afresh"


async def warm_reboot(vms: Sequence[VM], mark: Mark) -> ProcedureReport:
    """Warm-VM Reboot of every VM: on-memory suspend, quick reload, on-memory resume (or a cpr-transfer hand-over)."""
    if vms and all(vm.config.mechanism == "cpr-transfer" for vm in vms):
        return await _reboot_by_handover(vms, mark)
    return await _reboot_on_memory(vms, mark, save_ram=False, name="warm")


async def save_to_file_reboot(vms: Sequence[VM], mark: Mark) -> ProcedureReport:
    """The baseline: suspend that writes RAM to a file, VMM restart, resume that reads it back."""
    return await _reboot_on_memory(vms, mark, save_ram=True, name="save-to-file")


async def cold_reboot(vms: Sequence[VM], mark: Mark) -> ProcedureReport:
    """Cold-VM Reboot: shut every guest down, stop every QEMU, boot every VM again."""
    report = ProcedureReport("cold")
    mark(MarkerKind.SHUTDOWN_STARTED, None, "")
    await _timed(report, "shutdown", _all(vm.shutdown() for vm in vms))
    mark(MarkerKind.ALL_STOPPED, None, "")
    await _timed(report, "boot", _all(vm.boot() for vm in vms))
    mark(MarkerKind.ALL_BOOTED, None, "")
    report.outcomes.update({vm.name: "rebooted cold" for vm in vms})
    return report


async def os_rejuvenation(vms: Sequence[VM], mark: Mark, target: int = 0) -> ProcedureReport:
    """Reboot the guest OS of VM ``target`` while the others keep serving."""
    if not 0 <= target < len(vms):
        raise LabError("os_vm", f"must name one of the {len(vms)} VMs (0 to {len(vms) - 1}), got {target}")
    report = ProcedureReport("os")
    vm = vms[target]
    mark(MarkerKind.OS_REBOOT_STARTED, vm.name, "")
    await _timed(report, "reboot", vm.reset())
    mark(MarkerKind.OS_REBOOT_ENDED, vm.name, "")
    report.outcomes[vm.name] = "guest OS rebooted"
    report.outcomes.update({other.name: "kept serving" for other in vms if other is not vm})
    return report


async def _all(steps: Iterable[Awaitable[None]]) -> None:
    """Run steps in parallel; wait for all, then raise the first error."""
    results = await asyncio.gather(*steps, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


#: Procedures by name (``os`` takes the target VM as a keyword).
PROCEDURES: dict[str, Callable[..., Awaitable[ProcedureReport]]] = {
    "warm": warm_reboot,
    "cold": cold_reboot,
    "os": os_rejuvenation,
    "save-to-file": save_to_file_reboot,
}
