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
import math
import os
import socket
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rejuv.cli.format import table
from rejuv.cli.option_types import renamed
from rejuv.cli.options import (
    add_out_dir,
    add_parameter_options,
    parameters_from,
    parse_counts,
    parse_hosts,
    preset_label,
)
from rejuv.cli.sim_options import add_sim_options, config_from, parse_strategies
from rejuv.errors import ParameterError
from rejuv.files import FIGURE_FORMATS, atomic_write
from rejuv.model import STRATEGIES
from rejuv.provenance import current
from rejuv.sim.sweep import SweepAbortedError, SweepRow, check_sweep, run_sweep, sweep_points

if TYPE_CHECKING:
    from distributed import Client


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_parameter_options(parser)
    add_sim_options(parser, spares=False)
    parser.add_argument("--hosts", default="10,100,1000", help="host counts m, comma-separated (default: %(default)s)")
    parser.add_argument("--strategies", default="all", help="strategy keys, comma-separated (default: all)")
    spares = parser.add_argument(
        "--spares",
        dest="spare_counts",
        metavar="K[,K...]",
        default="1",
        help="spare hosts k for migration, one count or several to sweep, comma-separated (default: 1)",
    )
    renamed(parser, "--spare-counts", spares)
    parser.add_argument("--replications", type=int, default=5, help="independent runs per point (default: 5)")
    parser.add_argument("--periods", type=int, default=13, help="whole T_vmm per run (default: %(default)s)")
    parser.add_argument("--confidence", type=float, default=0.95, help="of the intervals (default: %(default)s)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="an existing Dask scheduler (default: local)")
    parser.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    parser.add_argument(
        "--table-format", choices=TABLE_FORMATS, default="csv", help="the table's format (default: %(default)s)"
    )
    add_out_dir(parser, "the table and the figure")
    parser.add_argument(
        "--format",
        dest="figure_format",
        choices=(*FIGURE_FORMATS, *TABLE_FORMATS),
        default="png",
        help="figure format: png, pdf or svg (default: %(default)s)",
    )
    parser.add_argument("--verbose", action="store_true", help="show Dask's log and workers' tracebacks on stderr")


#: The table's formats; ``--format csv`` and ``--format parquet`` are their old spellings (now ``--table-format``).
TABLE_FORMATS = ("csv", "parquet")


def settle_formats(args: argparse.Namespace) -> None:
    """``--format csv`` or ``parquet`` (its old meaning) warns and becomes ``--table-format``; the figure stays PNG."""
    if args.figure_format in TABLE_FORMATS:
        print(
            f"warning: --format {args.figure_format} is deprecated; use --table-format {args.figure_format}",
            file=sys.stderr,
        )
        args.table_format, args.figure_format = args.figure_format, "png"


#: Seconds to reach an existing scheduler and hear its handshake.
CONNECT_SECONDS = 5.0


def probe_scheduler(address: str) -> None:
    """Raise ParameterError unless a Dask scheduler answers at ``address`` (tcp) within :data:`CONNECT_SECONDS`.

    A Dask server speaks first: a handshake frame whose 8-byte little-endian
    length is small. A server that is not Dask (HTTP, SSH, a bare listener)
    sends nothing or something else, where Dask's own client would wait for
    ever.
    """
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(address if "://" in address else f"tcp://{address}")
    if scheme != "tcp":
        return
    host, port = parse_host_port(location)
    head = b""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_SECONDS) as connection:
            deadline = time.monotonic() + CONNECT_SECONDS
            while len(head) < 16 and time.monotonic() < deadline:
                connection.settimeout(max(deadline - time.monotonic(), 0.01))
                chunk = connection.recv(16 - len(head))
                if not chunk:
                    break
                head += chunk
    except TimeoutError:
        pass  # judged by what it sent so far
    except OSError as err:
        raise ParameterError("--scheduler", f"cannot connect to {address}: {err.strerror or err}") from None
    length, frames = struct.unpack("<QQ", head) if len(head) == 16 else (0, 0)
    if not (0 < length < 2**20 and 0 < frames < 2**10):
        said = "nothing" if not head else f"{head[:16]!r}"
        raise ParameterError(
            "--scheduler", f"{address} is not a Dask scheduler (it sent {said} within {CONNECT_SECONDS:g} s)"
        )


def scheduler_address(text: str) -> str:
    """``tcp://HOST:PORT`` (or ``HOST:PORT``) checked; raises ParameterError for anything else."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(text if "://" in text else f"tcp://{text}")
        if scheme not in ("tcp", "tls", "inproc", "ucx", "ws", "wss"):
            raise ValueError(f"unknown protocol {scheme!r}")
        if scheme != "inproc":
            parse_host_port(location)
    except (ValueError, TypeError) as err:
        raise ParameterError("--scheduler", f"expected tcp://HOST:PORT, got {text!r} ({err})") from None
    return text


def local_workers(requested: int | None) -> int:
    """``--workers``, at most one per core (a warning says so); default one per core."""
    cores = os.cpu_count() or 1
    if requested is None:
        return cores
    if requested < 1:
        raise ParameterError("--workers", f"must be >= 1, got {requested}")
    if requested > cores:
        print(
            f"warning: --workers: this machine has {cores} core(s); using {cores} workers, not {requested}",
            file=sys.stderr,
        )
        return cores
    return requested


@contextlib.contextmanager
def quiet_dask(verbose: bool) -> Iterator[None]:
    """Dask's log (connection retries, worker tracebacks) off stderr unless ``verbose``.

    Importing distributed sets the levels of its own loggers (``distributed.client``, ...), so it is
    imported first and every logger of its families is silenced, not only the parents.
    """
    import distributed  # noqa: F401  (configures its loggers, which are then silenced)

    if verbose:
        yield
        return
    families = ("distributed", "tornado", "bokeh", "asyncio")
    names = [name for name in logging.root.manager.loggerDict if name.split(".")[0] in families]
    loggers = [logging.getLogger(name) for name in {*families, *names}]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int, verbose: bool = False) -> Iterator[Client]:
    """A client of ``scheduler``, or of a LocalCluster of ``workers`` single-threaded processes, closed afterwards."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        probe_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout=f"{CONNECT_SECONDS:g}s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as err:
            why = str(err) or type(err).__name__
            raise ParameterError("--scheduler", f"no Dask scheduler answered at {scheduler} ({why})") from None
        with client:
            yield client
        return
    # a run that kills its worker is tried twice, not four times, before the sweep stops
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.WARNING if verbose else logging.CRITICAL + 1,
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
    table = pa.table(columns).replace_schema_metadata({"rejuv.provenance": current().as_json()})
    with atomic_write(path, "wb") as stream:
        pq.write_table(table, stream)
    return path


def run(args: argparse.Namespace) -> int:
    settle_formats(args)
    params = parameters_from(args)
    template = config_from(args).replace(periods=args.periods)
    points = sweep_points(
        parse_strategies(args.strategies),
        parse_hosts(args.hosts),
        parse_counts(args.spare_counts, "--spares", minimum=1),
    )
    if args.replications < 1:
        raise ParameterError("--replications", f"must be >= 1, got {args.replications}")
    if not (math.isfinite(args.confidence) and 0 < args.confidence < 1):
        raise ParameterError("--confidence", f"must be in (0, 1), e.g. 0.95, got {args.confidence!r}")
    if args.table_format == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ParameterError(
            "--table-format", "parquet needs pyarrow (pip install 'rejuv[parquet]'); use --table-format csv"
        )
    if args.out.exists() and not args.out.is_dir():
        raise ParameterError("--out-dir", f"exists and is not a folder: {args.out}")
    scheduler = None if args.scheduler is None else scheduler_address(args.scheduler)
    workers = local_workers(args.workers) if scheduler is None else 1
    # every configuration and the sweep's cost are checked before a cluster starts
    check_sweep(params, template, points, args.replications, workers, args.max_events)
    from tqdm import tqdm

    from rejuv.report import plot_sweep, write_figure

    total = len(points) * args.replications
    try:
        with (
            quiet_dask(args.verbose),
            dask_client(scheduler, workers, args.verbose) as client,
            tqdm(total=total, unit="run", disable=args.no_progress, file=sys.stderr) as bar,
        ):
            rows = run_sweep(
                client,
                params,
                template,
                points,
                args.replications,
                args.seed,
                bar.update,
                args.confidence,
                args.max_events,
            )
    except SweepAbortedError as err:  # keep what was done, then say why it stopped
        if err.rows:
            args.out.mkdir(parents=True, exist_ok=True)
            kept = write_table(args.out / f"sweep-partial.{args.table_format}", err.rows, args.table_format)
            raise SweepAbortedError(err.what, f"{err.why}; kept in {kept}", err.rows, err.done) from None
        raise
    args.out.mkdir(parents=True, exist_ok=True)
    table_path = write_table(args.out / f"sweep.{args.table_format}", rows, args.table_format)
    figure_path = write_figure(plot_sweep(rows), args.out / f"sweep.{args.figure_format}")
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
