"""The ``.trace`` file: a versioned, documented container for a :class:`Trace`.

A trace file is a NumPy ``.npz`` archive (a zip) holding:

- ``meta``: a JSON document (as a 0-d string array)::

      {"format": "rejuv-trace", "version": 1, "step": 1.0,
       "vm_names": ["vm0", ...],
       "markers": [{"time": 30.0, "kind": "suspend-started", "subject": null, "note": ""}, ...],
       "metadata": {"host": ..., "cpu": ..., "kernel": ..., "rejuv": ..., "offered_load": ..., "seed": ...}}

- ``vm_throughput``: float64, shape (samples, VMs), req/s, NaN for a missing sample;
- ``host`` (optional): float64, shape (samples,), a separately measured host total.

Files are written atomically (a temporary file renamed into place) and read
without unpickling anything. docs/trace-format.md describes the format for
other tools.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from rejuv.errors import TraceError
from rejuv.files import atomic_write
from rejuv.trace.data import Trace
from rejuv.trace.markers import Marker, MarkerKind

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "write_trace", "read_trace"]

FORMAT_NAME = "rejuv-trace"
FORMAT_VERSION = 1


def _meta(trace: Trace) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "step": trace.step,
        "vm_names": list(trace.vm_names),
        "markers": [
            {"time": m.time, "kind": m.kind.value, "subject": m.subject, "note": m.note} for m in trace.markers
        ],
        "metadata": dict(trace.metadata),
    }


def write_trace(trace: Trace, path: Path | str) -> Path:
    """Write ``trace`` to ``path`` atomically; return the path.

    No partial file is left behind if writing fails.
    """
    target = Path(path)
    arrays: dict[str, Any] = {
        "meta": np.array(json.dumps(_meta(trace))),
        "vm_throughput": trace.vm_throughput,
    }
    if trace.host is not None:
        arrays["host"] = trace.host
    with atomic_write(target, "wb") as stream:
        np.savez_compressed(stream, **arrays)
    return target


def _marker(source: str, number: int, item: Any) -> Marker:
    where = f"{source}: markers[{number}]"
    if not isinstance(item, dict) or "time" not in item or "kind" not in item:
        raise TraceError(where, "a marker needs 'time' and 'kind'")
    try:
        kind = MarkerKind.parse(str(item["kind"]))
        time = float(item["time"])
    except (TypeError, ValueError) as err:
        raise TraceError(where, str(err)) from err
    return Marker(time, kind, item.get("subject"), str(item.get("note", "")))


def read_trace(path: Path | str) -> Trace:
    """Read a ``.trace`` file.

    Raises :class:`~rejuv.errors.TraceError` naming the file for an unreadable
    file, a different or newer format, a missing field or an unknown marker.
    """
    source = str(path)
    if Path(path).is_dir():
        raise TraceError(source, "is a folder, not a trace file")
    if Path(path).is_file() and not zipfile.is_zipfile(path):
        raise TraceError(
            source, "not a rejuv trace file (a .trace file is a zip archive of arrays: see docs/trace-format.md)"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise TraceError(source, "no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise TraceError(source, f"not a rejuv trace file ({err})") from err
    if "meta" not in arrays or "vm_throughput" not in arrays:
        raise TraceError(source, "not a rejuv trace file (no 'meta' or 'vm_throughput')")
    try:
        meta = json.loads(str(arrays["meta"]))
    except json.JSONDecodeError as err:
        raise TraceError(f"{source}: meta", f"not valid JSON ({err})") from err
    found = meta.get("format") if isinstance(meta, dict) else None
    if found != FORMAT_NAME:
        raise TraceError(source, f"not a rejuv trace file (format {found!r})")
    version = meta.get("version")
    if version != FORMAT_VERSION:
        raise TraceError(
            source, f"trace format version {version} is not supported (this rejuv reads version {FORMAT_VERSION})"
        )
    for key in ("step", "vm_names"):
        if key not in meta:
            raise TraceError(f"{source}: meta", f"missing {key!r}")
    try:
        step = float(meta["step"])
    except (TypeError, ValueError):
        raise TraceError(f"{source}: meta.step", f"not a number: {meta['step']!r}") from None
    markers = tuple(_marker(source, number, item) for number, item in enumerate(meta.get("markers", [])))
    return Trace(
        step=step,
        vm_names=tuple(str(name) for name in meta["vm_names"]),
        vm_throughput=arrays["vm_throughput"],
        host=arrays.get("host"),
        markers=markers,
        metadata=meta.get("metadata", {}),
        source=source,
    )
