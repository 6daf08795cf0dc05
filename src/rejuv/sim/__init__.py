"""rejuv.sim: a cluster simulator that checks the closed form and finds where it breaks.

Build a :class:`SimConfig` (strategy, hosts, horizon, stagger, spare hosts and
their policies, offered load), run :func:`simulate` with the model's
:class:`~rejuv.model.Parameters`, and read a :class:`SimResult`. Or set the
simulator beside the closed form with :func:`validate_against_model`, which also says why
the two differ where they do. Beyond the closed form, a config can draw
phase durations at random (:class:`DurationModel`), add software-aging
failures (:class:`AgingModel`) and move several VMs at once; then
:func:`replicate` runs independent replications and gives means with
Student-t confidence intervals (:class:`MeanInterval`), and
:func:`run_sweep` runs many points as tasks on a Dask cluster.

Builds on :mod:`rejuv.model`; the model never imports this package.
"""

from __future__ import annotations

from rejuv.sim.config import SimConfig, SparePolicy, Stagger, WaitPolicy
from rejuv.sim.cost import DEFAULT_EVENT_LIMIT, SimCost, check_cost, event_limit
from rejuv.sim.replications import MeanInterval, Replications, replicate, replication_seeds
from rejuv.sim.run import SimResult, simulate
from rejuv.sim.stochastic import AgingModel, Distribution, DurationModel
from rejuv.sim.sweep import (
    SweepAbortedError,
    SweepPoint,
    SweepRow,
    check_sweep,
    model_loss,
    run_sweep,
    sweep_points,
    task_seed,
)
from rejuv.sim.validation import DEFAULT_TOLERANCE, ModelCheck, periods_for, reasons, validate_against_model

__all__ = [
    # running
    "SimConfig",
    "simulate",
    "SimResult",
    "Stagger",
    "SparePolicy",
    "WaitPolicy",
    # beyond the closed form
    "DurationModel",
    "Distribution",
    "AgingModel",
    "replicate",
    "Replications",
    "MeanInterval",
    "replication_seeds",
    # what a run costs
    "SimCost",
    "check_cost",
    "event_limit",
    "DEFAULT_EVENT_LIMIT",
    # sweeps on Dask
    "run_sweep",
    "check_sweep",
    "SweepAbortedError",
    "sweep_points",
    "SweepPoint",
    "SweepRow",
    "model_loss",
    "task_seed",
    # checking the model
    "validate_against_model",
    "ModelCheck",
    "reasons",
    "periods_for",
    "DEFAULT_TOLERANCE",
]
