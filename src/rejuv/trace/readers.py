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
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import TraceError
from rejuv.limits import check_memory, memory_limit
from rejuv.trace.data import Trace, check_trace_memory
from rejuv.trace.markers import Marker, MarkerKind
from rejuv.trace.store import read_trace

__all__ = ["read_csv", "read_markers_csv", "read_prometheus", "prometheus_response", "read_any"]

TRACE_SUFFIXES = (".trace", ".npz")  #: what read_any reads as a rejuv trace file

_TIME_NAMES = ("time", "t", "timestamp", "seconds")
_HOST_NAMES = ("host", "total")
_LABELS = ("vm", "instance", "pod", "job", "__name__")
# Peak bytes per byte of text while a CSV or JSON file is parsed into a trace (the text, its
# lines, Python's floats and lists): 13.4 for a 9 MB CSV, 14.5 for a 27 MB Prometheus JSON,
# measured with tracemalloc; rounded up.
_TEXT_BYTES_PER_BYTE = 16


def _read_text(path: Path | str) -> str:
    """The file's UTF-8 text (a byte-order mark dropped), refused before reading if parsing it would exceed the limit.

    A pipe or a device is read only up to what the limit allows: ``/dev/zero`` ends in an error, not in a hang.
    """
    source = str(path)
    target = Path(path)
    if target.is_dir():
        raise TraceError(source, "is a folder, not a file")
    try:
        with target.open("rb") as stream:
            regular = stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
            most = int(memory_limit() // _TEXT_BYTES_PER_BYTE)
            if regular:
                check_memory(
                    source, os.fstat(stream.fileno()).st_size * _TEXT_BYTES_PER_BYTE, "split it into shorter files"
                )
            data = stream.read() if regular else stream.read(most + 1)
    except FileNotFoundError:
        raise TraceError(source, "no such file") from None
    except OSError as err:
        raise TraceError(source, f"cannot read ({err.strerror or err})") from err
    if len(data) > most:  # a pipe or a device longer than the limit allows
        check_memory(source, len(data) * _TEXT_BYTES_PER_BYTE, "split it into shorter files")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise TraceError(
            source, f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); save it as UTF-8"
        ) from None


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


def _grid(source: str, times: NDArray[np.float64], rows: Sequence[str], series: int) -> tuple[float, NDArray[np.intp]]:
    """The fixed step and each sample's index on it; gaps are allowed, disorder is not.

    Refuses, before anything is allocated, a grid whose ``series`` columns would exceed the memory limit
    (three rows at times 0, 1 and 1e9 ask for a billion samples).
    """
    if len(times) < 2:
        raise TraceError(source, f"needs at least 2 samples, got {len(times)}")
    bad = np.flatnonzero(~np.isfinite(times))
    if len(bad):
        raise TraceError(f"{source}, {rows[bad[0]]}", f"time must be a finite number, got {times[bad[0]]:g}")
    with np.errstate(over="ignore"):  # times of ±1e308 overflow: caught as a span too wide to count, below
        steps = np.diff(times)
    bad = np.flatnonzero(steps <= 0)
    if len(bad):
        row = bad[0] + 1
        raise TraceError(
            f"{source}, {rows[row]}",
            f"time {times[row]:.15g} is not after the previous {times[row - 1]:.15g}: times must increase",
        )
    step = float(np.min(steps))
    with np.errstate(over="ignore"):
        span = float(times[-1] - times[0])
        samples = span / step + 1
    if not math.isfinite(samples):
        raise TraceError(
            source, f"its times span {span:g} s at a {step:g} s step: too many samples to count; check the times"
        )
    check_trace_memory(
        source,
        samples,
        series,
        f"its times span {span:g} s at a {step:g} s step ({samples:,.0f} samples of {series} series); "
        "check the times for a stray value, or cut it into shorter traces",
    )
    index = np.rint((times - times[0]) / step).astype(np.intp)
    off = np.abs(times - times[0] - index * step) > 0.25 * step
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise TraceError(f"{source}, {rows[row]}", f"time {times[row]:.15g} is not on the {step:g} s sampling grid")
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
    if "" in header[1:]:
        raise TraceError(f"{source}, row 1", f"column {header.index('', 1) + 1} has no name; name each VM's column")
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
    step, index = _grid(source, np.array(times), labels, len(header) - 1)
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
        if not row or all(not cell.strip() for cell in row):
            continue
        where = f"{source}, row {number}"
        if len(row) < 2:
            raise TraceError(where, "needs time and kind")
        try:
            time = float(row[0])
        except ValueError:
            raise TraceError(where, f"time is not a number: {row[0]!r}") from None
        if not math.isfinite(time) or time < origin:
            raise TraceError(
                where,
                f"time must be a finite number, not before the trace's first sample ({origin:g}), got {row[0].strip()!r}",
            )
        try:
            kind = MarkerKind.parse(row[1].strip())
        except ValueError as err:
            raise TraceError(where, str(err)) from None
        subject = row[2].strip() or None if len(row) > 2 else None
        found.append(Marker(time - origin, kind, subject))
    return found


def _series_name(metric: dict[str, Any], number: int) -> str:
    for label in _LABELS:
        if label in metric:
            return str(metric[label])
    return f"series{number}"


def _prometheus_value(source: str, where: str, text: Any) -> float:
    """A sample's value: Prometheus writes it as a string ("12.5"); ``"NaN"`` is a missing sample.

    A rate over a window with too few points, or a division by zero in the query, gives NaN in real data;
    it reads as the trace format's NaN. Infinities and negative values are refused with why.
    """
    if not isinstance(text, str | int | float) or isinstance(text, bool):
        raise TraceError(f"{source}, {where}", f'value must be a number in a string ("12.5"), got {text!r}')
    try:
        value = float(text)
    except ValueError:
        raise TraceError(f"{source}, {where}", f"not a number: {text!r}") from None
    if math.isnan(value):
        return math.nan
    if math.isinf(value):
        raise TraceError(
            f"{source}, {where}",
            f"throughput is infinite ({text!r}); check the query (a division by zero?) or filter it out (append '< Inf')",
        )
    if value < 0:
        raise TraceError(f"{source}, {where}", f"throughput must be >= 0, got {value:g}")
    return value


def _prometheus_series(source: str, name: str, values: list[Any]) -> dict[float, float]:
    """One series' samples by timestamp; timestamps must be finite numbers, each after the one before."""
    points: dict[float, float] = {}
    previous = -math.inf
    for pair in values:
        where = f"series {name!r} at {pair[0] if isinstance(pair, list) and pair else '?'}"
        if not isinstance(pair, list) or len(pair) != 2:
            raise TraceError(f"{source}, {where}", 'each value must be [timestamp, "value"]')
        try:
            stamp = float(pair[0])
        except (TypeError, ValueError):
            raise TraceError(f"{source}, {where}", f"timestamp is not a number: {pair[0]!r}") from None
        if not math.isfinite(stamp):
            raise TraceError(f"{source}, {where}", f"timestamp must be a finite number, got {pair[0]!r}")
        if stamp <= previous:  # as in a CSV: a repeated or earlier timestamp is an error, not silently merged
            raise TraceError(
                f"{source}, {where}",
                f"timestamp {stamp:.15g} is not after the previous {previous:.15g}: timestamps must increase",
            )
        previous = stamp
        points[stamp] = _prometheus_value(source, where, pair[1])
    return points


def _prometheus_data(source: str, text: str) -> dict[str, Any]:
    """The ``data`` object of a range-query response; Prometheus's own error, quoted, if the query failed."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise TraceError(f"{source}, line {err.lineno}", f"not valid JSON ({err.msg})") from err
    except RecursionError:
        raise TraceError(source, "not a Prometheus query response (JSON nested too deeply)") from None
    if not isinstance(document, dict):
        raise TraceError(source, f"not a Prometheus query response (a JSON {type(document).__name__}, not an object)")
    if document.get("status") == "error" and ("error" in document or "errorType" in document):
        kind = document.get("errorType", "error")
        raise TraceError(source, f"the query failed; Prometheus said: {kind}: {document.get('error', '(no message)')}")
    data = document.get("data")
    if not isinstance(data, dict):
        raise TraceError(source, "no 'data' object: not a Prometheus query response")
    if data.get("resultType") != "matrix":
        raise TraceError(
            f"{source}: data.resultType", f"must be 'matrix' (a range query), got {data.get('resultType')!r}"
        )
    return data


def read_prometheus(path: Path | str) -> Trace:
    """A trace from a Prometheus range-query response (``resultType: matrix``).

    Raises :class:`TraceError` naming the file and the series, and quoting
    Prometheus's own message for a failed query.
    """
    return prometheus_response(str(path), _read_text(path), Path(path).name)


def prometheus_response(source: str, text: str, origin_name: str) -> Trace:
    """A trace from the text of a range-query response, read from ``source`` (a file, or a server's URL).

    ``origin_name`` is recorded as the trace's ``source_file``. Prometheus gives a value at the end of the
    window it was computed over (``rate()``, ``irate()``, ``increase()`` look back from their time), so the
    value at time t is the trace's sample for the step that ends at t: the trace's origin is one step before
    the first timestamp. Raises :class:`TraceError` naming ``source``.
    """
    results = _prometheus_data(source, text).get("result")
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
        points = _prometheus_series(source, name, values)
        names.append(name)
        stamps.update(points)
        series.append(points)
    if len(set(names)) != len(names):
        names = [f"{name}#{i}" for i, name in enumerate(names)]
    times = np.array(sorted(stamps))
    step, index = _grid(source, times, [f"timestamp {t:.15g}" for t in times], len(names))
    table = np.full((int(index[-1]) + 1, len(names)), np.nan)
    position = dict(zip(times.tolist(), index.tolist(), strict=True))
    for column, points in enumerate(series):
        for stamp, value in points.items():
            table[position[stamp], column] = value
    return Trace(
        step,
        tuple(names),
        table,
        metadata={"source_file": origin_name, "time_origin": float(times[0]) - step},
        source=source,
    )


def read_any(path: Path | str, markers: Path | str | None = None) -> Trace:
    """Read a ``.trace`` (or ``.npz``), ``.csv`` or Prometheus ``.json`` file, by its suffix."""
    if Path(path).is_dir():
        raise TraceError(str(path), "is a folder, not a trace file; name the files in it (DIR/*.trace)")
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
