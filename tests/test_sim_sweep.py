"""Sweeps on Dask: each task's seed comes from its place in the sweep, so results do not depend on the workers."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from distributed import Client, LocalCluster

from rejuv.cli.main import main
from rejuv.model import Parameters
from rejuv.report import SWEEP_HEADER
from rejuv.sim import DurationModel, SimConfig, replicate
from rejuv.sim.sweep import SweepPoint, SweepRow, model_loss, run_sweep, sweep_points

RANDOM = SimConfig(periods=13, durations=DurationModel.parse("lognormal:0.4"), stagger="random", seed=0)
POINTS = [SweepPoint("warm", 10, 0), SweepPoint("migration", 12, 1), SweepPoint("migration", 12, 2)]


def _client(workers: int) -> Client:
    """Threads, not processes (processes=False): the seeds are the point, and threads start in a fraction of a second."""
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=":0", silence_logs=logging.ERROR
    )
    return Client(cluster)


@pytest.fixture(scope="module")
def two_workers() -> Iterator[Client]:
    """A local cluster of two single-threaded workers, in this process."""
    with _client(2) as client:
        yield client
        client.cluster.close()


def _table(rows: list[SweepRow]) -> list[tuple[float, float]]:
    return [(row.loss.mean, row.loss.half_width) for row in rows]


def test_same_seed_gives_identical_results_on_one_two_and_four_workers(paper: Parameters) -> None:
    """Three points × 3 replications with random stagger and durations: bit-identical means and intervals on 1, 2, 4 workers."""
    tables = []
    for workers in (1, 2, 4):
        with _client(workers) as client:
            tables.append(_table(run_sweep(client, paper, RANDOM, POINTS, 3, seed=42)))
            client.cluster.close()
    assert tables[0] == tables[1] == tables[2]
    assert all(half > 0 for _, half in tables[0])


def test_another_sweep_seed_gives_other_results(paper: Parameters, two_workers: Client) -> None:
    """The sweep's seed is the root of every task's: changing it changes the draws."""
    first = _table(run_sweep(two_workers, paper, RANDOM, POINTS[:1], 3, seed=1))
    second = _table(run_sweep(two_workers, paper, RANDOM, POINTS[:1], 3, seed=2))
    assert first != second


def test_sweep_replications_are_those_of_replicate_with_the_points_child_seed(
    paper: Parameters, two_workers: Client
) -> None:
    """Point i of a sweep seeded s is ``replicate`` seeded with SeedSequence(s, spawn_key=(i,)): one seeding scheme."""
    (row,) = run_sweep(two_workers, paper, RANDOM, POINTS[1:2], 4, seed=7)
    local = replicate(paper, POINTS[1].config(RANDOM), 4, seed=np.random.SeedSequence(7, spawn_key=(0,)))
    assert row.loss.mean == local.loss.mean and row.loss.half_width == local.loss.half_width


def test_points_vary_spares_only_for_strategies_that_use_them() -> None:
    """Warm and cold reboot appear once per host count (k = 0); migration once per spare count."""
    points = sweep_points(["warm", "migration"], [10, 100], [1, 3])
    assert [(p.strategy, p.hosts, p.spares) for p in points] == [
        ("warm", 10, 0),
        ("warm", 100, 0),
        ("migration", 10, 1),
        ("migration", 100, 1),
        ("migration", 10, 3),
        ("migration", 100, 3),
    ]


def test_model_with_k_spares_keeps_m_minus_k_hosts_serving(paper: Parameters) -> None:
    """With one spare the sweep's model is the paper's; with k it is (m - k)/m of the same limit."""
    one, three = model_loss(paper, SweepPoint("live", 50, 1)), model_loss(paper, SweepPoint("live", 50, 3))
    assert (1 - three) / (1 - one) == pytest.approx(47 / 49, rel=1e-12)


def test_deterministic_sweep_matches_the_model_with_k_spares(paper: Parameters, two_workers: Client) -> None:
    """Fixed durations, even stagger, 2 spares, no wait: the simulated loss is the k-spare model's within 0.1 %."""
    (row,) = run_sweep(two_workers, paper, SimConfig(periods=13), [SweepPoint("migration", 40, 2)], 2, seed=0)
    assert row.loss.half_width == 0.0
    assert row.loss.mean == pytest.approx(row.model_loss, rel=1e-3)


def test_sweep_command_writes_a_table_and_a_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``rejuv sweep`` on one local worker process: one CSV row per point after the provenance comments, a PNG, a table."""
    out = tmp_path / "new"
    args = ["sweep", "--hosts", "10", "--strategies", "warm,live", "--spares", "1,2", "--replications", "2"]
    args += ["--durations", "gamma:0.3", "--workers", "1", "--out-dir", str(out), "--no-progress"]
    assert main(args) == 0
    lines = (out / "sweep.csv").read_text().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert f"# command: rejuv {' '.join(args)}" in comments and "# seed: 0" in comments
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert [(r["strategy"], r["spares"]) for r in rows] == [("warm", "0"), ("live", "1"), ("live", "2")]
    assert all(float(r["loss_ci_low"]) < float(r["loss_mean"]) < float(r["loss_ci_high"]) for r in rows)
    assert (out / "sweep.png").read_bytes().startswith(b"\x89PNG")
    assert "Live migration" in capsys.readouterr().out


def test_sweep_writes_parquet_with_the_same_columns(tmp_path: Path) -> None:
    """--format parquet writes the CSV's columns and rows, and its provenance in the schema's metadata."""
    import pyarrow.parquet as parquet  # in the test extra, so that this path is always tested

    args = ["sweep", "--hosts", "10", "--strategies", "cold", "--replications", "1", "--table-format", "parquet"]
    assert main([*args, "--workers", "1", "--out-dir", str(tmp_path), "--no-progress"]) == 0
    read = parquet.read_table(tmp_path / "sweep.parquet")
    made = json.loads(read.schema.metadata[b"rejuv.provenance"])
    assert made["command"].startswith("rejuv sweep --hosts 10") and made["parameters"] == "kourai2008"
    table = read.to_pydict()
    assert list(table) == list(SWEEP_HEADER)
    assert table["strategy"] == ["cold"] and table["hosts"] == [10]


def test_sweep_rejects_no_replications(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--replications 0 is a usage error naming the option, before any cluster starts."""
    assert main(["sweep", "--replications", "0", "--out-dir", str(tmp_path)]) == 2
    assert "error: --replications: must be >= 1" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_sweep_rejects_bad_spare_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--spares (and its old spelling --spare-counts) must be whole numbers >= 1."""
    assert main(["sweep", "--spares", "1,x", "--out-dir", str(tmp_path)]) == 2
    assert "error: --spares: expected whole numbers" in capsys.readouterr().err
