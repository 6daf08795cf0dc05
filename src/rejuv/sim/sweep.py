"""Parameter sweeps of the simulator as tasks on a Dask cluster.

A sweep is a list of points (strategy, hosts m, spare hosts k), each run R
times. Every (point, replication) pair is one task, and its seed is fixed by
its place in the sweep alone: point i, replication r gets
``SeedSequence(seed, spawn_key=(i, r))``, the same child that
:func:`~rejuv.sim.replicate` gives replication r of a run seeded with
point i's child. No task draws from a shared stream, so the results do not
depend on how many workers run them, in what order, or where.

The Dask client is the caller's (a ``LocalCluster`` on this machine, or an
existing scheduler); this module only submits and gathers. ``distributed``
is imported when a sweep runs, not with :mod:`rejuv.sim`.

Before anything is submitted the sweep's cost is estimated
(:class:`~rejuv.sim.cost.SimCost`) and refused past the event or memory
limit. Replications of a point are batched so that one task holds about
:data:`TASK_EVENTS` events: a sweep of many tiny runs is not millions of
tasks (each costs the scheduler about a millisecond and a few KiB), and
seeds stay per replication, so batching changes no result. If every
worker is gone for :data:`WORKER_GRACE` seconds, or a run kills its
worker, the sweep stops with :class:`SweepAbortedError`, which keeps the rows of
the replications done so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rejuv.errors import ParameterError, RejuvError
from rejuv.model import STRATEGIES, Parameters
from rejuv.sim.config import SimConfig
from rejuv.sim.cost import PARAMETERS_REMEDY, SimCost, check_cost, parameters_too_costly
from rejuv.sim.cost import event_limit as default_event_limit
from rejuv.sim.replications import DEFAULT_CONFIDENCE, MeanInterval
from rejuv.sim.run import simulate

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["SweepAbortedError", "SweepPoint", "SweepRow", "model_loss", "run_sweep", "sweep_points", "task_seed"]

#: Simulated events one task aims at (a few seconds): replications of small runs are batched up to it.
TASK_EVENTS = 20_000_000
#: Seconds a sweep waits with no worker at all before it gives up.
WORKER_GRACE = 10.0


@dataclass(frozen=True)
class SweepPoint:
    """One simulated cluster of a sweep: a strategy, m hosts and, for migration, k spare hosts (0 otherwise)."""

    strategy: str
    hosts: int
    spares: int

    def config(self, template: SimConfig) -> SimConfig:
        """``template`` with this point's strategy, hosts and spares."""
        return template.replace(strategy=self.strategy, hosts=self.hosts, spares=max(self.spares, 1))


@dataclass(frozen=True)
class SweepRow:
    """A point's replications: the model's loss and the simulated one with its confidence interval."""

    point: SweepPoint
    model_loss: float  #: 1 - P / (m p), closed form (with k spares: see :func:`model_loss`)
    loss: MeanInterval  #: 1 - P / (m p), simulated
    failures: MeanInterval  #: software-aging failures per run
    wait_hours: MeanInterval  #: time hosts waited for a spare per run, h

    @property
    def relative_difference(self) -> float:
        """(mean simulated - model) / model loss."""
        return (self.loss.mean - self.model_loss) / self.model_loss


def sweep_points(strategies: Sequence[str], hosts: Sequence[int], spares: Sequence[int]) -> list[SweepPoint]:
    """Every strategy at every host count; strategies with spare hosts at every spare count, the others once."""
    points = []
    for key in strategies:
        counts = spares if STRATEGIES[key].needs_spare_host else [0]
        points += [SweepPoint(key, m, k) for k in counts for m in hosts]
    return points


def task_seed(seed: int, point: int, replication: int) -> np.random.SeedSequence:
    """The seed of replication ``replication`` of point ``point`` of a sweep seeded with ``seed``."""
    return np.random.SeedSequence(seed, spawn_key=(point, replication))


def model_loss(params: Parameters, point: SweepPoint) -> float:
    """The closed form's 1 - P / (m p) at ``point``; with k spare hosts, P / (m p) = (m - k) / m of its limit.

    The paper's model has one spare host; k idle spares leave m - k hosts to
    serve, which is the only change k makes while no host waits for one.
    """
    evaluation = STRATEGIES[point.strategy].evaluate(params, point.hosts)
    if point.spares == 0:
        return 1.0 - float(evaluation.normalized_throughput)
    return 1.0 - (point.hosts - point.spares) / point.hosts * float(evaluation.limit)


class SweepAbortedError(RejuvError):
    """A sweep stopped before every run was done (its workers are gone); ``rows`` holds the runs done so far."""

    def __init__(self, what: str, why: str, rows: list[SweepRow], done: int) -> None:
        super().__init__(what, why)
        self.rows = rows  #: the points with at least one replication done, over those replications
        self.done = done  #: replications done in all


def run_task(
    params: Parameters, config: SimConfig, seed: int, point: int, replications: range
) -> list[tuple[float, float, float]]:
    """Replications of one point, run on a worker: each one's loss, failures and hours of waiting for a spare."""
    out = []
    for r in replications:
        result = simulate(params, config, seed=task_seed(seed, point, r))
        out.append((result.loss, float(result.failures), result.wait_seconds / 3600.0))
    return out


def _rows(params: Parameters, points: Sequence[SweepPoint], values: np.ndarray, confidence: float) -> list[SweepRow]:
    """One row per point with at least one replication done (the others are NaN)."""
    rows = []
    for i, point in enumerate(points):
        done = ~np.isnan(values[i, :, 0])
        if not done.any():
            continue
        loss, failures, waits = (MeanInterval.of(values[i, done, j], confidence) for j in range(3))
        rows.append(SweepRow(point, model_loss(params, point), loss, failures, waits))
    return rows


def check_sweep(
    params: Parameters,
    template: SimConfig,
    points: Sequence[SweepPoint],
    replications: int,
    workers: int = 1,
    event_limit: int | None = None,
) -> list[SimCost]:
    """Each point's cost; raise :class:`~rejuv.errors.ResourceLimitError` if the sweep is past a limit.

    ``workers`` runs at once each hold one run's memory. Raises
    :class:`ParameterError` for a bad configuration or replication count.
    """
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ParameterError("replications", f"must be a whole number >= 1, got {replications!r}")
    if not points:
        raise ParameterError("hosts", "nothing to simulate: no point in the sweep")
    costs = [SimCost.of(params, point.config(template)) for point in points]
    events = replications * sum(cost.events for cost in costs)
    memory = min(workers, len(points) * replications) * max(cost.memory for cost in costs)
    memory += 24 * len(points) * replications  # the gathered results
    remedy = "sweep fewer replications, hosts, spare counts or periods (--replications, --hosts, --periods)"
    most = event_limit if event_limit is not None else default_event_limit()
    what = "replications" if replications > 1 and events / replications <= most else "hosts"
    if any(parameters_too_costly(params, point.config(template), most) for point in points):
        what, remedy = "T_vmm / T_os", PARAMETERS_REMEDY
    check_cost(what, events, memory, remedy, event_limit)
    return costs


def run_sweep(
    client: Client,
    params: Parameters,
    template: SimConfig,
    points: Sequence[SweepPoint],
    replications: int,
    seed: int,
    on_done: Callable[[int], None] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    event_limit: int | None = None,
) -> list[SweepRow]:
    """Run every point ``replications`` times as tasks on ``client``; ``on_done(runs)`` is told as runs finish.

    Configurations and cost are checked here, before anything is submitted
    (:func:`check_sweep`), so a bad one raises at once; a task that fails on
    a worker raises its error when gathered. Raises :class:`SweepAbortedError`
    when no worker is left for :data:`WORKER_GRACE` seconds or a run kills
    its worker.
    """
    from distributed import wait
    from distributed.scheduler import KilledWorker

    # distributed's own functions are untyped: give them their types once
    nthreads: Callable[[], dict[str, int]] = client.nthreads
    cancel: Callable[[list[Any]], None] = client.cancel
    waiting: Callable[..., Any] = wait
    MeanInterval.of([0.0], confidence)  # checks the confidence before any work
    workers = max(1, sum(nthreads().values()))
    costs = check_sweep(params, template, points, replications, workers, event_limit)
    configs = [point.config(template) for point in points]
    futures = {}
    for i, (config, cost) in enumerate(zip(configs, costs, strict=True)):
        batch = max(1, min(replications, TASK_EVENTS // max(cost.events, 1)))
        for first in range(0, replications, batch):
            runs = range(first, min(first + batch, replications))
            future = client.submit(run_task, params, config, seed, i, runs, pure=False)
            futures[future] = (i, runs)
    values = np.full((len(points), replications, 3), np.nan)
    pending = set(futures)
    alone_since: float | None = None
    done = 0

    def aborted(why: str) -> SweepAbortedError:
        cancel(list(pending))
        total = len(points) * replications
        return SweepAbortedError(
            "workers", f"{why}; {done:,} of {total:,} runs done", _rows(params, points, values, confidence), done
        )

    while pending:
        try:
            finished = waiting(pending, timeout=1.0, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            finished = set()
        except CancelledError:  # the scheduler dropped them (FuturesCancelledError is one)
            raise aborted("the Dask cluster dropped the runs left (its scheduler or workers went away)") from None
        for future in finished:
            pending.discard(future)
            i, runs = futures[future]
            try:
                values[i, runs.start : runs.stop] = future.result()
            except KilledWorker:
                raise aborted("a run killed its Dask worker every time it was tried (out of memory?)") from None
            except CancelledError:
                raise aborted("the Dask cluster dropped the runs left (its scheduler or workers went away)") from None
            done += len(runs)
            if on_done is not None:
                on_done(len(runs))
        if finished or nthreads():
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
        elif time.monotonic() - alone_since > WORKER_GRACE:
            raise aborted(f"every Dask worker is gone (none for {WORKER_GRACE:g} s)")
    return _rows(params, points, values, confidence)
