"""The spare's cycle against fake QEMUs (no root, no QEMU), and the --hosts option.

Every host is a :class:`fake_qemu.FakeHost`; a VM arriving on a host gets a
fresh :class:`fake_qemu.FakeQEMU` on the test's one network, and a host's
"VMM restart" records which host restarted and which QEMUs still ran there.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fake_qemu import FakeHost, FakeQEMU, fake_image
from rejuv.lab.cycle import CycleHost, spare_cycle
from rejuv.lab.errors import LabError
from rejuv.lab.experiment import Experiment
from rejuv.lab.host import MAX_VMS
from rejuv.lab.moves import MIGRATION_PROCEDURES, Destination
from rejuv.lab.procedures import ProcedureReport
from rejuv.lab.vm import VM, VMConfig, VMState
from rejuv.trace.markers import MarkerKind
from test_lab_moves import Marks, _most_at_once, _recorder, _SlowQEMU

_CYCLE = (MarkerKind.EVACUATION_STARTED, MarkerKind.HOST_REJUVENATED)
_MOVE = (MarkerKind.MIGRATION_STARTED, MarkerKind.MIGRATION_SWITCHED_OVER, MarkerKind.MIGRATION_ENDED)


class _Lab:
    """``hosts`` fake hosts, ``per_host`` booted VMs on each but the last (the spare)."""

    def __init__(self, folder: Path, hosts: int, per_host: int, fake: type[FakeQEMU] = FakeQEMU) -> None:
        self.network: dict[str, FakeQEMU] = {}
        self.rejuvenated: list[tuple[str, list[str]]] = []  #: (host, VMs whose QEMU still ran there)
        self.fake = fake
        image = fake_image(folder)
        self.hosts = [self._host(folder, number) for number in range(hosts)]
        self.sources: list[FakeQEMU] = []
        self.vms: list[VM] = []
        for index in range(per_host * (hosts - 1)):
            self.sources.append(fake(f"vm{index}", self.network))
            home = self.hosts[index // per_host].arrival
            self.vms.append(VM(index, home.spare, image, home.folder, VMConfig(), transport=self.sources[-1]))
            asyncio.run(self.vms[-1].boot())
        self.tokens = [vm.boot_token for vm in self.vms]
        self.everyone = list(self.vms)  # every VM object that ever ran a guest, to check what still runs

    def _host(self, folder: Path, number: int) -> CycleHost:
        name, spare = f"host{number}", FakeHost()
        (folder / name).mkdir()

        def arrive(vm: VM) -> FakeQEMU:
            return self.fake(vm.name, self.network)

        def rejuvenate() -> None:
            running = [vm.name for vm in self.everyone if vm.host is spare and vm.state is VMState.RUNNING]
            self.rejuvenated.append((name, running))

        uri = f"tcp:10.9.0.{1 + number}:{{}}"
        return CycleHost(name, Destination(spare, folder / name, lambda i: uri.format(4444 + i), arrive), rejuvenate)

    def where(self) -> list[str]:
        """The host each VM runs on now."""
        return [next(h.name for h in self.hosts if h.arrival.spare is vm.host) for vm in self.vms]

    def run(self, procedure: str = "live", parallel: int = 1) -> tuple[Marks, ProcedureReport]:
        marks, mark = _recorder()
        report = asyncio.run(self._run(MIGRATION_PROCEDURES[procedure], mark, parallel))
        return marks, report

    async def _run(self, procedure: Any, mark: Any, parallel: int) -> ProcedureReport:
        original = self.vms
        report = await spare_cycle(self.vms, mark, self.hosts, procedure, parallel=parallel)
        assert self.vms is original
        return report


def _outline(marks: Marks) -> list[tuple[MarkerKind, str | None]]:
    """The cycle's markers with their notes, and each move's markers with their VM."""
    return [(kind, note if kind in _CYCLE else subject) for kind, subject, note in marks]


def test_over_two_hosts_the_source_is_emptied_onto_the_spare_and_then_rejuvenated(tmp_path: Path) -> None:
    """--hosts 2: evacuation-started host0 -> host1, each VM's move, then host0's VMM restarts with nothing on it."""
    lab = _Lab(tmp_path, hosts=2, per_host=2)
    marks, report = lab.run("migration")
    outline = _outline(marks)
    assert outline[0] == (MarkerKind.EVACUATION_STARTED, "host0 -> host1")
    assert outline[1:-1] == [(kind, f"vm{i}") for i in range(2) for kind in _MOVE]
    assert outline[-1][0] is MarkerKind.HOST_REJUVENATED and outline[-1][1].startswith("host0: VMM restarted in ")
    assert lab.rejuvenated == [("host0", [])]
    assert lab.where() == ["host1", "host1"] and [vm.boot_token for vm in lab.vms] == lab.tokens
    assert report.outcomes["host0"].startswith("emptied onto host1, VMM restarted in ")
    assert {"host0 evacuation", "host0 rejuvenation", "total", "vm0", "vm1"} <= set(report.timings)


def test_over_three_hosts_the_cycle_runs_twice_each_emptied_host_becoming_the_next_spare(tmp_path: Path) -> None:
    """--hosts 3: host0 -> host2, host0 rejuvenated, host1 -> host0, host1 rejuvenated; host1 ends empty."""
    lab = _Lab(tmp_path, hosts=3, per_host=2)
    marks, report = lab.run("live")
    rejuvenated = [
        (MarkerKind.HOST_REJUVENATED, note) for kind, _, note in marks if kind is MarkerKind.HOST_REJUVENATED
    ]
    assert [kind for kind, _ in rejuvenated] == [MarkerKind.HOST_REJUVENATED] * 2
    expected = [
        (MarkerKind.EVACUATION_STARTED, "host0 -> host2"),
        *[(kind, f"vm{i}") for i in (0, 1) for kind in _MOVE],
        rejuvenated[0],
        (MarkerKind.EVACUATION_STARTED, "host1 -> host0"),
        *[(kind, f"vm{i}") for i in (2, 3) for kind in _MOVE],
        rejuvenated[1],
    ]
    assert _outline(marks) == expected
    assert rejuvenated[0][1].startswith("host0: ") and rejuvenated[1][1].startswith("host1: ")
    assert lab.rejuvenated == [("host0", []), ("host1", [])]
    assert lab.where() == ["host2", "host2", "host0", "host0"]
    assert [vm.boot_token for vm in lab.vms] == lab.tokens
    assert all(source.pid is None for source in lab.sources)
    assert report.outcomes["host1"].startswith("emptied onto host0")


@pytest.mark.parametrize("parallel", [1, 2])
def test_parallel_moves_stay_within_one_evacuation_and_the_next_waits_for_the_rejuvenation(
    tmp_path: Path, parallel: int
) -> None:
    """With --parallel-moves C over 3 hosts: at most C moves at once, and no move of host1 before host0 restarted."""
    lab = _Lab(tmp_path, hosts=3, per_host=3, fake=_SlowQEMU)
    marks, _ = lab.run("live", parallel=parallel)
    assert _most_at_once(marks) == parallel
    first_rejuvenation = next(i for i, (kind, _, _) in enumerate(marks) if kind is MarkerKind.HOST_REJUVENATED)
    first_hosts = {f"vm{i}" for i in range(3)}
    assert all(subject in first_hosts for _, subject, _ in marks[:first_rejuvenation] if subject is not None)
    assert all(subject not in first_hosts for _, subject, _ in marks[first_rejuvenation:] if subject is not None)
    assert lab.where() == ["host2"] * 3 + ["host0"] * 3


def test_a_host_whose_vm_could_not_leave_is_not_rejuvenated_and_the_cycle_ends(tmp_path: Path) -> None:
    """A cancelled move leaves host0 running vm0: no VMM restart, no next evacuation; the report says why."""
    lab = _Lab(tmp_path, hosts=3, per_host=1)
    lab.sources[0].before("query-migrate", lambda: lab.network["tcp:10.9.0.3:4444"].kill())
    marks, report = lab.run("live")
    kinds = [kind for kind, _, _ in marks]
    assert kinds == [MarkerKind.EVACUATION_STARTED, MarkerKind.MIGRATION_STARTED, MarkerKind.MIGRATION_CANCELLED]
    assert lab.rejuvenated == [] and lab.where() == ["host0", "host1"]
    assert report.outcomes["host0"] == "not rejuvenated: vm0 still run there; the cycle ends"


def test_the_spare_must_start_empty(tmp_path: Path) -> None:
    """A VM already on the last host (the spare) is refused, naming hosts, before anything moves."""
    lab = _Lab(tmp_path, hosts=2, per_host=1)
    with pytest.raises(LabError) as caught:
        asyncio.run(spare_cycle(lab.vms, _recorder()[1], lab.hosts[::-1], MIGRATION_PROCEDURES["live"]))
    assert caught.value.what == "hosts" and "must start empty" in caught.value.why


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"procedure": "live", "hosts": 1}, "must be from 2"),
        ({"procedure": "live", "hosts": 17}, "must be from 2"),
        ({"procedure": "warm", "hosts": 3}, "only the migration procedures"),
        ({"procedure": "live", "hosts": 3, "vms": MAX_VMS // 2 + 1, "rate": 1.0}, "at most 200 fit in the lab"),
    ],
)
def test_hosts_must_fit_the_lab_and_only_the_migration_procedures_take_them(changes: dict[str, Any], why: str) -> None:
    """--hosts is from 2 to 16, only with a migration procedure, and VMs x loaded hosts within MAX_VMS."""
    with pytest.raises(LabError, match=why) as caught:
        Experiment(**changes)
    assert caught.value.what in ("hosts", "vms")


def test_the_offered_load_counts_every_vm_on_every_host() -> None:
    """The load limit is over the whole lab: 8 VMs at 200 req/s each is refused, naming rate."""
    assert Experiment(procedure="live", hosts=3, vms=4).total_vms == 8
    with pytest.raises(LabError, match="8 VMs x 200 req/s") as caught:
        Experiment(procedure="live", hosts=3, vms=4, rate=200.0)
    assert caught.value.what == "rate"


def test_a_bad_hosts_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    """rejuv lab run --hosts 1: `error: --hosts: <why>`, exit 2, no traceback, no trace."""
    out = tmp_path / "run.trace"
    command = [sys.executable, "-m", "rejuv", "lab", "run", "--procedure", "live", "--hosts", "1", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 2
    assert "error: --hosts: must be from 2 (a loaded host and the spare) to 16, got 1" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()
