"""The migration procedures' logic against fake QEMUs (no root, no QEMU), and the lab of hosts' options.

A move's destination QEMU is a :class:`fake_qemu.FakeQEMU` handed in through
:attr:`rejuv.lab.moves.Destination.transport`; the fakes of one test share a
network, so a source's migration reaches the destination listening on its URI.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from fake_qemu import FakeHost, FakeQEMU, fake_image
from rejuv.lab import moves
from rejuv.lab.cluster import parse_link_rate
from rejuv.lab.errors import LabError
from rejuv.lab.experiment import Experiment
from rejuv.lab.moves import Destination, TimedMark, move_all
from rejuv.lab.owner import NAMESPACE_PREFIX, Owner
from rejuv.lab.vm import DEFAULT_DOWNTIME_LIMIT, VM, VMConfig, VMState
from rejuv.trace.markers import MarkerKind

Marks = list[tuple[MarkerKind, str | None, str]]


class _SlowQEMU(FakeQEMU):
    """A fake QEMU whose every QMP command takes a moment, so that moves can overlap."""

    async def execute(self, what: str, command: str, arguments: Mapping[str, object] | None = None) -> object:
        await asyncio.sleep(0.002)
        return await super().execute(what, command, arguments)


def _lab(
    folder: Path, vms: int, fake: type[FakeQEMU] = FakeQEMU
) -> tuple[list[VM], list[FakeQEMU], dict[str, FakeQEMU], Destination, list[FakeQEMU]]:
    network: dict[str, FakeQEMU] = {}
    (folder / "source").mkdir()
    (folder / "spare").mkdir()
    image = fake_image(folder)
    fakes = [fake(f"vm{i}", network) for i in range(vms)]
    sources = [VM(i, FakeHost(), image, folder / "source", VMConfig(), transport=fakes[i]) for i in range(vms)]
    arrivals: list[FakeQEMU] = []

    def transport(vm: VM) -> FakeQEMU:
        arrivals.append(fake(vm.name, network))
        return arrivals[-1]

    destination = Destination(FakeHost(), folder / "spare", lambda i: f"tcp:10.9.0.2:{4444 + i}", transport)
    for vm in sources:
        asyncio.run(vm.boot())
    return sources, fakes, network, destination, arrivals


def _recorder() -> tuple[Marks, TimedMark]:
    marks: Marks = []

    def mark(kind: MarkerKind, subject: str | None, note: str, at: float | None = None) -> None:
        marks.append((kind, subject, note))

    return marks, mark


@pytest.mark.parametrize("live", [True, False], ids=["live", "stop-and-copy"])
def test_every_vm_moves_to_the_spare_host_one_at_a_time_keeping_its_guest(tmp_path: Path, live: bool) -> None:
    """Each VM in turn: started, switched over, ended; afterwards the spare runs every guest and the source none."""
    vms, fakes, _, destination, arrivals = _lab(tmp_path, 2)
    sources, tokens = list(vms), [fake.token for fake in fakes]
    marks, mark = _recorder()
    report = asyncio.run(move_all(vms, mark, destination, live=live))
    kinds = [MarkerKind.MIGRATION_STARTED, MarkerKind.MIGRATION_SWITCHED_OVER, MarkerKind.MIGRATION_ENDED]
    assert [(kind, subject) for kind, subject, _ in marks] == [(k, f"vm{i}") for i in range(2) for k in kinds]
    assert all(vm.state is VMState.STOPPED and vm.pid is None for vm in sources)
    assert all(vm.state is VMState.RUNNING and vm.host is destination.spare for vm in vms)
    assert [fake.token for fake in arrivals] == tokens == [vm.boot_token for vm in vms]
    assert all(vm.memory_file.parent == tmp_path / "spare" for vm in vms)
    assert report.outcomes == {
        f"vm{i}": f"moved to the spare host ({'live' if live else 'stop-and-copy'})" for i in (0, 1)
    }
    assert ("stop" in fakes[0].commands) is not live


def test_a_move_whose_destination_dies_is_cancelled_and_the_next_vm_still_moves(tmp_path: Path) -> None:
    """vm0's destination dies: vm0 runs on at the source, the trace and report say cancelled; vm1 moves."""
    vms, fakes, network, destination, arrivals = _lab(tmp_path, 2)
    source0, token0 = vms[0], fakes[0].token
    fakes[0].before("query-migrate", lambda: network["tcp:10.9.0.2:4444"].kill())
    marks, mark = _recorder()
    report = asyncio.run(move_all(vms, mark, destination, live=True))
    assert vms[0] is source0 and source0.state is VMState.RUNNING and fakes[0].token == token0
    assert arrivals[0].pid is None
    cancelled = [(subject, note) for kind, subject, note in marks if kind is MarkerKind.MIGRATION_CANCELLED]
    assert len(cancelled) == 1 and cancelled[0][0] == "vm0" and "runs on the source host" in cancelled[0][1]
    assert not any(kind is MarkerKind.MIGRATION_ENDED and subject == "vm0" for kind, subject, _ in marks)
    assert (
        report.outcomes["vm0"].startswith("migration cancelled") and "runs on the source host" in report.outcomes["vm0"]
    )
    assert vms[1].host is destination.spare and vms[1].state is VMState.RUNNING


@pytest.mark.parametrize(("text", "bits"), [("1gbit", 10**9), ("100mbit", 10**8), ("2.5Gbit", 25 * 10**8)])
def test_a_link_rate_is_read_in_tcs_units(text: str, bits: int) -> None:
    """--link takes tc's rate units (kbit, mbit, gbit), in bits/s."""
    assert parse_link_rate(text) == bits


@pytest.mark.parametrize("text", ["fast", "1gb", "0mbit", "-1gbit", "500kbit", "1000gbit"])
def test_a_link_rate_that_is_not_a_rate_is_refused(text: str) -> None:
    """A --link that is no rate, or outside 1mbit to 100gbit, raises LabError naming link."""
    with pytest.raises(LabError) as caught:
        parse_link_rate(text)
    assert caught.value.what == "link"


def test_a_link_is_refused_for_the_one_host_procedures() -> None:
    """Only the migration procedures run on the lab of hosts: --link with warm is refused, naming link."""
    with pytest.raises(LabError, match="only the migration procedures") as caught:
        Experiment(procedure="warm", link="1gbit")
    assert caught.value.what == "link"
    assert Experiment(procedure="live").multi_host and Experiment(procedure="migration", link="100mbit").multi_host


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--procedure", "live", "--link", "fast"], "error: --link: must be a rate like 1gbit or 100mbit"),
        (["--procedure", "warm", "--link", "1gbit"], "error: --link: only the migration procedures"),
    ],
)
def test_a_bad_link_is_refused_before_anything_is_made(tmp_path: Path, argv: list[str], message: str) -> None:
    """rejuv lab run with a bad --link: `error: --link: <why>`, exit 2, no trace."""
    out = tmp_path / "run.trace"
    command = [sys.executable, "-m", "rejuv", "lab", "run", *argv, "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


@pytest.mark.parametrize("role", ["sw", "client", "h0", "h1", "h15"])
def test_the_labs_namespaces_name_their_owner(role: str) -> None:
    """Each namespace of the lab of hosts, rejuv-<pid>-<start>-<random><role>, names its owner for rejuv lab clean."""
    assert Owner.from_name(f"{NAMESPACE_PREFIX}1234-5678-a1b2c3{role}", NAMESPACE_PREFIX) == Owner(1234, 5678)


def test_a_move_that_sends_nothing_for_the_stall_time_is_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration whose stream stops (a cut link) fails after STALL s without progress: cancelled, the guest on the source."""
    monkeypatch.setattr(moves, "STALL", 0.05)
    vms, fakes, _, destination, arrivals = _lab(tmp_path, 1)
    source, token = vms[0], fakes[0].token
    fakes[0].fail("migrate-progress", "hang")
    marks, mark = _recorder()
    report = asyncio.run(move_all(vms, mark, destination, live=True))
    assert vms[0] is source and source.state is VMState.RUNNING and fakes[0].token == token
    assert "migrate_cancel" in fakes[0].commands and arrivals[0].pid is None
    assert marks[-1][0] is MarkerKind.MIGRATION_CANCELLED and "migration stalled" in marks[-1][2]
    assert "migration stalled" in report.outcomes["vm0"]


def _most_at_once(marks: Marks) -> int:
    moving, most = 0, 0
    for kind, _, _ in marks:
        moving += {MarkerKind.MIGRATION_STARTED: 1, MarkerKind.MIGRATION_ENDED: -1}.get(kind, 0)
        most = max(most, moving)
    return most


@pytest.mark.parametrize("parallel", [1, 2])
def test_at_most_parallel_moves_run_at_once_and_every_vm_arrives(tmp_path: Path, parallel: int) -> None:
    """With --parallel-moves C, at most C VMs are between migration-started and migration-ended, and C are at once."""
    vms, fakes, _, destination, _ = _lab(tmp_path, 4, _SlowQEMU)
    tokens = [fake.token for fake in fakes]
    marks, mark = _recorder()
    asyncio.run(move_all(vms, mark, destination, live=True, parallel=parallel))
    assert _most_at_once(marks) == parallel
    assert [vm.boot_token for vm in vms] == tokens and all(vm.host is destination.spare for vm in vms)
    starts = [subject for kind, subject, _ in marks if kind is MarkerKind.MIGRATION_STARTED]
    assert starts == ["vm0", "vm1", "vm2", "vm3"]


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"procedure": "live", "vms": 2, "parallel_moves": 3}, "from 1 to --vms (2)"),
        ({"procedure": "live", "vms": 2, "parallel_moves": 0}, "from 1 to --vms (2)"),
        ({"procedure": "warm", "parallel_moves": 2}, "only the migration procedures move VMs"),
    ],
)
def test_parallel_moves_must_be_between_one_and_the_vms(changes: dict[str, Any], why: str) -> None:
    """--parallel-moves is from 1 to --vms, and only for the migration procedures."""
    with pytest.raises(LabError, match="must be") as caught:
        Experiment(**changes)
    assert caught.value.what == "parallel_moves" and why in caught.value.why


def test_every_live_move_sets_the_downtime_limit_given_and_records_it(tmp_path: Path) -> None:
    """move_all(downtime_limit=100): each source QEMU gets downtime-limit 100 ms, and each move's record says 100."""
    vms, fakes, _, destination, _ = _lab(tmp_path, 2)
    _, mark = _recorder()
    report = asyncio.run(move_all(vms, mark, destination, live=True, downtime_limit=100))
    assert [[p["downtime-limit"] for p in fake.parameters if "downtime-limit" in p] for fake in fakes] == [[100]] * 2
    assert [report.migrations[f"vm{i}"]["limits"]["downtime_limit"] for i in (0, 1)] == [100, 100]


def test_a_live_move_without_a_downtime_limit_gets_qemus_default(tmp_path: Path) -> None:
    """move_all without downtime_limit sets QEMU's own 300 ms (DEFAULT_DOWNTIME_LIMIT), and records it."""
    vms, fakes, _, destination, _ = _lab(tmp_path, 1)
    _, mark = _recorder()
    report = asyncio.run(move_all(vms, mark, destination, live=True))
    assert [p["downtime-limit"] for p in fakes[0].parameters if "downtime-limit" in p] == [DEFAULT_DOWNTIME_LIMIT]
    assert report.migrations["vm0"]["limits"]["downtime_limit"] == DEFAULT_DOWNTIME_LIMIT


@pytest.mark.parametrize(
    ("downtime_limit", "expected"), [(None, DEFAULT_DOWNTIME_LIMIT), (0.1, 100), (0.001, 1), (2000.0, 2_000_000)]
)
def test_lives_downtime_limit_is_the_one_given_in_whole_ms(downtime_limit: float | None, expected: int) -> None:
    """Experiment(procedure="live", downtime_limit=s).downtime_limit_ms: s in ms, QEMU's 300 when not given."""
    assert Experiment(procedure="live", downtime_limit=downtime_limit).downtime_limit_ms == expected


@pytest.mark.parametrize("procedure", ["migration", "live_rate_control", "warm"])
def test_procedures_other_than_live_have_no_downtime_limit_of_their_own(procedure: str) -> None:
    """Stop-and-copy, rate control (its controller sets the limit) and the one-host procedures record none."""
    assert Experiment(procedure=procedure).downtime_limit_ms is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--downtime-limit", "0"], "must be from 1 ms to 2000 s"),
        (["--downtime-limit", "2001s"], "must be from 1 ms to 2000 s"),
        (["--downtime-limit=-5ms"], "must be from 1 ms to 2000 s"),
        (["--downtime-limit", "0.5ms"], "must be a whole number of ms"),
        (["--downtime-limit", "fast"], "cannot read 'fast'"),
        (["--procedure", "migration", "--downtime-limit", "100ms"], "there is no pre-copy for the limit to end"),
        (["--procedure", "live_rate_control", "--downtime-limit", "100ms"], "rate controller sets"),
        (["--procedure", "warm", "--downtime-limit", "100ms"], "only for the live procedure"),
    ],
)
def test_a_bad_downtime_limit_is_refused_before_anything_is_made(tmp_path: Path, argv: list[str], message: str) -> None:
    """rejuv lab run with a bad --downtime-limit, or one for a procedure without it: `error: --downtime-limit: <why>`, exit 2."""
    out = tmp_path / "run.trace"
    command = [sys.executable, "-m", "rejuv", "lab", "run", "--procedure", "live", *argv, "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 2
    assert "error: --downtime-limit: " in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
