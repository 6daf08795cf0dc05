"""live_rate_control on real QEMU (TCG) in the two-host lab, against unlimited live migration.

One VM of 256 MB whose guest rewrites 8 MiB/s (67 Mbit/s) of a 128 MiB buffer
filled at boot (``--dirty 8``), so that pre-copy has pages to chase, moves over
a 1 Gbit/s link, once under rate control (the paper's 100, +50, 500 Mbit/s)
and once unlimited, with 12 req/s offered (about what one TCG guest serves on
this loaded machine: what the move costs the guest shows as lost throughput).
Root and ``qemu-system-x86_64`` are needed.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil

import pytest

from rejuv.lab.experiment import Experiment, ExperimentResult, run_experiment
from rejuv.lab.image import GuestImage, ImageRecipe, build_image
from rejuv.model.precopy import MBIT, RateRule
from rejuv.trace.markers import MarkerKind
from test_lab_qemu import _leftovers

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the two-host lab needs root"),
]


def _experiment(procedure: str) -> Experiment:
    return Experiment(
        procedure=procedure,
        vms=1,
        rate=12.0,
        before=8.0,
        after=4.0,
        memory_mb=256,
        accel="tcg",
        timeout=3.0,
        link="1gbit",
        dirty=8.0,
        step=0.5,
    )


@pytest.fixture(scope="module")
def image() -> GuestImage:
    return build_image(ImageRecipe(files=20))


def _run(experiment: Experiment, image: GuestImage) -> ExperimentResult:
    before = _leftovers()
    try:
        return asyncio.run(run_experiment(experiment, image))
    finally:
        assert _leftovers() - before == set(), "the run left something behind"


@pytest.fixture(scope="module")
def controlled(image: GuestImage) -> ExperimentResult:
    return _run(_experiment("live_rate_control"), image)


@pytest.fixture(scope="module")
def unlimited(image: GuestImage) -> ExperimentResult:
    return _run(_experiment("live"), image)


def _rounds(result: ExperimentResult) -> list[dict[str, object]]:
    rounds = result.trace.metadata["procedure_migrations"]["vm0"]["rounds"]
    assert isinstance(rounds, list)
    return rounds


def test_every_rounds_rate_follows_the_rule_within_100_and_500_mbit(controlled: ExperimentResult) -> None:
    """Round 1 at 100 Mbit/s; round k+1 at round k's dirtying rate + 50, within 100..500; the last, stop-and-copy, at 500."""
    rounds = _rounds(controlled)
    assert len(rounds) >= 3, f"the dirtier gave pre-copy nothing to chase: {rounds}"
    assert rounds[0]["rate_mbit"] == pytest.approx(100.0)
    rule = RateRule()
    for previous, current in itertools.pairwise(rounds):
        if current["final"]:  # the stop-and-copy round: the controller's at the maximum, or QEMU's own
            assert current["rate_mbit"] == 500.0 and current is rounds[-1]
            continue
        expected = rule.next_rate(float(current["dirtying_mbit"]) * MBIT) / MBIT  # type: ignore[arg-type]
        assert current["rate_mbit"] == pytest.approx(expected), (previous, current)
        assert 100.0 <= float(current["rate_mbit"]) <= 500.0  # type: ignore[arg-type]
    assert rounds[-1]["final"] and rounds[-1]["rate_mbit"] == 500.0
    notes = [m.note for m in controlled.trace.markers if m.kind is MarkerKind.MIGRATION_ROUND and m.subject == "vm0"]
    assert len(notes) == len(rounds) and notes[0] == "round 1: 100.0 Mbit/s"


def test_a_rate_controlled_vm_keeps_its_guest_and_serves_from_the_spare(controlled: ExperimentResult) -> None:
    """After live_rate_control: the boot token kept, the VM on the spare host and answering; the source runs nothing."""
    assert controlled.status_after["vm0"].token == controlled.status_before["vm0"].token
    assert controlled.trace.metadata["vm_hosts_after"] == {"vm0": "spare"}
    assert controlled.trace.metadata["host_processes_after"]["source"] == 0
    moved = next(m.time for m in controlled.markers if m.kind is MarkerKind.MIGRATION_ENDED)
    after = [r for r in controlled.requests if r.start - controlled.start > moved + 1.0]
    assert after and all(r.ok for r in after)


def _move_share(result: ExperimentResult) -> float:
    """The moving VM's replies per second during its move over those in the 6 s before it (by each reply's end)."""
    marks = {m.kind: m.time + result.start for m in result.trace.markers if m.subject == "vm0"}
    began, ended = marks[MarkerKind.MIGRATION_STARTED], marks[MarkerKind.MIGRATION_ENDED]

    def replies(start: float, end: float) -> float:
        return sum(1 for r in result.requests if r.ok and start <= r.end < end) / (end - start)

    return replies(began, ended) / replies(began - 6.0, began)


def test_unlimited_live_migration_is_faster_in_total_and_degrades_more(
    controlled: ExperimentResult, unlimited: ExperimentResult
) -> None:
    """Unlimited: a shorter move (QEMU's total time) and a lower throughput of the moving VM while it moves."""
    total = {
        name: result.trace.metadata["procedure_migrations"]["vm0"]["qemu"]["total-time"] / 1000
        for name, result in (("unlimited", unlimited), ("controlled", controlled))
    }
    assert total["unlimited"] < total["controlled"], total
    shares = {"unlimited": _move_share(unlimited), "controlled": _move_share(controlled)}
    print(f"QEMU total time {total}; moving VM's throughput share during its move {shares}")
    assert shares["unlimited"] < shares["controlled"], shares
