"""Reading throughput from where operators keep it: plain CSV and Prometheus JSON.

CSV: a header row, then one row per sample: a time column (seconds, any
origin; named ``time``, ``t`` or ``timestamp``) and one column per VM, or one
host-total column named ``host`` or ``total``. An empty cell is a missing
sample; so is a skipped time step. Markers may come from a second CSV with
columns ``time,kind[,subject]``.

Prometheus: the JSON response of a range query (``/api/v1/query_range``)
with ``resultType: matrix``; each series is one VM, named by its ``vm``,
``instance``, ``pod`` or ``job`` label.

Every error names the file and the row or field, and the problem.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import TraceError
from rejuv.trace.data import Trace
from rejuv.trace.markers import Marker, MarkerKind
from rejuv.trace.store import read_trace

__all__ = ["read_csv", "read_markers_csv", "read_prometheus", "read_any"]

TRACE_SUFFIXES = (".trace", ".npz")  #: what read_any reads as a rejuv trace file

_TIME_NAMES = ("time", "t", "timestamp", "seconds")
_HOST_NAMES = ("host", "total")
_LABELS = ("vm", "instance", "pod", "job", "__name__")


def _read_text(path: Path | str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceError(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise TraceError(str(path), f"cannot read ({err})") from err


def _number(source: str, where: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TraceError(f"{source}, {where}", f"not a number: {text!r}") from None
    if math.isnan(value):
        raise TraceError(f"{source}, {where}", "throughput is NaN; leave the cell empty for a missing sample")
    if math.isinf(value):
        raise TraceError(f"{source}, {where}", "throughput is infinite")
    if value < 0:
        raise TraceError(f"{source}, {where}", f"throughput must be >= 0, got {value:g}")
    return value


def _grid(source: str, times: NDArray[np.float64], rows: Sequence[str]) -> tuple[float, NDArray[np.intp]]:
    """The fixed step and each sample's index on it; gaps are allowed, disorder is not."""
    if len(times) < 2:
        raise TraceError(source, f"needs at least 2 samples, got {len(times)}")
    steps = np.diff(times)
    bad = np.flatnonzero(steps <= 0)
    if len(bad):
        row = bad[0] + 1
        raise TraceError(
            f"{source}, {rows[row]}",
            f"time {times[row]:g} is not after the previous {times[row - 1]:g}: times must increase",
        )
    step = float(np.min(steps))
    index = np.rint((times - times[0]) / step).astype(np.intp)
    off = np.abs(times - times[0] - index * step) > 0.25 * step
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise TraceError(f"{source}, {rows[row]}", f"time {times[row]:g} is not on the {step:g} s sampling grid")
    return step, index


def read_csv(path: Path | str, markers: Path | str | None = None) -> Trace:
    """A trace from a CSV file (and optionally a markers CSV). Raises :class:`TraceError`."""
    source = str(path)
    reader = csv.reader(_read_text(path).splitlines())
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise TraceError(source, "empty file") from None
    if not header or header[0].lower() not in _TIME_NAMES:
        raise TraceError(
            f"{source}, row 1",
            f"the first column must be the time ({', '.join(_TIME_NAMES)}), got {header[0] if header else ''!r}",
        )
    if len(header) < 2:
        raise TraceError(f"{source}, row 1", "needs at least one throughput column after the time")
    times: list[float] = []
    labels: list[str] = []
    cells: list[list[float]] = []
    for number, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise TraceError(f"{source}, row {number}", f"has {len(row)} columns, the header has {len(header)}")
        try:
            times.append(float(row[0]))
        except ValueError:
            raise TraceError(f"{source}, row {number}", f"time is not a number: {row[0]!r}") from None
        labels.append(f"row {number}")
        values = []
        for name, cell in zip(header[1:], row[1:], strict=True):
            text = cell.strip()
            values.append(math.nan if text == "" else _number(source, f"row {number}, column {name!r}", text))
        cells.append(values)
    step, index = _grid(source, np.array(times), labels)
    table = np.full((int(index[-1]) + 1, len(header) - 1), np.nan)
    table[index] = np.array(cells)
    names = header[1:]
    found = [] if markers is None else read_markers_csv(markers, origin=times[0])
    metadata = {"source_file": Path(path).name, "time_origin": times[0]}
    if len(names) == 1 and names[0].lower() in _HOST_NAMES:
        return Trace(
            step,
            (),
            np.empty((len(table), 0)),
            host=table[:, 0],
            markers=tuple(found),
            metadata=metadata,
            source=source,
        )
    return Trace(step, tuple(names), table, markers=tuple(found), metadata=metadata, source=source)


def read_markers_csv(path: Path | str, origin: float = 0.0) -> list[Marker]:
    """Markers from a CSV with columns ``time,kind[,subject]``; times share the trace's origin."""
    source = str(path)
    rows = list(csv.reader(_read_text(path).splitlines()))
    if not rows or [cell.strip() for cell in rows[0][:2]] != ["time", "kind"]:
        raise TraceError(f"{source}, row 1", "expected a header 'time,kind[,subject]'")
    found = []
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        where = f"{source}, row {number}"
        try:
            time = float(row[0])
            kind = MarkerKind.parse(row[1].strip())
        except (IndexError, ValueError) as err:
            raise TraceError(where, str(err) if not isinstance(err, IndexError) else "needs time and kind") from None
        subject = row[2].strip() or None if len(row) > 2 else None
        found.append(Marker(time - origin, kind, subject))
    return found


def _series_name(metric: dict[str, Any], number: int) -> str:
    for label in _LABELS:
        if label in metric:
            return str(metric[label])
    return f"series{number}"


def read_prometheus(path: Path | str) -> Trace:
    """A trace from a Prometheus range-query response (``resultType: matrix``). Raises :class:`TraceError`."""
    source = str(path)
    try:
        document = json.loads(_read_text(path))
    except json.JSONDecodeError as err:
        raise TraceError(f"{source}, line {err.lineno}", f"not valid JSON ({err.msg})") from err
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise TraceError(source, "no 'data' object: not a Prometheus query response")
    if data.get("resultType") != "matrix":
        raise TraceError(
            f"{source}: data.resultType", f"must be 'matrix' (a range query), got {data.get('resultType')!r}"
        )
    results = data.get("result")
    if not isinstance(results, list) or not results:
        raise TraceError(f"{source}: data.result", "holds no series")
    names: list[str] = []
    stamps: set[float] = set()
    series: list[dict[float, float]] = []
    for number, item in enumerate(results):
        values = item.get("values") if isinstance(item, dict) else None
        if not isinstance(values, list):
            raise TraceError(f"{source}: data.result[{number}]", "has no 'values' list")
        metric = item.get("metric")
        name = _series_name(metric if isinstance(metric, dict) else {}, number)
        points: dict[float, float] = {}
        for pair in values:
            where = f"series {name!r} at {pair[0] if isinstance(pair, list) and pair else '?'}"
            if not isinstance(pair, list) or len(pair) != 2:
                raise TraceError(f"{source}, {where}", 'each value must be [timestamp, "value"]')
            try:
                stamp = float(pair[0])
            except (TypeError, ValueError):
                raise TraceError(f"{source}, {where}", f"timestamp is not a number: {pair[0]!r}") from None
            points[stamp] = _number(source, where, str(pair[1]))
        names.append(name)
        stamps.update(points)
        series.append(points)
    if len(set(names)) != len(names):
        names = [f"{name}#{i}" for i, name in enumerate(names)]
    times = np.array(sorted(stamps))
    step, index = _grid(source, times, [f"timestamp {t:g}" for t in times])
    table = np.full((int(index[-1]) + 1, len(names)), np.nan)
    position = dict(zip(times.tolist(), index.tolist(), strict=True))
    for column, points in enumerate(series):
        for stamp, value in points.items():
            table[position[stamp], column] = value
    return Trace(
        step,
        tuple(names),
        table,
        metadata={"source_file": Path(path).name, "time_origin": float(times[0])},
        source=source,
    )


def read_any(path: Path | str, markers: Path | str | None = None) -> Trace:
    """Read a ``.trace`` (or ``.npz``), ``.csv`` or Prometheus ``.json`` file, by its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return read_csv(path, markers)
    if markers is not None:
        raise TraceError(str(markers), "separate markers go with CSV traces only")
    if suffix == ".json":
        return read_prometheus(path)
    if suffix not in TRACE_SUFFIXES:
        raise TraceError(str(path), f"unknown kind of file {suffix or '(no suffix)'!r}: expected .trace, .csv or .json")
    return read_trace(path)
