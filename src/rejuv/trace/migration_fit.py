"""Table 1 from a trace: per-VM throughput and move time while each VM migrates.

With the VMs' ``migration-started`` / ``migration-ended`` markers in order,
the i-th move's window gives (per-VM means over the samples wholly inside it):

- V_s(i): the VMs still on the source (those that move later);
- V_m(i): the VM that is moving (0 for stop-and-copy);
- V_d(i): the VMs already on the destination;
- M(i): the length of the window, s.

Each column is fitted with :func:`rejuv.trace.curve_fit.fit_curve`, and the
fitted curves give γ (stop-and-copy) or γ' (live) through the model, with p
the host's throughput before the first move.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import TraceError
from rejuv.model import MigrationProfile, MigrationStrategy, migration_degradation
from rejuv.trace.curve_fit import CurveFit, fit_curve
from rejuv.trace.data import Trace
from rejuv.trace.markers import MarkerKind
from rejuv.trace.segment import DEFAULT_SETTINGS, Estimate, Settings

__all__ = ["MigrationFit", "migration_table", "fit_migration", "migration_parameters"]

Array = NDArray[np.float64]
COLUMNS = ("source_throughput", "moving_throughput", "destination_throughput", "move_time")


def _moves(trace: Trace) -> list[tuple[str, float, float]]:
    started: dict[str, float] = {}
    moves = []
    for marker in trace.markers:
        if marker.kind is MarkerKind.MIGRATION_STARTED:
            if marker.subject is None:
                raise TraceError(trace.source, f"the migration-started marker at {marker.time:g} s names no VM")
            started[marker.subject] = marker.time
        elif marker.kind is MarkerKind.MIGRATION_ENDED:
            if marker.subject not in started:
                raise TraceError(
                    trace.source, f"migration-ended at {marker.time:g} s for {marker.subject!r}, which never started"
                )
            moves.append((marker.subject, started.pop(marker.subject), marker.time))
        elif marker.kind is MarkerKind.MIGRATION_CANCELLED and marker.subject is not None:
            started.pop(marker.subject, None)  # the VM stayed on the source: no move to fit
    if not moves:
        raise TraceError(trace.source, "has no migration-started/migration-ended markers")
    return sorted(moves, key=lambda move: move[1])


def migration_table(trace: Trace) -> dict[str, Array]:
    """The measured Table 1 of ``trace``: ``i`` and the four columns, NaN where nothing was measured."""
    moves = _moves(trace)
    order = [subject for subject, _, _ in moves]
    rows: dict[str, list[float]] = {"i": [], **{column: [] for column in COLUMNS}}
    for i, (subject, start, end) in enumerate(moves, start=1):
        first, last = math.ceil(start / trace.step), math.floor(end / trace.step)
        if last <= first:
            raise TraceError(trace.source, f"the migration of {subject} ({end - start:g} s) is shorter than one sample")
        window = trace.vm_throughput[first:last]

        def mean_of(names: list[str], values: Array = window) -> float:
            if not names:
                return math.nan
            columns = [trace.vm_names.index(name) for name in names]
            return float(np.nanmean(values[:, columns]))

        rows["i"].append(i)
        rows["source_throughput"].append(mean_of(order[i:] + [n for n in trace.vm_names if n not in order]))
        rows["moving_throughput"].append(mean_of([subject]))
        rows["destination_throughput"].append(mean_of(order[: i - 1]))
        rows["move_time"].append(end - start)
    return {key: np.array(values, dtype=np.float64) for key, values in rows.items()}


@dataclass(frozen=True)
class MigrationFit:
    """The measured table, the fitted curves, and the degradation rate they imply."""

    live: bool
    vms: int  #: n, VMs moved per run
    table: dict[str, Array]
    fits: dict[str, CurveFit]
    profile: MigrationProfile
    host_throughput: float  #: p, req/s, before the first move
    degradation: float  #: γ (stop-and-copy) or γ' (live)
    total_time: float  #: measured time to move all n VMs (mean over runs), s


def _host_throughput(trace: Trace, settings: Settings) -> float:
    first = round(_moves(trace)[0][1] / trace.step)
    before = trace.host_throughput[max(0, first - round(settings.baseline_seconds(trace.step) / trace.step)) : first]
    before = before[np.isfinite(before)]
    if len(before) < settings.min_baseline_samples:
        raise TraceError(trace.source, f"baseline window too short before the first migration: {len(before)} samples")
    return float(np.median(before))


def fit_migration(
    traces: Sequence[Trace], live: bool | None = None, settings: Settings = DEFAULT_SETTINGS
) -> MigrationFit:
    """Fit Table 1 from one or more migration runs (their tables pooled).

    ``live`` None: live if the moving VM kept serving. p is the mean of the
    runs' host throughput before their first move. Raises :class:`TraceError`
    for missing markers, fewer than 2 moves, or runs of different sizes.
    """
    tables = [migration_table(trace) for trace in traces]
    sizes = {len(table["i"]) for table in tables}
    if len(sizes) != 1:
        raise TraceError(", ".join(t.source for t in traces), f"runs migrate different numbers of VMs: {sorted(sizes)}")
    n = sizes.pop()
    if n < 2:
        raise TraceError(traces[0].source, f"needs at least 2 migrated VMs, got {n}")
    table = {key: np.concatenate([t[key] for t in tables]) for key in tables[0]}
    host = float(np.mean([_host_throughput(trace, settings) for trace in traces]))
    if live is None:
        live = bool(np.nanmean(table["moving_throughput"]) > settings.down_fraction * host / n)
    index = table["i"].astype(np.int64)
    name = "live" if live else "stop_and_copy"
    fits = {
        column: fit_curve(f"{name}.{column}", index, table[column])
        for column in COLUMNS
        if live or column != "moving_throughput"
    }
    profile = MigrationProfile(
        name=name,
        source_throughput=fits["source_throughput"].curve,
        destination_throughput=fits["destination_throughput"].curve,
        move_time=fits["move_time"].curve,
        moving_throughput=fits["moving_throughput"].curve if live else None,
    )
    rate = float(migration_degradation(profile, n, host))
    total = float(table["move_time"].sum()) / len(tables)
    return MigrationFit(live, n, table, fits, profile, host, rate, total)


def migration_parameters(fitted: MigrationFit, strategy: MigrationStrategy, step: float) -> dict[str, Estimate]:
    """What a fitted migration gives the model: the strategy's time parameter, within one sampling ``step``.

    Stop-and-copy gives D_m = M_t / n, the mean downtime per VM; live
    migration gives M_l = M_t (each strategy says which:
    :meth:`~rejuv.model.MigrationStrategy.time_parameter`).
    """
    value = strategy.time_parameter(fitted.total_time, fitted.vms)
    return {strategy.time_symbol: Estimate(value, step, "s")}
