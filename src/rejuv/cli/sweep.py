"""``rejuv sweep``: replications and parameter sweeps of the simulator as tasks on a Dask cluster.

The default is a ``LocalCluster`` on this machine (``--workers`` processes,
one thread each); ``--scheduler tcp://HOST:PORT`` uses an existing cluster.
Progress is a tqdm bar on stderr advanced as each task completes
(``as_completed``): it counts finished tasks whichever cluster runs them,
needs no scheduler plugin, and keeps stdout for the table.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rejuv.cli.format import table
from rejuv.cli.options import add_parameter_options, parameters_from, parse_counts, parse_hosts, preset_label
from rejuv.cli.sim_options import add_sim_options, config_from, parse_strategies
from rejuv.errors import ParameterError
from rejuv.files import atomic_write
from rejuv.model import STRATEGIES
from rejuv.sim.sweep import SweepRow, run_sweep, sweep_points

if TYPE_CHECKING:
    from distributed import Client

HELP = "run simulator replications and parameter sweeps as Dask tasks; write a table (CSV or Parquet) and a figure"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_parameter_options(parser)
    add_sim_options(parser)
    parser.add_argument("--hosts", default="10,100,1000", help="host counts m, comma-separated (default: %(default)s)")
    parser.add_argument("--strategies", default="all", help="strategy keys, comma-separated (default: all)")
    parser.add_argument(
        "--spare-counts", default="1", help="spare host counts k for migration, comma-separated (default: 1)"
    )
    parser.add_argument("--replications", type=int, default=5, help="independent runs per point (default: 5)")
    parser.add_argument("--periods", type=int, default=13, help="whole T_vmm per run (default: %(default)s)")
    parser.add_argument("--confidence", type=float, default=0.95, help="of the intervals (default: %(default)s)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="an existing Dask scheduler (default: local)")
    parser.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv", help="table (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("rejuv-out"), help="output folder (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator[Client]:
    """A client of ``scheduler``, or of a LocalCluster of ``workers`` single-threaded processes, closed afterwards."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as err:
            raise ParameterError("--scheduler", f"cannot connect to {scheduler}: {err}") from None
        with client:
            yield client
        return
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count < 1:
        raise ParameterError("--workers", f"must be >= 1, got {count}")
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=count, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
    )
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        yield client


def write_table(path: Path, rows: list[SweepRow], kind: str) -> Path:
    """The sweep's table as CSV, or as Parquet (needs pyarrow), atomically."""
    from rejuv.report import SWEEP_HEADER, sweep_table, write_csv

    cells = sweep_table(rows)
    if kind == "csv":
        return write_csv(path, SWEEP_HEADER, cells)
    import pyarrow as pa  # type: ignore[import-untyped,import-not-found,unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-untyped,import-not-found,unused-ignore]

    columns = {name: [row[i] for row in cells] for i, name in enumerate(SWEEP_HEADER)}
    with atomic_write(path, "wb") as stream:
        pq.write_table(pa.table(columns), stream)
    return path


def run(args: argparse.Namespace) -> int:
    params = parameters_from(args)
    template = config_from(args).replace(periods=args.periods)
    points = sweep_points(
        parse_strategies(args.strategies),
        parse_hosts(args.hosts),
        parse_counts(args.spare_counts, "--spare-counts", minimum=1),
    )
    if args.replications < 1:
        raise ParameterError("--replications", f"must be >= 1, got {args.replications}")
    if args.format == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ParameterError("--format", "parquet needs pyarrow (pip install 'rejuv[parquet]'); use --format csv")
    if args.out.exists() and not args.out.is_dir():
        raise ParameterError("--out", f"exists and is not a folder: {args.out}")
    for point in points:  # every configuration is checked before a cluster starts
        point.config(template)
    from tqdm import tqdm

    from rejuv.report import plot_sweep, write_figure

    total = len(points) * args.replications
    with (
        dask_client(args.scheduler, args.workers) as client,
        tqdm(total=total, unit="run", disable=args.no_progress, file=sys.stderr) as bar,
    ):
        rows = run_sweep(
            client, params, template, points, args.replications, args.seed, lambda: bar.update(), args.confidence
        )
    args.out.mkdir(parents=True, exist_ok=True)
    table_path = write_table(args.out / f"sweep.{args.format}", rows, args.format)
    figure_path = write_figure(plot_sweep(rows), args.out / "sweep.png")
    header = ["strategy", "m", "k", "model loss", "simulated loss", f"± ({args.confidence:.0%})", "rel. diff"]
    body = [
        [
            STRATEGIES[r.point.strategy].label,
            f"{r.point.hosts:,}",
            str(r.point.spares or "-"),
            f"{r.model_loss:.6e}",
            f"{r.loss.mean:.6e}",
            f"{r.loss.half_width:.1e}",
            f"{r.relative_difference:+.2e}",
        ]
        for r in rows
    ]
    print(f"parameters: {preset_label(args)}; {args.replications} replication(s) per point, seed {args.seed}\n")
    print(table(header, body, "lrrrrrr"))
    print(f"\nwrote {table_path}\nwrote {figure_path}")
    return 0
