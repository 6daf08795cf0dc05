"""The VM's state machine and every rollback, against a fake QEMU at the transport seam (no root, no QEMU).

Each test drives a :class:`rejuv.lab.vm.VM` whose transport is a
:class:`fake_qemu.FakeQEMU`, injects a failure at one step (a QMP error, a
QEMU that dies, a timeout, a migration that fails), and checks what the
rollback left: the VM's state, whether a QEMU process is left, the memory and
state files, and whether the guest (its boot token) survived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from fake_qemu import FakeHost, FakeQEMU, fake_image
from rejuv.lab.errors import QEMUDiedError, VMError
from rejuv.lab.procedures import warm_reboot
from rejuv.lab.vm import VM, VMConfig, VMState

URI = "tcp:192.168.100.2:4444"


def _vm(folder: Path, index: int = 0, network: dict[str, FakeQEMU] | None = None) -> tuple[VM, FakeQEMU]:
    folder.mkdir(exist_ok=True)
    fake = FakeQEMU(f"vm{index}", network)
    return VM(index, FakeHost(), fake_image(folder), folder, VMConfig(), transport=fake), fake


def _run(step: Coroutine[Any, Any, None]) -> None:
    asyncio.run(step)


def _booted(folder: Path, index: int = 0, network: dict[str, FakeQEMU] | None = None) -> tuple[VM, FakeQEMU]:
    vm, fake = _vm(folder, index, network)
    _run(vm.boot())
    return vm, fake


def _suspended(folder: Path, save_ram: bool = False) -> tuple[VM, FakeQEMU, str | None]:
    vm, fake = _booted(folder)
    token = fake.token
    _run(vm.suspend(save_ram=save_ram))
    return vm, fake, token


def _fails(step: Coroutine[Any, Any, None], error: type[VMError] = VMError) -> VMError:
    with pytest.raises(error) as caught:
        _run(step)
    return caught.value


# -- boot, reset, shutdown ---------------------------------------------------------------------


def test_boot_runs_a_guest_from_a_fresh_memory_file(tmp_path: Path) -> None:
    """A boot starts one QEMU on the VM's memory file and waits for the guest's ready line: RUNNING."""
    vm, fake = _vm(tmp_path)
    vm.memory_file.write_text("an old guest")
    _run(vm.boot())
    assert vm.state is VMState.RUNNING and vm.pid is not None
    assert vm.boot_token == fake.token and vm.memory_file.read_text() == fake.token
    assert "-incoming" not in fake.argvs[0]


def test_a_step_in_the_wrong_state_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    """A step asked of a VM in a state it does not start from raises VMError naming the states; nothing runs."""
    vm, fake = _vm(tmp_path)
    error = _fails(vm.suspend())
    assert "needs state running, is created" in str(error)
    assert vm.state is VMState.CREATED and fake.argvs == [] and fake.commands == []


@pytest.mark.parametrize(
    ("where", "how", "error"),
    [
        ("start", "die", QEMUDiedError),
        ("start", "timeout", VMError),
        ("ready", "die", QEMUDiedError),
        ("ready", "error", VMError),
        ("ready", "timeout", VMError),
    ],
)
def test_a_failed_boot_leaves_the_vm_failed_without_qemu_or_memory(
    tmp_path: Path, where: str, how: str, error: type[VMError]
) -> None:
    """A boot whose QEMU dies, never opens QMP, or whose guest never serves: FAILED, no QEMU, no memory file."""
    vm, fake = _vm(tmp_path)
    fake.fail(where, how)
    _fails(vm.boot(), error)
    assert vm.state is VMState.FAILED and vm.pid is None
    assert not vm.memory_file.exists()


def test_a_boot_that_never_serves_says_how_long_it_waited(tmp_path: Path) -> None:
    """The timeout's message names the boot timeout and the accelerator."""
    vm, fake = _vm(tmp_path)
    fake.fail("ready", "timeout")
    assert "did not serve within 60 s (tcg)" in str(_fails(vm.boot()))


def test_a_failed_vm_boots_again(tmp_path: Path) -> None:
    """After a failed boot the VM can boot afresh."""
    vm, fake = _vm(tmp_path)
    fake.fail("start", "die")
    _fails(vm.boot())
    _run(vm.boot())
    assert vm.state is VMState.RUNNING and vm.boot_token == fake.token


def test_reset_reboots_the_guest_in_the_same_qemu(tmp_path: Path) -> None:
    """system_reset gives a new boot token, and the same QEMU process goes on."""
    vm, fake = _booted(tmp_path)
    token, pid = vm.boot_token, vm.pid
    _run(vm.reset())
    assert vm.state is VMState.RUNNING and vm.pid == pid
    assert vm.boot_token == fake.token != token


@pytest.mark.parametrize(("where", "how"), [("system_reset", "error"), ("system_reset", "die"), ("ready", "timeout")])
def test_a_failed_reset_kills_qemu_and_leaves_the_vm_failed(tmp_path: Path, where: str, how: str) -> None:
    """A reset that fails, or whose guest never comes back, leaves the VM FAILED and no QEMU."""
    vm, fake = _booted(tmp_path)
    fake.fail(where, how)
    _fails(vm.reset())
    assert vm.state is VMState.FAILED and vm.pid is None


def test_shutdown_stops_qemu_and_drops_the_memory_file(tmp_path: Path) -> None:
    """system_powerdown, QEMU exits by itself: STOPPED, and the guest's memory is gone."""
    vm, fake = _booted(tmp_path)
    _run(vm.shutdown())
    assert vm.state is VMState.STOPPED and vm.pid is None and fake.run_status == "shutdown"
    assert not vm.memory_file.exists()


@pytest.mark.parametrize(("where", "how"), [("exit", "timeout"), ("system_powerdown", "error")])
def test_a_guest_that_does_not_power_off_is_killed(tmp_path: Path, where: str, how: str) -> None:
    """A guest that ignores the power button, or a failed powerdown command: VMError, QEMU killed, STOPPED."""
    vm, fake = _booted(tmp_path)
    fake.fail(where, how)
    _fails(vm.shutdown(timeout=0.1))
    assert vm.state is VMState.STOPPED and vm.pid is None and fake.run_status == "killed"
    assert not vm.memory_file.exists()


# -- suspend and resume ------------------------------------------------------------------------


def test_on_memory_suspend_saves_only_the_device_state_and_keeps_the_memory_file(tmp_path: Path) -> None:
    """Suspend with x-ignore-shared: a state file without RAM, the memory file kept, QEMU quit: SUSPENDED."""
    vm, fake, token = _suspended(tmp_path)
    assert vm.state is VMState.SUSPENDED and vm.pid is None and vm.recoverable
    assert vm.state_file.read_text() == f"{token} devices"
    assert vm.memory_file.read_text() == token
    assert fake.commands[-1] == "quit" and vm.anomalies == []


def test_save_to_file_suspend_puts_ram_in_the_state_file_and_drops_the_memory_file(tmp_path: Path) -> None:
    """Suspend with save_ram: RAM goes into the state file and the memory file is deleted."""
    vm, _, token = _suspended(tmp_path, save_ram=True)
    assert vm.state is VMState.SUSPENDED
    assert vm.state_file.read_text() == f"{token} devices+ram"
    assert not vm.memory_file.exists()


@pytest.mark.parametrize("save_ram", [False, True], ids=["on-memory", "save-to-file"])
def test_resume_brings_back_the_same_guest(tmp_path: Path, save_ram: bool) -> None:
    """After suspend and resume the same guest runs (same token) in a new QEMU; the state file is consumed."""
    vm, fake, token = _suspended(tmp_path, save_ram)
    _run(vm.resume())
    assert vm.state is VMState.RUNNING and vm.pid is not None and fake.run_status == "running"
    assert fake.token == token and "-incoming" in fake.argvs[-1]
    assert not vm.state_file.exists()


@pytest.mark.parametrize(
    ("where", "how"),
    [
        ("migrate-set-capabilities", "error"),
        ("stop", "error"),
        ("migrate", "error"),
        ("query-migrate", "error"),
        ("query-migrate", "failed"),
        ("query-migrate", "cancelled"),
    ],
)
def test_a_suspend_failing_while_qemu_lives_continues_the_guest(tmp_path: Path, where: str, how: str) -> None:
    """A suspend step fails but QEMU lives: the guest runs on in the same QEMU (RUNNING), no state file."""
    vm, fake = _booted(tmp_path)
    pid, token = vm.pid, fake.token
    fake.fail(where, how)
    _fails(vm.suspend())
    assert vm.state is VMState.RUNNING and vm.pid == pid
    assert fake.run_status == "running" and fake.token == token
    assert not vm.state_file.exists() and not vm.state_file.with_suffix(".partial").exists()


def test_a_suspend_that_never_ends_is_cancelled_and_the_guest_continues(tmp_path: Path) -> None:
    """A save that does not complete within the timeout is cancelled, and the guest runs on: RUNNING."""
    vm, fake = _booted(tmp_path)
    fake.fail("migrate-progress", "hang")
    assert "did not complete within" in str(_fails(vm.suspend(timeout=0.05)))
    assert "migrate_cancel" in fake.commands and fake.migration == "cancelled"
    assert vm.state is VMState.RUNNING and fake.run_status == "running"
    assert not vm.state_file.with_suffix(".partial").exists()


def test_a_suspend_whose_rollback_fails_leaves_the_vm_failed_and_no_qemu(tmp_path: Path) -> None:
    """If the guest cannot be continued after a failed save, QEMU is killed and the VM is FAILED."""
    vm, fake = _booted(tmp_path)
    fake.fail("migrate", "error")
    fake.fail("cont", "error")
    _fails(vm.suspend())
    assert vm.state is VMState.FAILED and vm.pid is None


def _kill_at(stage: str) -> Callable[[VM, str], None]:
    """The fault hook of the real-QEMU tests: SIGKILL (here: the fake's kill) the first time ``stage`` is reached."""
    fired: list[bool] = []

    def hook(vm: VM, now: str) -> None:
        if now == stage and not fired:
            fired.append(True)
            vm.kill()

    return hook


@pytest.mark.parametrize("where", ["hook", "migrate", "query-migrate"])
def test_qemu_dying_before_the_state_is_saved_leaves_the_vm_failed_with_its_memory_file(
    tmp_path: Path, where: str
) -> None:
    """QEMU dies during the save: FAILED, no QEMU, the memory file kept, no state: not recoverable."""
    vm, fake = _booted(tmp_path)
    if where == "hook":
        vm.fault = _kill_at("suspend")
    else:
        fake.fail(where, "die")
    _fails(vm.suspend(), QEMUDiedError)
    assert vm.state is VMState.FAILED and vm.pid is None
    assert vm.memory_file.exists() and not vm.state_file.exists() and not vm.recoverable
    assert not vm.state_file.with_suffix(".partial").exists()


def test_qemu_dying_after_the_state_is_saved_still_suspends(tmp_path: Path) -> None:
    """QEMU dies between the saved state and quit: SUSPENDED and recoverable, the death noted as an anomaly."""
    vm, _ = _booted(tmp_path)
    vm.fault = _kill_at("saved")
    _run(vm.suspend())
    assert vm.state is VMState.SUSPENDED and vm.recoverable
    assert "gone before quit" in vm.anomalies[0]


def test_qemu_refusing_to_quit_after_the_state_is_saved_is_killed(tmp_path: Path) -> None:
    """quit fails while QEMU lives after the save: QEMU is killed, the VM SUSPENDED and recoverable."""
    vm, fake = _booted(tmp_path)
    fake.fail("quit", "error")
    _run(vm.suspend())
    assert vm.state is VMState.SUSPENDED and vm.pid is None and fake.run_status == "killed"
    assert vm.recoverable and "did not quit" in vm.anomalies[0]


@pytest.mark.parametrize(
    ("where", "how"),
    [
        ("start", "die"),
        ("start", "timeout"),
        ("migrate-set-capabilities", "error"),
        ("migrate-incoming", "error"),
        ("migrate-incoming", "die"),
        ("query-migrate", "failed"),
        ("cont", "error"),
        ("cont", "die"),
        ("hook", "die"),
    ],
)
def test_a_failed_resume_returns_to_suspended_with_its_files_and_a_retry_succeeds(
    tmp_path: Path, where: str, how: str
) -> None:
    """A resume failing at any step kills the new QEMU, the VM is SUSPENDED with its files; the next resume works."""
    vm, fake, token = _suspended(tmp_path)
    if where == "hook":
        vm.fault = _kill_at("resume")
    else:
        fake.fail(where, how)
    _fails(vm.resume())
    assert vm.state is VMState.SUSPENDED and vm.pid is None and vm.recoverable
    _run(vm.resume())
    assert vm.state is VMState.RUNNING and fake.token == token


def test_resume_without_a_saved_state_is_refused_before_starting_qemu(tmp_path: Path) -> None:
    """A VM that failed before its state was saved cannot resume: VMError, and no QEMU is started."""
    vm, fake = _booted(tmp_path)
    fake.fail("migrate", "die")
    _fails(vm.suspend())
    assert "nothing to resume" in str(_fails(vm.resume()))
    assert len(fake.argvs) == 1 and vm.state is VMState.FAILED


def _interrupt() -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("step", "where", "state", "alive"),
    [
        ("boot", "ready", VMState.FAILED, False),
        ("suspend", "query-migrate", VMState.RUNNING, True),
        ("resume", "start", VMState.SUSPENDED, False),
        ("resume", "query-migrate", VMState.SUSPENDED, False),
    ],
)
def test_ctrl_c_in_the_middle_of_a_step_rolls_it_back(
    tmp_path: Path, step: str, where: str, state: VMState, alive: bool
) -> None:
    """KeyboardInterrupt inside a step runs its rollback (the guest runs on, or no QEMU is left) and goes on up."""
    vm, fake = _vm(tmp_path)
    if step != "boot":
        _run(vm.boot())
    if step == "resume":
        _run(vm.suspend())
    fake.before(where, _interrupt)
    with pytest.raises(KeyboardInterrupt):
        _run(getattr(vm, step)())
    assert vm.state is state and (vm.pid is not None) is alive


def test_close_kills_qemu_and_removes_the_vms_files(tmp_path: Path) -> None:
    """close from any state: no QEMU, no memory, state or partial file; STOPPED."""
    vm, _, _ = _suspended(tmp_path)
    _run(vm.resume())
    _run(vm.close())
    assert vm.state is VMState.STOPPED and vm.pid is None
    assert not vm.memory_file.exists() and not vm.state_file.exists()


# -- migration ---------------------------------------------------------------------------------


def _pair(tmp_path: Path) -> tuple[VM, FakeQEMU, VM, FakeQEMU]:
    """A running source on host A and an incoming destination on host B (same VM index: same MAC and address)."""
    network: dict[str, FakeQEMU] = {}
    source, source_fake = _booted(tmp_path / "a", 0, network)
    destination, destination_fake = _vm(tmp_path / "b", 0, network)
    _run(destination.receive(URI))
    return source, source_fake, destination, destination_fake


@pytest.mark.parametrize("live", [True, False], ids=["live", "stop-and-copy"])
def test_migration_moves_the_guest_to_the_destination_and_quits_the_source(tmp_path: Path, live: bool) -> None:
    """After a migration the destination runs the same guest (RUNNING) and the source's QEMU has quit (STOPPED)."""
    source, source_fake, destination, destination_fake = _pair(tmp_path)
    token = source_fake.token
    assert destination.state is VMState.INCOMING and "-incoming" in destination_fake.argvs[0]
    _run(source.migrate(destination, URI, live=live))
    assert destination.state is VMState.RUNNING and destination_fake.run_status == "running"
    assert destination_fake.token == token == destination.boot_token
    assert source.state is VMState.STOPPED and source.pid is None and not source.memory_file.exists()
    assert ("stop" in source_fake.commands) is not live


def _kill_destination(fake: FakeQEMU, destination: FakeQEMU) -> None:
    fake.before("query-migrate", destination.kill)


FAILURES: dict[str, Callable[[FakeQEMU, FakeQEMU], None]] = {
    "destination dies": _kill_destination,
    "QMP error on migrate": lambda source, _: source.fail("migrate", "error"),
    "QMP error on set-parameters": lambda source, _: source.fail("migrate-set-parameters", "error"),
    "migration failed": lambda source, _: source.fail("query-migrate", "failed"),
    "migration cancelled": lambda source, _: source.fail("query-migrate", "cancelled"),
    "never ends": lambda source, _: source.fail("migrate-progress", "hang"),
    "destination cannot continue": lambda _, destination: destination.fail("query-status", "error"),
}


@pytest.mark.parametrize("live", [True, False], ids=["live", "stop-and-copy"])
@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failed_migration_is_cancelled_and_the_guest_runs_on_at_the_source(
    tmp_path: Path, failure: str, live: bool
) -> None:
    """Whatever fails, the source's migration is cancelled, its guest runs on there, the destination QEMU is killed."""
    source, source_fake, destination, destination_fake = _pair(tmp_path)
    pid, token = source.pid, source_fake.token
    FAILURES[failure](source_fake, destination_fake)
    _fails(source.migrate(destination, URI, live=live, timeout=0.05))
    assert source.state is VMState.RUNNING and source.pid == pid
    assert source_fake.run_status == "running" and source_fake.token == token
    assert "migrate_cancel" in source_fake.commands and source_fake.migration != "cancelling"
    assert destination.state is VMState.STOPPED and destination.pid is None


def test_a_source_dying_during_migration_leaves_it_failed_and_kills_the_destination(tmp_path: Path) -> None:
    """The source's QEMU dies while migrating: the source is FAILED, and no QEMU is left on either side."""
    source, source_fake, destination, _ = _pair(tmp_path)
    source_fake.fail("query-migrate", "die")
    _fails(source.migrate(destination, URI), QEMUDiedError)
    assert source.state is VMState.FAILED and source.pid is None
    assert destination.state is VMState.STOPPED and destination.pid is None


def test_a_destination_that_cannot_listen_is_failed_without_qemu(tmp_path: Path) -> None:
    """migrate-incoming fails on the destination: its QEMU is killed and it is FAILED."""
    destination, fake = _vm(tmp_path)
    fake.fail("migrate-incoming", "error")
    _fails(destination.receive(URI))
    assert destination.state is VMState.FAILED and destination.pid is None and not destination.memory_file.exists()


def test_migration_needs_a_destination_waiting_for_it(tmp_path: Path) -> None:
    """Migrating to a VM that is not INCOMING is refused before anything is sent; the source runs on."""
    source, source_fake = _booted(tmp_path / "a")
    destination, _ = _vm(tmp_path / "b")
    assert "needs state incoming" in str(_fails(source.migrate(destination, URI)))
    assert source.state is VMState.RUNNING and "migrate" not in source_fake.commands


def test_a_resumed_guest_migrates_its_ram_not_only_its_devices(tmp_path: Path) -> None:
    """A QEMU started by a warm resume has x-ignore-shared on; migrating it turns it off, so RAM is sent."""
    network: dict[str, FakeQEMU] = {}
    source, source_fake = _booted(tmp_path / "a", 0, network)
    _run(source.suspend())
    _run(source.resume())
    destination, destination_fake = _vm(tmp_path / "b", 0, network)
    token = source_fake.token
    _run(destination.receive(URI))
    _run(source.migrate(destination, URI))
    assert destination.state is VMState.RUNNING and destination_fake.token == token


# -- a procedure over fake VMs -----------------------------------------------------------------


def test_warm_reboot_recovers_what_each_fault_left(tmp_path: Path) -> None:
    """Killed before saving: booted afresh and reported lost; after saving: resumed; during resume: retried."""
    machines = [_booted(tmp_path / f"vm{i}", i) for i in range(4)]
    tokens = [fake.token for _, fake in machines]
    for (vm, _), stage in zip(machines, ("suspend", "saved", "resume"), strict=False):
        vm.fault = _kill_at(stage)
    vms = [vm for vm, _ in machines]
    report = asyncio.run(warm_reboot(vms, lambda kind, subject, note: None))
    after = [fake.token for _, fake in machines]
    assert all(vm.state is VMState.RUNNING for vm in vms)
    assert "device state was never saved" in report.lost["vm0"] and after[0] != tokens[0]
    assert after[1:] == tokens[1:] and set(report.lost) == {"vm0"}
    assert "attempt 2" in report.outcomes["vm2"] and report.outcomes["vm3"] == "resumed"
