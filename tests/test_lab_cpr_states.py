"""QEMU's CheckPoint and Restart in the VM state machine, against fake QEMUs at the transport seam (no root, no QEMU).

``cpr-transfer``: a new QEMU (the VM's second transport) starts beside the
running one, which then hands it the guest; every step's rollback is checked
for the VM's state, the QEMU processes left, the sockets and the guest's
boot token. ``cpr-reboot``: the suspend and resume of the older path with
QEMU's own mode. Also the choice of the mechanism from QEMU's version.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from fake_qemu import FakeHost, FakeQEMU, fake_image
from rejuv.lab.errors import LabError, QEMUDiedError, VMError
from rejuv.lab.mechanism import choose_mechanism
from rejuv.lab.procedures import warm_reboot
from rejuv.lab.vm import VM, VMConfig, VMState
from rejuv.trace.markers import MarkerKind

Fakes = tuple[FakeQEMU, FakeQEMU]


def _run(step: Coroutine[Any, Any, None]) -> None:
    asyncio.run(step)


def _booted(
    folder: Path, mechanism: str = "cpr-transfer", index: int = 0, journal: list[str] | None = None
) -> tuple[VM, Fakes]:
    """A running VM with two fake QEMUs (its transport and its spare), sharing one fake network."""
    folder.mkdir(exist_ok=True)
    network: dict[str, FakeQEMU] = {}
    first, second = (FakeQEMU(f"vm{index}{tag}", network, journal) for tag in ("a", "b"))
    config = VMConfig(mechanism=mechanism)
    vm = VM(index, FakeHost(), fake_image(folder), folder, config, transport=first, spare_transport=second)
    _run(vm.boot())
    return vm, (first, second)


def _fails(step: Coroutine[Any, Any, None], error: type[VMError] = VMError) -> VMError:
    with pytest.raises(error) as caught:
        _run(step)
    return caught.value


def _handed_over(vm: VM) -> None:
    _run(vm.prepare_handover())
    _run(vm.hand_over())
    _run(vm.take_over())


def _sockets(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".cpr", ".main"))


# -- cpr-transfer ---------------------------------------------------------------------------------


def test_cpr_transfer_hands_the_same_guest_to_a_new_qemu_on_the_other_tap(tmp_path: Path) -> None:
    """Prepare, hand over, take over: RUNNING in the new QEMU with the same guest, the old one quit, no socket left."""
    vm, (old, new) = _booted(tmp_path)
    token = old.token
    _handed_over(vm)
    assert vm.state is VMState.RUNNING and vm.pid == new.pid is not None and old.pid is None
    assert new.token == token and new.run_status == "running" and "quit" in old.commands
    argv = new.argvs[-1]
    assert "memory-backend=ram0,aux-ram-share=on" in argv and "ifname=tap0s" in " ".join(argv)
    assert '"channel-type":"cpr"' in " ".join(argv) and _sockets(tmp_path) == []
    assert vm.last_pause is not None and 0 <= vm.last_pause < 1.0


def test_the_new_qemu_starts_while_the_guest_still_runs(tmp_path: Path) -> None:
    """After prepare_handover the new QEMU waits on its CPR socket and the old one has not stopped the guest."""
    vm, (old, new) = _booted(tmp_path)
    _run(vm.prepare_handover())
    assert vm.state is VMState.PREPARED and old.run_status == "running" and new.run_status == "inmigrate"
    assert "stop" not in old.commands and "migrate" not in old.commands
    assert _sockets(tmp_path) == ["vm0-2.cpr"]


def test_the_guest_hands_over_again_and_again_alternating_taps(tmp_path: Path) -> None:
    """Each hand-over swaps the two transports and the two taps; the guest is the same after three."""
    vm, (first, second) = _booted(tmp_path)
    token = first.token
    for _ in range(3):
        _handed_over(vm)
    assert vm.transport is second and second.token == token and first.pid is None
    assert [" ".join(a).count("ifname=tap0s") for a in (first.argvs[-1], second.argvs[-1])] == [0, 1]


@pytest.mark.parametrize(("where", "how"), [("start", "die"), ("socket", "die"), ("socket", "timeout")])
def test_a_new_qemu_that_fails_to_start_leaves_the_guest_running_in_the_old_one(
    tmp_path: Path, where: str, how: str
) -> None:
    """The new QEMU dies or makes no socket: VMError, the guest never stopped (RUNNING), no new QEMU or socket."""
    vm, (old, new) = _booted(tmp_path)
    token = old.token
    new.fail(where, how)
    _fails(vm.prepare_handover())
    assert vm.state is VMState.RUNNING and vm.pid == old.pid is not None and new.pid is None
    assert old.run_status == "running" and old.token == token and old.commands == []
    assert _sockets(tmp_path) == []


@pytest.mark.parametrize("how", ["socket removed", "new QEMU killed"])
def test_a_missing_socket_rolls_the_hand_over_back_and_the_guest_runs_on(tmp_path: Path, how: str) -> None:
    """The CPR socket is gone at migrate: VMError naming it, the guest runs on in the old QEMU, the new one killed."""
    vm, (old, new) = _booted(tmp_path)
    token = old.token
    _run(vm.prepare_handover())
    if how == "socket removed":
        (tmp_path / "vm0-2.cpr").unlink()
    else:
        new.kill()
    error = _fails(vm.hand_over())
    assert "Failed to connect" in str(error) and "vm0-2.cpr" in str(error)
    assert vm.state is VMState.RUNNING and old.run_status == "running" and old.token == token
    assert new.pid is None and _sockets(tmp_path) == []
    _handed_over(vm)  # and the next try works
    assert new.token == token


@pytest.mark.parametrize(
    ("where", "how"),
    [("migrate-set-parameters", "error"), ("migrate", "error"), ("query-migrate", "failed")],
)
def test_a_hand_over_failing_while_the_old_qemu_lives_continues_the_guest_there(
    tmp_path: Path, where: str, how: str
) -> None:
    """A QMP error, a failed migration or a new QEMU without QMP: the new QEMU killed, the guest RUNNING in the old."""
    vm, (old, new) = _booted(tmp_path)
    token = old.token
    _run(vm.prepare_handover())
    old.fail(where, how)
    _fails(vm.hand_over())
    assert vm.state is VMState.RUNNING and vm.pid == old.pid is not None and new.pid is None
    assert old.run_status == "running" and old.token == token and _sockets(tmp_path) == []


@pytest.mark.parametrize("how", ["timeout", "die"])
def test_a_completed_hand_over_without_a_reachable_new_qemu_fails_the_vm(tmp_path: Path, how: str) -> None:
    """The migration completed but the new QEMU's QMP never answers: both killed, FAILED, the old QEMU not continued."""
    vm, (old, new) = _booted(tmp_path)
    _run(vm.prepare_handover())
    new.fail("connect", how)
    _fails(vm.hand_over())
    assert vm.state is VMState.FAILED and old.pid is None and new.pid is None
    assert "cont" not in old.commands and vm.memory_file.exists() and _sockets(tmp_path) == []


def test_an_old_qemu_dying_after_it_handed_over_costs_nothing(tmp_path: Path) -> None:
    """The old QEMU killed once the hand-over completed: the new one runs the same guest; the death is an anomaly."""
    vm, (old, new) = _booted(tmp_path)
    token = old.token
    vm.fault = lambda machine, stage: machine.kill() if stage == "handed-over" else None
    _handed_over(vm)
    assert vm.state is VMState.RUNNING and vm.pid == new.pid is not None and old.pid is None
    assert new.token == token and "gone before quit" in vm.anomalies[0]


@pytest.mark.parametrize("where", ["migrate", "query-migrate"])
def test_an_old_qemu_dying_before_it_handed_over_leaves_the_vm_failed_without_qemu(tmp_path: Path, where: str) -> None:
    """The old QEMU dies during the hand-over: QEMUDiedError, FAILED, both QEMUs gone, the memory file kept."""
    vm, (old, new) = _booted(tmp_path)
    _run(vm.prepare_handover())
    old.fail(where, "die")
    _fails(vm.hand_over(), QEMUDiedError)
    assert vm.state is VMState.FAILED and old.pid is None and new.pid is None
    assert vm.memory_file.exists() and _sockets(tmp_path) == []


def test_a_new_qemu_dying_after_the_guest_moved_leaves_the_vm_failed(tmp_path: Path) -> None:
    """The new QEMU dies before take_over confirms the guest: FAILED, both QEMUs killed (the old state is stale)."""
    vm, (old, new) = _booted(tmp_path)
    _run(vm.prepare_handover())
    _run(vm.hand_over())
    new.fail("query-status", "die")
    _fails(vm.take_over(), QEMUDiedError)
    assert vm.state is VMState.FAILED and old.pid is None and new.pid is None


def test_hand_over_is_refused_without_the_mechanism_or_a_second_transport(tmp_path: Path) -> None:
    """prepare_handover needs the cpr-transfer mechanism and a spare transport: VMError, nothing started."""
    vm, (_, new) = _booted(tmp_path, mechanism="cpr-reboot")
    assert "needs the cpr-transfer mechanism" in str(_fails(vm.prepare_handover()))
    lone = FakeQEMU("vm1")
    config = VMConfig(mechanism="cpr-transfer")
    single = VM(1, FakeHost(), fake_image(tmp_path), tmp_path, config, transport=lone)
    _run(single.boot())
    assert "second transport" in str(_fails(single.prepare_handover()))
    assert vm.state is single.state is VMState.RUNNING and new.argvs == [] and len(lone.argvs) == 1


def test_close_during_a_hand_over_kills_both_qemus(tmp_path: Path) -> None:
    """close() of a PREPARED VM kills the old and the new QEMU and removes the sockets and files."""
    vm, (old, new) = _booted(tmp_path)
    _run(vm.prepare_handover())
    _run(vm.close())
    assert vm.state is VMState.STOPPED and old.pid is None and new.pid is None
    assert _sockets(tmp_path) == [] and not vm.memory_file.exists()


# -- the warm procedure by cpr-transfer ------------------------------------------------------------


def test_warm_reboot_starts_every_new_qemu_before_any_guest_stops(tmp_path: Path) -> None:
    """Every new QEMU starts before the first migrate; the markers keep their order; every guest is the same."""
    journal: list[str] = []
    machines = [_booted(tmp_path / f"vm{i}", index=i, journal=journal) for i in range(3)]
    tokens = [old.token for _, (old, _) in machines]
    journal.clear()
    marks: list[MarkerKind] = []
    report = asyncio.run(warm_reboot([vm for vm, _ in machines], lambda kind, _s, _n: marks.append(kind)))
    first_stop = min(i for i, line in enumerate(journal) if line.endswith(" migrate"))
    starts = [i for i, line in enumerate(journal) if line.endswith("b start")]
    assert len(starts) == 3 and max(starts) < first_stop
    order = [MarkerKind.SUSPEND_STARTED, MarkerKind.ALL_SUSPENDED, MarkerKind.VMM_RESTARTED, MarkerKind.ALL_RESUMED]
    assert marks == order
    assert [new.token for _, (_, new) in machines] == tokens and report.lost == {}
    assert all(outcome == "handed over" for outcome in report.outcomes.values())
    assert set(report.pauses) == {"vm0", "vm1", "vm2"} and all(p is not None for p in report.pauses.values())


def test_warm_reboot_by_cpr_transfer_recovers_what_each_fault_left(tmp_path: Path) -> None:
    """New QEMU fails: kept running; socket missing: kept running; old dies after handing over: handed over."""
    machines = [_booted(tmp_path / f"vm{i}", index=i) for i in range(4)]
    tokens = [old.token for _, (old, _) in machines]
    machines[0][1][1].fail("start", "die")
    machines[1][1][0].before("migrate", lambda: (tmp_path / "vm1" / "vm1-2.cpr").unlink())
    machines[2][0].fault = lambda machine, stage: machine.kill() if stage == "handed-over" else None
    vms = [vm for vm, _ in machines]
    report = asyncio.run(warm_reboot(vms, lambda kind, subject, note: None))
    assert all(vm.state is VMState.RUNNING for vm in vms) and report.lost == {}
    current = [old if vm.transport is old else new for vm, (old, new) in machines]
    assert [fake.token for fake in current] == tokens and current[0] is machines[0][1][0]
    assert "failed to start" in report.outcomes["vm0"] and report.outcomes["vm0"].endswith(
        "not rejuvenated; kept running"
    )
    assert "Failed to connect" in report.outcomes["vm1"] and report.outcomes["vm1"].endswith("kept running")
    assert report.outcomes["vm2"].startswith("handed over; QEMU was gone before quit")
    assert report.outcomes["vm3"] == "handed over" and report.pauses["vm0"] is None


# -- cpr-reboot --------------------------------------------------------------------------------------


def test_cpr_reboot_saves_to_a_file_and_the_guest_continues_by_itself(tmp_path: Path) -> None:
    """cpr-reboot: mode set on both sides, no stop or cont of ours, a file: URI; the same guest, its pause measured."""
    vm, (old, _) = _booted(tmp_path, mechanism="cpr-reboot")
    token = old.token
    _run(vm.suspend())
    assert (
        "stop" not in old.commands and old.run_status == "shutdown" and vm.state_file.read_text().endswith("autostart")
    )
    commands_before = len(old.commands)
    _run(vm.resume())
    assert vm.state is VMState.RUNNING and old.token == token and "cont" not in old.commands[commands_before:]
    assert vm.last_pause is not None and vm.last_pause >= 0


def test_ignore_shared_suspend_and_resume_measure_the_pause_from_qemus_events(tmp_path: Path) -> None:
    """ignore-shared: our stop and cont make the STOP and RESUME events; last_pause is the time between them."""
    vm, (old, _) = _booted(tmp_path, mechanism="ignore-shared")
    _run(vm.suspend())
    stopped = [when for name, when in old.events() if name == "STOP"]
    _run(vm.resume())
    resumed = [when for name, when in old.events() if name == "RESUME"]
    assert vm.last_pause == pytest.approx(resumed[-1] - stopped[-1])


# -- the mechanism ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "best"),
    [
        ("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)", "cpr-transfer"),
        ("QEMU emulator version 9.2.0", "cpr-reboot"),
        ("QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1)", "cpr-reboot"),
        ("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)", "ignore-shared"),
        ("absent", "ignore-shared"),
    ],
)
def test_auto_takes_the_best_mechanism_the_qemu_version_has(version: str, best: str) -> None:
    """auto: cpr-transfer from QEMU 10.0, cpr-reboot from 8.2, ignore-shared before (or if the version is unknown)."""
    assert choose_mechanism("auto", version).name == best


def test_a_forced_mechanism_the_qemu_lacks_is_refused_naming_the_versions() -> None:
    """Forcing cpr-transfer on QEMU 9.2 raises LabError naming the field, the version needed and the one found."""
    with pytest.raises(LabError) as caught:
        choose_mechanism("cpr-transfer", "QEMU emulator version 9.2.0")
    assert str(caught.value) == "mechanism: cpr-transfer needs QEMU >= 10.0, this one is 9.2"
    assert choose_mechanism("ignore-shared", "QEMU emulator version 10.0.2").name == "ignore-shared"
