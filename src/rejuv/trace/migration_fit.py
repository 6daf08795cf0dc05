"""Table 1 from a trace: per-VM throughput and move time while each VM migrates.

Each evacuation (:mod:`rejuv.trace.moves`: one host emptied onto its spare)
gives one measurement of every row. Its i-th done move's window gives the
per-VM means over the samples wholly inside it (missing samples left out):

- V_s(i): the VMs still on the source (those that move later);
- V_m(i): the VM that is moving (0 for stop-and-copy);
- V_d(i): the VMs already on the destination;
- M(i): the length of the window, s.

A cancelled move's VM is left out of every column (and of p), and said so.
Several evacuations (in one trace or several) are repeated measurements of
the same rows: the table is their mean, with the standard error of their
spread. p is the evacuation's VMs' total throughput in the baseline window
before its first move. Each column of the mean table is fitted with
:func:`rejuv.trace.curve_fit.fit_curve`, and the fitted curves give γ
(stop-and-copy) or γ' (live) through the model; a γ outside [0, 1] (noise
around no degradation, say) is not measured, and is said so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import ParameterError, TraceError
from rejuv.model import MigrationProfile, MigrationStrategy, lookup, raw_migration_degradation
from rejuv.trace.curve_fit import CurveFit, fit_curve
from rejuv.trace.data import Trace
from rejuv.trace.migration_table import COLUMNS, EvacuationTable, measure_evacuations
from rejuv.trace.segment import DEFAULT_SETTINGS, Estimate, Settings

__all__ = ["MigrationFit", "migration_table", "fit_migration", "migration_parameters"]

Array = NDArray[np.float64]


def migration_table(trace: Trace, settings: Settings = DEFAULT_SETTINGS) -> dict[str, Array]:
    """The measured Table 1 of ``trace``: ``i`` and the four columns (mean over its evacuations), NaN where unmeasured."""
    tables, _ = measure_evacuations([trace], settings)
    return _mean_table(tables)[0]


@dataclass(frozen=True)
class MigrationFit:
    """The measured table, the fitted curves, and the degradation rate they imply."""

    live: bool
    vms: int  #: n, VMs moved per evacuation
    evacuations: int  #: how many evacuations were averaged
    table: dict[str, Array]  #: the mean over evacuations
    table_error: dict[str, Array]  #: standard error of each mean (NaN from a single evacuation)
    fits: dict[str, CurveFit]
    profile: MigrationProfile
    host_throughput: float  #: p, req/s, before the first move (mean over evacuations)
    degradation: Estimate | None  #: γ (stop-and-copy) or γ' (live); None: not measured (see notes)
    total_time: Estimate  #: M_t, time to move all n VMs (mean over evacuations), s
    notes: tuple[str, ...] = ()  #: what was left out or could not be measured, and why


def _mean_table(tables: Sequence[EvacuationTable]) -> tuple[dict[str, Array], dict[str, Array]]:
    stacked = {key: np.vstack([t.rows[key] for t in tables]) for key in ("i", *COLUMNS)}
    mean, error = {"i": stacked["i"][0]}, {}
    for column in COLUMNS:
        values = stacked[column]
        count = np.isfinite(values).sum(axis=0)
        total = np.nansum(values, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean[column] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
            squares = np.nansum((values - mean[column]) ** 2, axis=0)
            error[column] = np.where(count > 1, np.sqrt(squares / np.maximum(count - 1, 1) / count), np.nan)
    return mean, error


def _same_size(tables: list[EvacuationTable], notes: list[str]) -> list[EvacuationTable]:
    """The evacuations with the most done moves; the others are left out, and said so."""
    n = max(len(t.rows["i"]) for t in tables)
    for table in tables:
        if len(table.rows["i"]) != n:
            notes.append(f"{table.name} moved {len(table.rows['i'])} VMs, not {n}: left out of Table 1")
    return [t for t in tables if len(t.rows["i"]) == n]


def _fit_columns(table: dict[str, Array], live: bool, name: str, notes: list[str], short: bool) -> dict[str, CurveFit]:
    index = table["i"].astype(np.int64)
    fits = {}
    for column in COLUMNS:
        if column == "moving_throughput" and not live:
            continue
        try:
            fits[column] = fit_curve(f"{name}.{column}", index, table[column], on_poor_fit=notes.append)
        except TraceError as err:
            remedy = "; the moves are shorter than the sampling step: sample more finely (a smaller --step)"
            raise TraceError(str(err), "cannot fit Table 1" + (remedy if short else "")) from None
    return fits


#: A raw γ this many standard errors or fewer outside [0, 1] is noise about the bound, and is written as the bound.
BOUND_ERRORS = 2.0


def _degradation(profile: MigrationProfile, tables: list[EvacuationTable], n: int, notes: list[str]) -> Estimate | None:
    """γ from the fitted curves at the measured p, with one standard error; None (and a note) if out of [0, 1].

    An estimate outside [0, 1] by at most :data:`BOUND_ERRORS` standard errors is consistent with the
    bound (no degradation measurable, or all of it): the bound is written, with the estimate's error, and
    said so. Farther out, the curves describe more (or less) throughput than the host has: not measured.
    """
    host = float(np.mean([t.host_throughput for t in tables]))
    symbol = "γ'" if profile.is_live else "γ"
    try:
        rate = float(raw_migration_degradation(profile, n, host))
    except ParameterError as err:
        notes.append(f"{symbol} not measured: {err}")
        return None
    ceiling = 1.0 if profile.is_live else (n - 1) / n
    direct = [1.0 - t.served / (t.host_throughput * ceiling) for t in tables]
    spread = float(np.std(direct, ddof=1) / math.sqrt(len(direct))) if len(direct) > 1 else 0.0
    # The curves average what the samples saw: their error is that of the two means, p and what was served.
    noise = np.mean(
        [math.hypot(t.host_error / t.host_throughput, t.served_error / max(t.served, 1e-12)) for t in tables]
    )
    sampling = abs(1.0 - rate) * float(noise) / math.sqrt(len(tables))
    error = math.hypot(spread, sampling)
    if 0.0 <= rate <= 1.0:
        return Estimate(rate, error, "")
    computed = f"computed {rate:.3g} ± {error:.2g} from the fitted Table 1 and p"
    bound = min(max(rate, 0.0), 1.0)  # NaN stays NaN: not measured below
    if abs(rate - bound) <= BOUND_ERRORS * error:
        notes.append(
            f"{symbol}: {computed}, within {BOUND_ERRORS:g} standard errors of {bound:g}: written as {bound:g}"
        )
        return Estimate(bound, error, "")
    why = f"{computed}; must be in [0, 1] (the curves describe more or less throughput than the host has)"
    notes.append(f"{symbol} not measured: {why}")
    return None


def fit_migration(
    traces: Sequence[Trace], live: bool | None = None, settings: Settings = DEFAULT_SETTINGS
) -> MigrationFit:
    """Fit Table 1 from the evacuations of one or more migration traces (their rows averaged).

    ``live`` None: live if the moving VM kept serving. Raises :class:`TraceError`
    for missing markers, fewer than 2 done moves, too short a baseline before
    the first move, or a column with fewer than 2 measured rows.
    """
    measured, notes = measure_evacuations(traces, settings)
    tables = _same_size(measured, notes)
    n = len(tables[0].rows["i"])
    if n < 2:
        raise TraceError(tables[0].source, f"needs at least 2 migrated VMs per evacuation, got {n}")
    table, error = _mean_table(tables)
    host = float(np.mean([t.host_throughput for t in tables]))
    if live is None:
        live = bool(np.nanmean(table["moving_throughput"]) > settings.down_fraction * host / n)
    name = "live" if live else "stop_and_copy"
    fits = _fit_columns(table, live, name, notes, short=any(t.short_moves for t in tables))
    profile = MigrationProfile(
        name=name,
        source_throughput=fits["source_throughput"].curve,
        destination_throughput=fits["destination_throughput"].curve,
        move_time=fits["move_time"].curve,
        moving_throughput=fits["moving_throughput"].curve if live else None,
    )
    totals = [float(t.rows["move_time"].sum()) for t in tables]
    spread = float(np.std(totals, ddof=1) / math.sqrt(len(totals))) if len(totals) > 1 else 0.0
    step = max(t.step for t in tables)
    total = Estimate(float(np.mean(totals)), max(step, spread), "s")
    rate = _degradation(profile, tables, n, notes)
    return MigrationFit(live, n, len(tables), table, error, fits, profile, host, rate, total, tuple(notes))


def migration_parameters(fitted: MigrationFit, strategy: MigrationStrategy) -> dict[str, Estimate]:
    """What a fitted migration gives the model: the strategy's time parameter, and γ where it was measured.

    Stop-and-copy gives D_m = M_t / n, the mean downtime per VM; live
    migration gives M_l = M_t (each strategy says which:
    :meth:`~rejuv.model.MigrationStrategy.time_parameter`). The time's
    uncertainty is the larger of the sampling step and the evacuations'
    spread, scaled as the value is.
    """
    total = fitted.total_time
    value = strategy.time_parameter(total.value, fitted.vms)
    found = {strategy.time_symbol: Estimate(value, total.uncertainty * value / total.value, "s")}
    if fitted.degradation is not None:
        found[lookup(strategy.rate_field).symbol] = fitted.degradation
    return found
