"""The migration procedures on real QEMU (TCG) in a lab of two hosts: what must hold when a VM moves.

Small runs (128 MB guests, 20 files, 5 req/s): ``live`` moves two VMs over
1 Gbit/s up-links, ``migration`` (stop-and-copy) one; a live move over 100
Mbit/s has its destination QEMU killed a second in, another its source host's
up-link cut a second in (for 8 s); and a SIGTERM in the middle of a move must
leave nothing behind. Root and ``qemu-system-x86_64`` are needed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from lab_runs import run_leaving_nothing
from rejuv.lab.cluster import UPLINK, ClusterHost
from rejuv.lab.experiment import Experiment, ExperimentResult
from rejuv.lab.image import GuestImage, ImageRecipe, build_image
from rejuv.lab.vmbase import FaultHook, VMBase
from rejuv.trace.markers import MarkerKind
from test_lab_cli import interrupted

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the two-host lab needs root"),
]


def _experiment(procedure: str, vms: int, link: str = "1gbit", downtime_limit: float | None = None) -> Experiment:
    return Experiment(
        procedure=procedure,
        vms=vms,
        rate=5.0,
        before=6.0,
        after=5.0,
        accel="tcg",
        timeout=3.0,
        link=link,
        downtime_limit=downtime_limit,
    )


@pytest.fixture(scope="module")
def image() -> GuestImage:
    return build_image(ImageRecipe(files=20))


def _ask_migration_parameters(answers: dict[str, object], tasks: set[asyncio.Task[None]]) -> FaultHook:
    """A hook that faults nothing: once a VM's migration is under way, its source QEMU is asked its parameters."""

    def hook(vm: VMBase, stage: str) -> None:
        async def ask() -> None:
            answers[vm.name] = await vm.transport.execute(f"{vm.name}: test", "query-migrate-parameters")

        if stage == "migrating":
            tasks.add(
                asyncio.get_running_loop().create_task(ask())
            )  # held: a task only referenced by the loop may vanish

    return hook


@pytest.fixture(scope="module")
def live_run(image: GuestImage) -> tuple[ExperimentResult, dict[str, object]]:
    """Two VMs moved live under a 100 ms downtime limit (not QEMU's default 300), and QEMU's parameters mid-move."""
    answers: dict[str, object] = {}
    tasks: set[asyncio.Task[None]] = set()
    hook = _ask_migration_parameters(answers, tasks)
    result = run_leaving_nothing(_experiment("live", 2, downtime_limit=0.1), image, faults={0: hook, 1: hook})
    return result, answers


@pytest.fixture(scope="module")
def live(live_run: tuple[ExperimentResult, dict[str, object]]) -> ExperimentResult:
    return live_run[0]


@pytest.fixture(scope="module")
def stop_and_copy(image: GuestImage) -> ExperimentResult:
    return run_leaving_nothing(_experiment("migration", 1), image)


def _kill_the_destination_after(seconds: float) -> FaultHook:
    """A fault hook: once the migration is under way, SIGKILL every process on the spare host ``seconds`` later."""

    def hook(vm: VMBase, stage: str) -> None:
        if stage != "migrating":
            return
        spare = cast(ClusterHost, vm.host).namespace.removesuffix("h0") + "h1"

        def kill() -> None:
            pids = subprocess.run(["ip", "netns", "pids", spare], capture_output=True, text=True).stdout.split()
            for pid in pids:
                os.kill(int(pid), signal.SIGKILL)

        asyncio.get_running_loop().call_later(seconds, kill)

    return hook


def _cut_the_link_after(seconds: float, for_seconds: float) -> FaultHook:
    """A fault hook: once the migration is under way, cut the source host's up-link ``seconds`` later, for ``for_seconds``.

    The cable is plugged back after the move has been cancelled (nothing sent for ``moves.STALL`` s),
    so that the guest is seen serving on at the source afterwards.
    """

    def hook(vm: VMBase, stage: str) -> None:
        if stage == "migrating":
            uplink = ["ip", "-n", cast(ClusterHost, vm.host).namespace, "link", "set", UPLINK]
            loop = asyncio.get_running_loop()
            loop.call_later(seconds, lambda: subprocess.run([*uplink, "down"], check=True))
            loop.call_later(seconds + for_seconds, lambda: subprocess.run([*uplink, "up"], check=True))

    return hook


@pytest.fixture(scope="module")
def link_cut(image: GuestImage) -> ExperimentResult:
    return run_leaving_nothing(_experiment("live", 1, link="100mbit"), image, faults={0: _cut_the_link_after(1.0, 8.0)})


@pytest.fixture(scope="module")
def destination_killed(image: GuestImage) -> ExperimentResult:
    return run_leaving_nothing(
        _experiment("live", 1, link="100mbit"), image, faults={0: _kill_the_destination_after(1.0)}
    )


def _moved_in_place(result: ExperimentResult) -> None:
    for name, status in result.status_before.items():
        assert result.status_after[name].token == status.token, f"{name} lost its memory"
    assert set(result.trace.metadata["vm_hosts_after"].values()) == {"host1"}
    assert result.trace.metadata["host_processes_after"]["host0"] == 0


def test_a_live_migrated_vm_keeps_its_guest_and_serves_from_the_spare(live: ExperimentResult) -> None:
    """After live: every boot token kept, every VM on the spare host, answering the client; the source runs nothing."""
    _moved_in_place(live)


def test_lives_downtime_limit_reaches_qemu_and_the_trace(live_run: tuple[ExperimentResult, dict[str, object]]) -> None:
    """--downtime-limit 100ms: each source QEMU holds it during its move, and the trace records 100 ms, run and moves."""
    live, answers = live_run
    assert {name: cast(dict[str, object], answer)["downtime-limit"] for name, answer in answers.items()} == {
        "vm0": 100,
        "vm1": 100,
    }
    metadata = live.trace.metadata
    assert metadata["downtime_limit_ms"] == 100 and metadata["experiment_downtime_limit"] == 0.1
    assert {name: move["limits"]["downtime_limit"] for name, move in metadata["procedure_migrations"].items()} == {
        "vm0": 100,
        "vm1": 100,
    }
    assert all(metadata["procedure_outcomes"][name].startswith("moved to the spare host") for name in ("vm0", "vm1"))


def test_a_stop_and_copy_migrated_vm_keeps_its_guest_and_serves_from_the_spare(
    stop_and_copy: ExperimentResult,
) -> None:
    """After stop-and-copy: the boot token kept, the VM on the spare host, answering the client; the source empty."""
    _moved_in_place(stop_and_copy)


def test_the_client_never_needs_a_new_address(live: ExperimentResult) -> None:
    """The client asks each VM at its one fixed address throughout, and every VM answers after its move."""
    moved = {m.subject: m.time for m in live.markers if m.kind is MarkerKind.MIGRATION_ENDED}
    assert set(moved) == {"vm0", "vm1"}
    for index, name in enumerate(live.trace.vm_names):
        after = [r for r in live.requests if r.vm == index and r.start - live.start > moved[name] + 1.0]
        assert after and all(r.ok for r in after), f"{name} did not serve at its address after moving"


def test_each_move_writes_start_switch_over_and_end_in_order(live: ExperimentResult) -> None:
    """Per VM, one at a time: migration-started < migration-switched-over < migration-ended, vm0's before vm1's."""
    kinds = (MarkerKind.MIGRATION_STARTED, MarkerKind.MIGRATION_SWITCHED_OVER, MarkerKind.MIGRATION_ENDED)
    moves = [(m.subject, m.kind) for m in live.trace.markers if m.kind in kinds]
    assert moves == [(name, kind) for name in ("vm0", "vm1") for kind in kinds]
    assert live.trace.metadata["migration_link"] == "1gbit"


def test_a_killed_destination_leaves_the_vm_running_on_the_source_and_says_so(
    destination_killed: ExperimentResult,
) -> None:
    """Destination QEMU killed mid-move: cancelled in the trace and the report, the guest serves on at the source."""
    markers = [m for m in destination_killed.trace.markers if m.subject == "vm0"]
    assert [m.kind for m in markers] == [MarkerKind.MIGRATION_STARTED, MarkerKind.MIGRATION_CANCELLED]
    assert "runs on the source host" in markers[1].note
    assert "migration cancelled" in destination_killed.report.outcomes["vm0"]
    assert destination_killed.status_after["vm0"].token == destination_killed.status_before["vm0"].token
    assert destination_killed.trace.metadata["vm_hosts_after"] == {"vm0": "host0"}
    assert destination_killed.trace.metadata["host_processes_after"]["host1"] == 0


def test_a_cut_link_leaves_the_vm_running_on_the_source_and_says_so(link_cut: ExperimentResult) -> None:
    """Up-link cut mid-move: nothing more is sent, the move is cancelled (trace, report), the guest serves on at the source."""
    markers = [m for m in link_cut.trace.markers if m.subject == "vm0"]
    assert [m.kind for m in markers] == [MarkerKind.MIGRATION_STARTED, MarkerKind.MIGRATION_CANCELLED]
    assert "migration stalled" in markers[1].note and "runs on the source host" in markers[1].note
    assert "migration cancelled" in link_cut.report.outcomes["vm0"]
    assert link_cut.status_after["vm0"].token == link_cut.status_before["vm0"].token
    assert link_cut.trace.metadata["vm_hosts_after"] == {"vm0": "host0"}
    assert link_cut.trace.metadata["host_processes_after"]["host1"] == 0


def test_sigterm_during_a_move_leaves_nothing_behind(tmp_path: Path) -> None:
    """SIGTERM while a VM crosses a 100 Mbit/s link: exit 130, no QEMU, namespace, run directory or trace left."""
    out = tmp_path / "run.trace"
    argv = [sys.executable, "-m", "rejuv", "lab", "run", "--procedure", "migration", "--link", "100mbit"]
    argv += ["--vms", "1", "--rate", "2", "--before", "6s", "--after", "5s", "--files", "20", "--accel", "tcg"]
    process, error = interrupted([*argv, "--out", str(out)], "migration-started", delay=1.0)  # RAM on the link
    assert process.returncode == 130, error
    assert "no VM, namespace or run directory left" in error and "Traceback" not in error
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    assert f"rejuv-{process.pid}-" not in netns
    assert list(Path("/dev/shm").glob(f"rejuv-lab-{process.pid}-*")) == []
    qemus = subprocess.run(["pgrep", "-f", f"rejuv-lab-{process.pid}-"], capture_output=True, text=True).stdout
    assert qemus == ""
    assert list(tmp_path.iterdir()) == []
