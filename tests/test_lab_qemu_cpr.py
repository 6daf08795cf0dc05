"""Real QEMU >= 10 under TCG: Warm-VM Reboot by cpr-transfer and its faults, and the cpr-reboot round trip.

One scaled-down experiment of 3 VMs by ``cpr-transfer`` with a fault in
each: vm0's new QEMU is killed before it makes its CPR socket, vm1's CPR
socket is removed just before the hand-over, vm2's old QEMU is killed once it
has handed over. The same steps' rollbacks are tested against a fake QEMU in
test_lab_cpr_states.py on every run. Needs root, Debian's apt and QEMU >= 10
(``make lab-deps`` installs it).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest

from rejuv.lab import Experiment, ExperimentResult, GuestImage, Host, ImageRecipe, build_image, reply_gap
from rejuv.lab.cleanup import run_directory
from rejuv.lab.experiment import run_experiment
from rejuv.lab.machine import qemu_version
from rejuv.lab.mechanism import parse_qemu_version
from rejuv.lab.vm import VM, GuestStatus, VMConfig, VMState
from rejuv.trace.markers import MarkerKind

_VERSION = parse_qemu_version(qemu_version()) if shutil.which("qemu-system-x86_64") else None

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(_VERSION is None or _VERSION < (10, 0), reason="needs qemu-system-x86_64 >= 10.0"),
]

SMALL = {"rate": 3.0, "memory_mb": 128, "disk_bps": 256 * 1024, "accel": "tcg", "timeout": 3.0}


@pytest.fixture(scope="module")
def image() -> GuestImage:
    return build_image(ImageRecipe(files=20))


def _at(stage: str, fault: Callable[[VM], None]) -> Callable[[VM, str], None]:
    fired: list[bool] = []

    def hook(vm: VM, now: str) -> None:
        if now == stage and not fired:
            fired.append(True)
            fault(vm)

    return hook


def _remove_socket(vm: VM) -> None:
    sockets = vm.handover_sockets
    assert sockets is not None
    sockets.cpr.unlink()


@pytest.fixture(scope="module")
def faulty(image: GuestImage) -> ExperimentResult:
    faults = {
        0: _at("prepare", lambda vm: vm.kill(successor=True)),
        1: _at("hand-over", _remove_socket),
        2: _at("handed-over", lambda vm: vm.kill()),
    }
    settings = {**SMALL, "procedure": "warm", "vms": 3, "before": 8.0, "after": 6.0, "mechanism": "cpr-transfer"}
    return asyncio.run(run_experiment(Experiment(**settings), image, faults=faults))  # type: ignore[arg-type]


def _same_guest(result: ExperimentResult, name: str) -> bool:
    return result.status_after[name].token == result.status_before[name].token


def test_a_new_qemu_that_fails_to_start_leaves_the_guest_serving_in_the_old_one(faulty: ExperimentResult) -> None:
    """vm0's new QEMU killed before its socket: vm0 keeps its guest, never stops serving, and nothing is lost."""
    assert _same_guest(faulty, "vm0") and "vm0" not in faulty.report.lost
    assert "failed to start" in faulty.report.outcomes["vm0"]
    event = faulty.start + faulty.marker_time(MarkerKind.SUSPEND_STARTED)
    assert reply_gap(faulty.requests, 0, event - 1.0, event + 3.0) < 1.0


def test_a_missing_socket_rolls_the_hand_over_back(faulty: ExperimentResult) -> None:
    """vm1's CPR socket removed before migrate: QEMU refuses, the guest runs on in the old QEMU, nothing lost."""
    assert _same_guest(faulty, "vm1") and "vm1" not in faulty.report.lost
    assert "Failed to connect" in faulty.report.outcomes["vm1"]
    assert faulty.report.outcomes["vm1"].endswith("kept running")


def test_an_old_qemu_killed_after_handing_over_loses_nothing(faulty: ExperimentResult) -> None:
    """vm2's old QEMU SIGKILLed once it handed over: the new one serves the same guest; the death is reported."""
    assert _same_guest(faulty, "vm2") and "vm2" not in faulty.report.lost
    assert faulty.report.outcomes["vm2"].startswith("handed over; QEMU was gone before quit")


def test_a_cpr_transfer_run_records_its_mechanism_and_each_guests_pause(faulty: ExperimentResult) -> None:
    """The trace says cpr-transfer ran; the handed-over guest's pause (STOP to RESUME) is under a second."""
    assert faulty.trace.metadata["mechanism"] == "cpr-transfer"
    pause = faulty.trace.metadata["procedure_pauses"]["vm2"]
    assert pause is not None and 0 < pause < 1.0


async def _cpr_reboot_round_trip(image: GuestImage) -> tuple[GuestStatus, GuestStatus, float | None]:
    async with AsyncExitStack() as stack:
        run_dir = stack.enter_context(run_directory())
        host = stack.enter_context(Host(1))
        vm = VM(0, host, image, run_dir, VMConfig(mechanism="cpr-reboot"))
        stack.push_async_callback(vm.close)
        await vm.boot()
        before = await vm.status()
        await vm.suspend()
        assert vm.state is VMState.SUSPENDED
        await vm.resume()
        return before, await vm.status(), vm.last_pause


def test_cpr_reboot_brings_back_the_same_guest(image: GuestImage) -> None:
    """cpr-reboot on real QEMU: suspend to a file with RAM in place, a new QEMU resumes the same guest."""
    before, after, pause = asyncio.run(_cpr_reboot_round_trip(image))
    assert after.token == before.token and after.uptime >= before.uptime
    assert pause is not None and 0 < pause < 5.0
