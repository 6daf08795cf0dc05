"""Lab migration traces feed rejuv fit and rejuv plot-trace directly: real QEMU (TCG), one run per procedure.

Each run moves 3 VMs (128 MB guests, 10 req/s each, 1 Gbit/s link: about a second per move) with a
0.25 s step, so that every move holds several samples; 3 VMs are the fewest that give each Table 1
column 2 rows or more. About 35 s per run on this 2-core machine. (At 20 req/s each, the lab's
guest status check timed out, 5 s, in two runs of three at a load average of 7 to 12.) Root and ``qemu-system-x86_64``
are needed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from lab_runs import run_leaving_nothing
from rejuv.cli import main
from rejuv.lab.experiment import Experiment
from rejuv.lab.image import GuestImage, ImageRecipe, build_image
from rejuv.model import STRATEGIES, MigrationStrategy, lookup
from rejuv.report import plot_migration_trace
from rejuv.trace import read_trace, write_trace
from rejuv.trace.moves import find_moves

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the two-host lab needs root"),
]

VMS, RATE = 3, 10.0
PROCEDURES = ("live", "migration")


@pytest.fixture(scope="module")
def image() -> GuestImage:
    return build_image(ImageRecipe(files=20))


@pytest.fixture(scope="module", params=PROCEDURES)
def run(
    request: pytest.FixtureRequest, image: GuestImage, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    """One lab run of a procedure (shared by its tests), its trace written as rejuv lab run writes it."""
    procedure = str(request.param)
    experiment = Experiment(
        procedure=procedure,
        vms=VMS,
        rate=RATE,
        before=8.0,
        after=4.0,
        memory_mb=128,
        accel="tcg",
        timeout=3.0,
        link="1gbit",
        step=0.25,
    )
    result = run_leaving_nothing(experiment, image)
    return procedure, write_trace(result.trace, tmp_path_factory.mktemp("lab") / f"{procedure}.trace")


def _fit(capsys: pytest.CaptureFixture[str], trace: Path, kind: str, out: Path) -> dict[str, object]:
    assert main(["fit", str(trace), "--kind", kind, "--out", str(out), "--json"]) == 0, capsys.readouterr().err
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_rejuv_fit_rebuilds_table_1_from_a_lab_run(
    run: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rejuv fit --kind on the lab's trace: 3 rows, M(i) each move's marked length, the time parameter their sum
    (D_m: over n), p within 35% of the offered 3 x 10 req/s (the served load, under CPU contention)."""
    procedure, trace = run
    document = _fit(capsys, trace, procedure, tmp_path / "fit.toml")
    moves = find_moves(read_trace(trace))
    assert document["vms"] == VMS and document["evacuations"] == 1
    table = document["table_1"]
    assert isinstance(table, dict)
    assert table["i"] == [1.0, 2.0, 3.0]
    assert np.allclose(table["move_time"], [move.end - move.start for move in moves])
    item = STRATEGIES[procedure]
    assert isinstance(item, MigrationStrategy)
    estimates = document["estimates"]
    assert isinstance(estimates, dict)
    total = sum(move.end - move.start for move in moves)
    assert estimates[item.time_symbol]["value"] == pytest.approx(total / VMS if procedure == "migration" else total)
    assert abs(float(str(document["host_throughput"])) - VMS * RATE) <= 0.35 * VMS * RATE


def test_a_lab_fit_writes_a_parameter_file_that_compare_accepts(
    run: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file holds n, p and the time parameter, and γ only if it was measured in [0, 1] (else the fit says not
    measured); rejuv compare --params uses every value in it."""
    procedure, trace = run
    params = tmp_path / "fit.toml"
    document = _fit(capsys, trace, procedure, params)
    item = STRATEGIES[procedure]
    assert isinstance(item, MigrationStrategy)
    estimates = document["estimates"]
    assert isinstance(estimates, dict)
    rate = lookup(item.rate_field).symbol
    assert set(estimates) <= {"n", "p", item.time_symbol, rate} and {"n", "p", item.time_symbol} <= set(estimates)
    assert estimates["n"]["value"] == VMS and estimates["p"]["value"] > 0  # the run's VMs and their load
    if rate in estimates:
        assert 0.0 <= estimates[rate]["value"] <= 1.0
    else:
        assert any("not measured" in str(note) for note in document["notes"])  # type: ignore[attr-defined]
    assert main(["compare", "--params", str(params), "--json"]) == 0
    used = json.loads(capsys.readouterr().out)["parameters"]["values"]
    for symbol, estimate in estimates.items():
        assert used[lookup(symbol).name] == pytest.approx(estimate["value"], rel=1e-5)


def test_plot_trace_draws_a_lab_run_with_its_three_moves_shaded(
    run: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """rejuv plot-trace writes the figure; it shades 3 moves, each with its switch-over, on both panels."""
    _, trace = run
    assert main(["plot-trace", str(trace), "--format", "svg"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {trace.with_suffix('.svg')}"
    for axes in plot_migration_trace(read_trace(trace)).axes:
        assert sum(patch.get_gid() == "move" for patch in axes.patches) == VMS
        assert sum(line.get_gid() == "switch-over" for line in axes.get_lines()) == VMS
