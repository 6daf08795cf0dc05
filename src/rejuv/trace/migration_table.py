"""One evacuation's rows of Table 1, and its p, read from a trace's samples.

For the i-th done move of an evacuation, the window is the samples wholly
inside ``[start, end]``; each column is the mean over its VMs of each VM's
mean over the window's valid samples (a VM with none is left out; a column
with no VM left is NaN). A move that holds no whole sample has its
throughputs unmeasured (NaN, said so: a smaller ``--step`` measures them),
its move time still counts. The VMs of the evacuation are those of its done
moves; a cancelled move's VM is left out, and said so.

p is the evacuation's VMs' total throughput: the sum of their means over the
baseline window before the first move (:meth:`Settings.baseline_seconds`),
starting no earlier than the previous evacuation's last move or the
``load-started`` marker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import TraceError
from rejuv.trace.data import Trace
from rejuv.trace.markers import MarkerKind
from rejuv.trace.moves import Evacuation, evacuations
from rejuv.trace.segment import Settings

__all__ = ["COLUMNS", "EvacuationTable", "measure_evacuations"]

Array = NDArray[np.float64]
COLUMNS = ("source_throughput", "moving_throughput", "destination_throughput", "move_time")


@dataclass(frozen=True)
class EvacuationTable:
    """The rows one evacuation measured, and the throughputs γ is a ratio of."""

    name: str  #: for messages: ``<trace>: evacuation 2 (hostB -> hostC)``
    source: str  #: the trace
    step: float  #: s
    rows: dict[str, Array]  #: ``i`` and :data:`COLUMNS`, one entry per done move
    host_throughput: float  #: p, req/s
    host_error: float  #: its standard error, req/s
    served: float  #: mean total throughput of the evacuation's VMs from the first move's start to the last's end, req/s
    served_error: float
    short_moves: bool  #: some move held no whole sample


def _mean_over(window: Array) -> tuple[float, float]:
    """Mean of the valid samples of ``window`` and its standard error; NaN if it has none."""
    valid = window[np.isfinite(window)]
    if not len(valid):
        return math.nan, math.nan
    error = float(np.std(valid, ddof=1) / math.sqrt(len(valid))) if len(valid) > 1 else math.nan
    return float(valid.mean()), error


def _per_vm(window: Array) -> float:
    """The mean over the columns of ``window`` of each column's valid mean (columns with none left out)."""
    means = [value for value, _ in map(_mean_over, window.T) if math.isfinite(value)]
    return float(np.mean(means)) if means else math.nan


def _samples(start: float, end: float, step: float) -> slice:
    """The samples wholly inside ``[start, end]`` s."""
    return slice(math.ceil(start / step - 1e-9), math.floor(end / step + 1e-9))


def _baseline(
    trace: Trace, columns: list[int], since: float, until: float, settings: Settings, name: str
) -> tuple[float, float]:
    """The VMs' total throughput over the baseline window that ends at ``until`` and starts no earlier than ``since``."""
    last = math.floor(until / trace.step + 1e-9)  # the samples wholly before the move
    first = max(last - settings.baseline_samples(trace.step), math.ceil(since / trace.step - 1e-9))
    window = trace.vm_throughput[max(first, 0) : max(last, 0), columns]
    counts = np.isfinite(window).sum(axis=0)
    if len(window) == 0 or counts.min() < settings.min_baseline_samples:
        have = int(counts.min()) if len(window) else 0
        raise TraceError(
            trace.source,
            f"{name}: baseline window too short before the first move at {until:g} s: {have} valid samples of a VM, "
            f"need at least {settings.min_baseline_samples}; start the load earlier (a longer --before) or sample "
            "more finely (a smaller --step)",
        )
    means = [_mean_over(column) for column in window.T]
    return float(sum(m for m, _ in means)), float(math.sqrt(sum(e**2 for _, e in means if math.isfinite(e))))


def _measure(
    trace: Trace, evacuation: Evacuation, since: float, settings: Settings, notes: list[str]
) -> EvacuationTable:
    name = f"{trace.source}: {evacuation.name}"
    done = evacuation.done
    for move in evacuation.cancelled:
        notes.append(f"{name}: the move of {move.subject} at {move.start:g} s was cancelled ({move.note}): left out")
    order = [move.subject for move in done]
    column = {vm: trace.vm_names.index(vm) for vm in order}
    rows: dict[str, list[float]] = {"i": [], **{key: [] for key in COLUMNS}}
    short = False
    for i, move in enumerate(done, start=1):
        window = trace.vm_throughput[_samples(move.start, move.end, trace.step)]
        if not len(window):
            short = True
            notes.append(
                f"{name}: the move of {move.subject} ({move.end - move.start:.3g} s) holds no whole "
                f"{trace.step:g} s sample: its throughputs are not measured; a --step of at most "
                f"{(move.end - move.start) / 3:.2g} s would measure them"
            )

        def mean_of(names: list[str], window: Array = window) -> float:
            return _per_vm(window[:, [column[vm] for vm in names]]) if names and len(window) else math.nan

        rows["i"].append(i)
        rows["source_throughput"].append(mean_of(order[i:]))
        rows["moving_throughput"].append(mean_of([move.subject]))
        rows["destination_throughput"].append(mean_of(order[: i - 1]))
        rows["move_time"].append(move.end - move.start)
    columns = list(column.values())
    host, host_error = (
        _baseline(trace, columns, since, done[0].start, settings, evacuation.name) if done else (math.nan, math.nan)
    )
    during = (
        trace.vm_throughput[_samples(done[0].start, done[-1].end, trace.step), columns] if done else np.empty((0, 0))
    )
    served, served_error = _mean_over(during.sum(axis=1)) if during.size else (math.nan, math.nan)
    return EvacuationTable(
        name,
        trace.source,
        trace.step,
        {key: np.array(values, dtype=np.float64) for key, values in rows.items()},
        host,
        host_error,
        served,
        0.0 if math.isnan(served_error) else served_error,
        short,
    )


def measure_evacuations(traces: Sequence[Trace], settings: Settings) -> tuple[list[EvacuationTable], list[str]]:
    """Every evacuation with a done move, of every trace; and notes on what was left out.

    Raises :class:`TraceError` for a trace without migration markers, a marker
    past its end, or too short a baseline.
    """
    tables: list[EvacuationTable] = []
    notes: list[str] = []
    for trace in traces:
        since = next((m.time for m in trace.markers if m.kind is MarkerKind.LOAD_STARTED), 0.0)
        for evacuation in evacuations(trace):
            late = [move for move in evacuation.moves if move.end > trace.duration]
            if late:
                raise TraceError(
                    trace.source,
                    f"the move of {late[0].subject} ends at {late[0].end:g} s, past the end of the trace "
                    f"({trace.duration:g} s)",
                )
            table = _measure(trace, evacuation, since, settings, notes)
            if evacuation.done:
                tables.append(table)
                since = evacuation.done[-1].end
    if not tables:
        raise TraceError(", ".join(t.source for t in traces), "no move completed: every migration was cancelled")
    return tables, notes
