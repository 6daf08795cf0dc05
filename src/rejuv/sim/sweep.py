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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rejuv.model import STRATEGIES, Parameters
from rejuv.sim.config import SimConfig
from rejuv.sim.replications import DEFAULT_CONFIDENCE, MeanInterval
from rejuv.sim.run import simulate

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["SweepPoint", "SweepRow", "model_loss", "run_sweep", "sweep_points", "task_seed"]


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


def run_task(params: Parameters, config: SimConfig, seed: np.random.SeedSequence) -> tuple[float, float, float]:
    """One replication, run on a worker: its loss, failures and hours of waiting for a spare."""
    result = simulate(params, config, seed=seed)
    return result.loss, float(result.failures), result.wait_seconds / 3600.0


def run_sweep(
    client: Client,
    params: Parameters,
    template: SimConfig,
    points: Sequence[SweepPoint],
    replications: int,
    seed: int,
    on_done: Callable[[], None] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> list[SweepRow]:
    """Run every point ``replications`` times as tasks on ``client``; ``on_done`` is called as each task finishes.

    Configurations are checked here, before anything is submitted, so a bad
    one raises :class:`~rejuv.errors.ParameterError` at once; a task that
    fails on a worker raises its error when gathered.
    """
    from distributed import as_completed

    configs = [point.config(template) for point in points]
    shared = client.scatter(params, broadcast=True, hash=False)  # type: ignore[no-untyped-call]
    futures = {}
    for i, config in enumerate(configs):
        for r in range(replications):
            future = client.submit(run_task, shared, config, task_seed(seed, i, r), pure=False)
            futures[future] = (i, r)
    values = np.empty((len(points), replications, 3))
    for future in as_completed(futures):  # type: ignore[no-untyped-call]
        i, r = futures[future]
        values[i, r] = future.result()
        if on_done is not None:
            on_done()
    rows = []
    for i, point in enumerate(points):
        model = model_loss(params, point)
        loss, failures, waits = (MeanInterval.of(values[i, :, j], confidence) for j in range(3))
        rows.append(SweepRow(point, model, loss, failures, waits))
    return rows
