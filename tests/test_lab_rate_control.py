"""live_rate_control's controller (rejuv.lab.rate_control) on synthetic query-migrate answers and fake QEMUs.

A round is seen when ``ram.dirty-sync-count`` goes up; what the guest dirtied
in it is ``ram.remaining`` at that moment plus what was sent since the
previous answer beyond that answer's ``remaining``; the controller then sets the next round's rate by the
rule, or starts the stop-and-copy round.
"""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
from pathlib import Path

import pytest

from fake_qemu import FakeQEMU
from rejuv.lab import moves
from rejuv.lab.cmdline import VMConfig, dirtying_arguments
from rejuv.lab.errors import LabError
from rejuv.lab.moves import move_all
from rejuv.lab.rate_control import FINAL_DOWNTIME_LIMIT, Round, RoundWatcher, parse_rate_control
from rejuv.lab.vm import VMState
from rejuv.model.precopy import MBIT, RateRule
from rejuv.trace.markers import MarkerKind
from test_lab_moves import _lab, _recorder

MiB = 2**20


class _Clock:
    """Monotonic seconds that move when told, or by ``step`` at every reading."""

    def __init__(self, step: float = 0.0) -> None:
        self.now, self.step = 100.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def _answer(syncs: int, remaining: float, sent: float) -> dict[str, object]:
    return {"status": "active", "ram": {"dirty-sync-count": syncs, "remaining": int(remaining), "transferred": sent}}


def _watch(
    monkeypatch: pytest.MonkeyPatch, rule: RateRule | None
) -> tuple[RoundWatcher, _Clock, list[dict[str, object]]]:
    clock = _Clock()
    set_calls: list[dict[str, object]] = []

    async def set_parameters(parameters: dict[str, object]) -> None:
        set_calls.append(parameters)

    return RoundWatcher(128 * MiB, rule, set_parameters, lambda _: None, clock), clock, set_calls


def test_each_round_gets_the_previous_rounds_dirtying_rate_plus_the_increment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Round 1 at 100 Mbit/s; 10 s later 100 Mbit dirty (10 Mbit/s): 100 again; 1 s later 80 Mbit (80 Mbit/s): 130."""
    watcher, clock, set_calls = _watch(monkeypatch, RateRule())
    assert (watcher.max_bandwidth, watcher.downtime_limit) == (12_500_000, 1)
    asyncio.run(watcher.observe(_answer(1, 100 * MiB, 0)))
    clock.now += 10.0
    asyncio.run(watcher.observe(_answer(2, 100 * MBIT, 0)))
    clock.now += 1.0
    asyncio.run(watcher.observe(_answer(3, 80 * MBIT, 0)))
    assert [round_.number for round_ in watcher.rounds] == [1, 2, 3]
    assert [round_.rate for round_ in watcher.rounds] == pytest.approx([100 * MBIT, 100 * MBIT, 130 * MBIT])
    assert watcher.rounds[2].dirtying_rate == pytest.approx(80 * MBIT)
    assert set_calls == [{"max-bandwidth": 12_500_000}, {"max-bandwidth": 16_250_000}]


def test_what_was_sent_beyond_the_old_rounds_rest_counts_as_dirtied(monkeypatch: pytest.MonkeyPatch) -> None:
    """8 Mbit left at one answer, 20 Mbit sent by the next, 10 Mbit dirty then: 10 + (20 - 8) = 22 Mbit dirtied."""
    watcher, clock, _ = _watch(monkeypatch, None)
    asyncio.run(watcher.observe(_answer(1, 8 * MBIT, 0)))
    clock.now += 1.0
    asyncio.run(watcher.observe(_answer(2, 10 * MBIT, 20 * MBIT)))
    assert watcher.rounds[1].dirtying_rate == pytest.approx(22 * MBIT)
    assert watcher.rounds[1].rate is None  # unlimited: only watched


def test_a_paused_guest_dirties_nothing_however_much_was_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop-and-copy's passes: the old round's 30 Mbit sent, nothing dirty at the sync: 0 Mbit/s dirtied."""
    watcher, clock, _ = _watch(monkeypatch, None)
    asyncio.run(watcher.observe(_answer(1, 30 * MBIT, 0)))
    clock.now += 1.0
    asyncio.run(watcher.observe(_answer(2, 0, 30 * MBIT)))
    assert watcher.rounds[1].dirtying_rate == 0.0


def test_the_rate_reaching_the_maximum_starts_the_stop_and_copy_round(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dirtying 460 Mbit/s: 510 >= 500, so the next round is the last, at 500 Mbit/s with QEMU's downtime limit lifted."""
    watcher, clock, set_calls = _watch(monkeypatch, RateRule())
    asyncio.run(watcher.observe(_answer(1, 100 * MiB, 0)))
    clock.now += 1.0
    asyncio.run(watcher.observe(_answer(2, 460 * MBIT, 0)))
    clock.now += 1.0
    asyncio.run(watcher.observe(_answer(3, 10 * MBIT, 0)))  # a sync during the stop-and-copy: no new round
    assert len(watcher.rounds) == 2 and watcher.rounds[-1].final
    assert watcher.rounds[-1].reason == "the rate reached the maximum"
    assert set_calls == [{"max-bandwidth": 62_500_000, "downtime-limit": FINAL_DOWNTIME_LIMIT}]


def test_little_left_starts_the_stop_and_copy_round(monkeypatch: pytest.MonkeyPatch) -> None:
    """Less than 256 KiB dirty at a sync: stop-and-copy at the maximum rate, whatever the dirtying rate."""
    watcher, clock, _ = _watch(monkeypatch, RateRule())
    asyncio.run(watcher.observe(_answer(1, 100 * MiB, 0)))
    clock.now += 1.0
    asyncio.run(watcher.observe(_answer(2, 100 * 1024, 0)))
    assert watcher.rounds[-1].final and watcher.rounds[-1].reason == "less than 256 KiB left"


def test_a_migration_that_qemu_ends_itself_gets_its_stop_and_copy_round(monkeypatch: pytest.MonkeyPatch) -> None:
    """QEMU completes at a sync the watcher never saw: the last round is recorded, final, saying QEMU switched over."""
    watcher, clock, set_calls = _watch(monkeypatch, RateRule())
    asyncio.run(watcher.observe(_answer(1, 100 * MiB, 0)))
    clock.now += 1.0
    asyncio.run(watcher.observe({"status": "completed", "downtime": 3}))
    assert [(r.number, r.final, r.rate) for r in watcher.rounds] == [(1, False, 100 * MBIT), (2, True, 500 * MBIT)]
    assert watcher.rounds[-1].reason.startswith("QEMU switched over itself") and set_calls == []
    assert watcher.final_figures == {"status": "completed", "downtime": 3}


def test_a_rounds_note_gives_its_number_rate_and_dirtying_rate() -> None:
    """The migration-round marker's note: round number, rate and dirtying rate in Mbit/s, and why it is the last."""
    assert Round(2, 0.0, 150 * MBIT, 100 * MBIT).describe() == "round 2: 150.0 Mbit/s; dirtying 100.0 Mbit/s"
    final = Round(5, 0.0, 500 * MBIT, 470 * MBIT, final=True, reason="the rate reached the maximum")
    assert (
        final.describe() == "round 5 (stop-and-copy): 500.0 Mbit/s; dirtying 470.0 Mbit/s; the rate reached the maximum"
    )


def _rounds(fake: FakeQEMU, dirty_mbit: list[float]) -> None:
    """Script ``fake``'s next migration: one answer per round (0.0 s apart in the fake), then completed."""
    fake.progress = [{"dirty-sync-count": 1, "remaining": 128 * MiB, "transferred": 0}]
    for number, dirtied in enumerate(dirty_mbit, start=2):
        fake.progress.append({"dirty-sync-count": number, "remaining": int(dirtied * MBIT), "transferred": 0})


def test_a_rate_controlled_move_marks_every_round_and_sets_its_rate_over_qmp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each round: a migration-round marker for the VM, its rate set by migrate-set-parameters; the guest arrives.

    The watcher's clock moves 1 s at each reading (round 1 spans two: its start and the first answer).
    Rounds dirtying 80 (in 2 s), 120, 300 and 2 Mbit: rates 100, 170, 350, then 2 Mbit is less than
    256 KiB, so the stop-and-copy round at 500 Mbit/s.
    """
    monkeypatch.setattr(moves, "RoundWatcher", functools.partial(RoundWatcher, clock=_Clock(step=1.0)))
    vms, fakes, _, destination, _ = _lab(tmp_path, 1)
    token = fakes[0].token
    _rounds(fakes[0], [80.0, 120.0, 300.0, 2.0])
    marks, mark = _recorder()
    report = asyncio.run(move_all(vms, mark, destination, live=True, rule=RateRule()))
    notes = [note for kind, subject, note in marks if kind is MarkerKind.MIGRATION_ROUND and subject == "vm0"]
    assert notes == [
        "round 1: 100.0 Mbit/s",
        "round 2: 100.0 Mbit/s; dirtying 40.0 Mbit/s",
        "round 3: 170.0 Mbit/s; dirtying 120.0 Mbit/s",
        "round 4: 350.0 Mbit/s; dirtying 300.0 Mbit/s",
        "round 5 (stop-and-copy): 500.0 Mbit/s; dirtying 2.0 Mbit/s; less than 256 KiB left",
    ]
    rates = [p["max-bandwidth"] for p in fakes[0].parameters if "max-bandwidth" in p]
    assert rates == [12_500_000, 12_500_000, 21_250_000, 43_750_000, 62_500_000]
    assert vms[0].boot_token == token and vms[0].host is destination.spare
    recorded = report.migrations["vm0"]["rounds"]
    assert isinstance(recorded, list) and [r["rate_mbit"] for r in recorded] == [100, 100, 170, 350, 500]
    assert report.procedure == "live_rate_control"


def test_a_rate_controlled_move_whose_destination_dies_is_cancelled_and_the_controller_stops(tmp_path: Path) -> None:
    """Destination killed in round 2: cancelled, the guest on the source, and no rate is set after the cancel."""
    vms, fakes, network, destination, arrivals = _lab(tmp_path, 1)
    source, token = vms[0], fakes[0].token
    _rounds(fakes[0], [50.0, 40.0, 30.0, 20.0])
    fakes[0].progress.insert(2, {})  # the destination dies at this answer (an empty ram: no new round)
    original = fakes[0]._query_migrate

    def query(fault: str | None) -> dict[str, object]:
        if len(fakes[0].progress) == 3:
            network["tcp:10.9.0.2:4444"].kill()
            fakes[0].progress.clear()
            return {"status": "failed", "error-desc": "fake: the destination is gone"}
        return original(fault)

    fakes[0]._query_migrate = query  # type: ignore[method-assign]
    marks, mark = _recorder()
    report = asyncio.run(move_all(vms, mark, destination, live=True, rule=RateRule()))
    assert vms[0] is source and source.state is VMState.RUNNING and fakes[0].token == token
    assert arrivals[0].pid is None and "migrate_cancel" in fakes[0].commands
    after_cancel = fakes[0].commands[fakes[0].commands.index("migrate_cancel") :]
    assert "migrate-set-parameters" not in after_cancel
    assert marks[-1][0] is MarkerKind.MIGRATION_CANCELLED and "migration cancelled" in report.outcomes["vm0"]


def test_a_stalled_rate_controlled_move_is_cancelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cut link under rate control: nothing sent for STALL s, cancelled, the guest on the source host."""
    monkeypatch.setattr(moves, "STALL", 0.05)
    vms, fakes, _, destination, arrivals = _lab(tmp_path, 1)
    fakes[0].fail("migrate-progress", "hang")
    marks, mark = _recorder()
    report = asyncio.run(move_all(vms, mark, destination, live=True, rule=RateRule()))
    assert vms[0].state is VMState.RUNNING and vms[0].host is not destination.spare and arrivals[0].pid is None
    assert "migration stalled" in report.outcomes["vm0"] and marks[-1][0] is MarkerKind.MIGRATION_CANCELLED


def test_an_interrupted_rate_controlled_move_rolls_back_and_leaves_no_task(tmp_path: Path) -> None:
    """SIGTERM (a cancelled run) mid-move: the guest runs on at the source, the destination is gone, nothing runs on."""
    vms, fakes, _, destination, arrivals = _lab(tmp_path, 1)
    fakes[0].fail("migrate-progress", "hang")

    async def interrupted() -> set[asyncio.Task[object]]:
        moving = asyncio.create_task(move_all(vms, lambda *a, **k: None, destination, live=True, rule=RateRule()))
        await asyncio.sleep(0.05)
        moving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await moving
        return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}

    assert asyncio.run(interrupted()) == set()
    assert vms[0].state is VMState.RUNNING and arrivals[0].pid is None and "migrate_cancel" in fakes[0].commands


@pytest.mark.parametrize(
    ("text", "rates"), [("100mbit,50mbit,500mbit", (100, 50, 500)), ("1gbit,100mbit,2gbit", (1000, 100, 2000))]
)
def test_rate_control_is_three_rates_in_tcs_units(text: str, rates: tuple[int, int, int]) -> None:
    """--rate-control INITIAL,INCREMENT,MAXIMUM takes --link's units."""
    rule = parse_rate_control(text)
    assert (rule.initial, rule.increment, rule.maximum) == pytest.approx(tuple(r * MBIT for r in rates))


@pytest.mark.parametrize("text", ["100mbit,500mbit", "fast,50mbit,500mbit", "600mbit,50mbit,500mbit", ""])
def test_a_rate_control_that_is_not_three_ordered_rates_is_refused(text: str) -> None:
    """Not three rates, a non-rate, or an initial rate above the maximum: LabError naming rate_control."""
    with pytest.raises(LabError) as caught:
        parse_rate_control(text)
    assert caught.value.what == "rate_control"


def test_the_dirtier_is_told_its_blocks_per_tick_and_buffer_on_the_kernel_command_line() -> None:
    """8 MiB/s = 32 blocks of 64 KiB per 0.25 s, in a 48 MiB buffer; nothing without a buffer."""
    assert dirtying_arguments(VMConfig(dirty=8.0, dirty_buffer=48)) == ["vmdirty=32", "vmdirtybuf=48"]
    assert dirtying_arguments(VMConfig(dirty=1000.0, dirty_buffer=8)) == ["vmdirty=128", "vmdirtybuf=8"]
    assert dirtying_arguments(VMConfig()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--procedure", "live_rate_control", "--rate-control", "1,2"], "error: --rate-control: must be three rates"),
        (["--procedure", "live", "--rate-control", "100mbit,50mbit,500mbit"], "error: --rate-control: only"),
        (["--dirty", "-1"], "error: --dirty: must be a finite number >= 0"),
        (["--dirty", "nan"], "error: --dirty: must be a finite number >= 0"),
        (["--dirty", "0.1"], "error: --dirty: must be 0 or at least 0.25"),
        (["--dirty", "8", "--memory", "128", "--dirty-buffer", "64"], "error: --dirty-buffer: must be from 0 to 48"),
        (["--dirty", "8", "--memory", "64"], "error: --dirty-buffer: must be from 0 to 0"),
    ],
)
def test_bad_rate_control_or_dirtying_is_refused_before_anything_is_made(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    """rejuv lab run with a bad --rate-control, --dirty or --dirty-buffer: `error: <option>: <why>`, exit 2, no trace."""
    out = tmp_path / "run.trace"
    command = [sys.executable, "-m", "rejuv", "lab", "run", *argv, "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
