"""The ``.trace`` file: a versioned, documented container for a :class:`Trace`.

A trace file is a NumPy ``.npz`` archive (a zip) holding:

- ``meta``: a JSON document (as a 0-d string array)::

      {"format": "rejuv-trace", "version": 2, "step": 1.0,
       "vm_names": ["vm0", ...],
       "outages": [{"vm": "vm0", "start": 30.02, "end": 30.31}, ...],  (version 2; optional)
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
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from rejuv.errors import TraceError
from rejuv.files import atomic_write
from rejuv.limits import check_memory
from rejuv.provenance import current
from rejuv.trace.data import Trace, check_trace_memory
from rejuv.trace.markers import Marker, MarkerKind
from rejuv.trace.outages import Outage

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "write_trace", "read_trace"]

FORMAT_NAME = "rejuv-trace"
FORMAT_VERSION = 2  #: the newest version written; 2 adds ``outages`` (a file without them is written as 1)
_READABLE = (1, 2)
_ARRAYS = ("meta", "vm_throughput", "host")  #: the entries read; any other is ignored


def _meta(trace: Trace) -> dict[str, Any]:
    outages = {"outages": [{"vm": o.vm, "start": o.start, "end": o.end} for o in trace.outages]}
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION if trace.outages else 1,  # older readers still read a file that needs no more
        **(outages if trace.outages else {}),
        "step": trace.step,
        "vm_names": list(trace.vm_names),
        "markers": [
            {"time": m.time, "kind": m.kind.value, "subject": m.subject, "note": m.note} for m in trace.markers
        ],
        "metadata": dict(trace.metadata),
        "provenance": current().as_dict(),  # how this file was made (the run's own facts are in metadata)
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


def _describe(value: Any) -> str:
    """What a JSON value is, for a message: ``'1' (a string)``, ``[1, 2] (a list)``."""
    kinds = {type(None): "null", bool: "a boolean", str: "a string", list: "a list", dict: "an object"}
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{text} ({kinds.get(type(value), type(value).__name__)})"


def _not_a_number(where: str, value: Any, expected: str) -> TraceError:
    return TraceError(where, f"not a number: {_describe(value)}; {expected} is expected")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _seconds(where: str, value: Any, positive: bool) -> float:
    """A JSON number of seconds, finite and > 0 (``positive``) or >= 0."""
    bound = "> 0" if positive else ">= 0"
    if not _is_number(value):
        raise _not_a_number(where, value, f"a number of seconds {bound}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise TraceError(where, f"must be a finite number of seconds {bound}, got {number:g}")
    return number


def _marker(source: str, number: int, item: Any) -> Marker:
    where = f"{source}: markers[{number}]"
    if not isinstance(item, dict):
        raise TraceError(where, f"must be an object with 'time' and 'kind', got {_describe(item)}")
    for key in ("time", "kind"):
        if key not in item:
            raise TraceError(where, f"a marker needs 'time' and 'kind'; {key!r} is missing")
    time = _seconds(f"{where}.time", item["time"], positive=False)
    if not isinstance(item["kind"], str):
        raise TraceError(f"{where}.kind", f"must be a string, got {_describe(item['kind'])}")
    try:
        kind = MarkerKind.parse(item["kind"])
    except ValueError as err:
        raise TraceError(where, str(err)) from None
    subject = item.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise TraceError(f"{where}.subject", f"must be a VM name (a string) or null, got {_describe(subject)}")
    note = item.get("note", "")
    if not isinstance(note, str):
        raise TraceError(f"{where}.note", f"must be a string, got {_describe(note)}")
    return Marker(time, kind, subject, note)


def _outage(source: str, number: int, item: Any) -> Outage:
    where = f"{source}: outages[{number}]"
    if not isinstance(item, dict):
        raise TraceError(where, f"must be an object with 'vm', 'start' and 'end', got {_describe(item)}")
    for key in ("vm", "start", "end"):
        if key not in item:
            raise TraceError(where, f"an outage needs 'vm', 'start' and 'end'; {key!r} is missing")
    if not isinstance(item["vm"], str):
        raise TraceError(f"{where}.vm", f"must be a VM name (a string), got {_describe(item['vm'])}")
    start = _seconds(f"{where}.start", item["start"], positive=False)
    end = _seconds(f"{where}.end", item["end"], positive=False)
    if end < start:
        raise TraceError(f"{where}.end", f"must not be before its start ({start:g} s), got {end:g} s")
    return Outage(item["vm"], start, end)


def _header(source: str, archive: Any, name: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """The shape and type of one array in the archive, read from its header without loading it."""
    try:
        with archive.zip.open(f"{name}.npy") as stream:
            version = np.lib.format.read_magic(stream)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(stream)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise TraceError(f"{source}: {name}", f"not a readable array ({err})") from err
    return tuple(shape), dtype


def _load(source: str, path: Path | str) -> dict[str, Any]:
    """The archive's three entries, after checking their headers: numbers, and not more than memory allows."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise TraceError(source, "not a rejuv trace file (one array, not a zip archive of arrays)")
            if "meta" not in archive.files or "vm_throughput" not in archive.files:
                raise TraceError(source, "not a rejuv trace file (no 'meta' or 'vm_throughput')")
            series = 0
            samples = 0
            for name in _ARRAYS:
                if name not in archive.files:
                    continue
                shape, dtype = _header(source, archive, name)
                if name == "meta":
                    if dtype.kind != "U" or shape != ():
                        raise TraceError(
                            f"{source}: meta", f"must be one string (JSON text), got {dtype} of shape {shape}"
                        )
                    check_memory(f"{source}: meta", 4.0 * dtype.itemsize, "a trace's metadata is a few kilobytes")
                    continue
                if dtype.kind not in "biuf":
                    raise TraceError(f"{source}: {name}", f"must hold numbers (float64, req/s), got {dtype}")
                samples = max(samples, shape[0] if shape else 1)
                series += int(np.prod(shape[1:], dtype=np.float64)) if len(shape) > 1 else 1
            check_trace_memory(
                source,
                samples,
                series,
                f"its arrays hold {samples:,} samples of {series} series; cut it into shorter traces",
            )
            return {name: archive[name] for name in _ARRAYS if name in archive.files}
    except FileNotFoundError:
        raise TraceError(source, "no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise TraceError(source, f"not a rejuv trace file ({err})") from err


def read_trace(path: Path | str) -> Trace:
    """Read a ``.trace`` file.

    Raises :class:`~rejuv.errors.TraceError` naming the file and the field for
    an unreadable file, a different or newer format, a field that is missing
    or of the wrong type, NaN or negative times, or an unknown marker; and
    :class:`~rejuv.errors.ResourceLimitError` for arrays larger than the memory
    limit, before loading them.
    """
    source = str(path)
    target = Path(path)
    if target.is_dir():
        raise TraceError(source, "is a folder, not a trace file")
    if target.exists() and not target.is_file():
        raise TraceError(source, "is not a regular file (a device or a pipe?); a .trace file is a zip archive")
    if target.is_file() and not zipfile.is_zipfile(path):
        raise TraceError(
            source, "not a rejuv trace file (a .trace file is a zip archive of arrays: see docs/trace-format.md)"
        )
    arrays = _load(source, path)
    try:
        meta = json.loads(str(arrays["meta"]))
    except (json.JSONDecodeError, RecursionError) as err:
        raise TraceError(f"{source}: meta", f"not valid JSON ({err})") from err
    found = meta.get("format") if isinstance(meta, dict) else None
    if found != FORMAT_NAME:
        raise TraceError(source, f"not a rejuv trace file (format {found!r})")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _not_a_number(f"{source}: meta.version", version, f"the whole number {FORMAT_VERSION}")
    if version not in _READABLE:
        raise TraceError(
            source,
            f"trace format version {version} is not supported (this rejuv reads versions "
            f"{', '.join(map(str, _READABLE))})",
        )
    for key in ("step", "vm_names"):
        if key not in meta:
            raise TraceError(f"{source}: meta", f"missing {key!r}")
    step = _seconds(f"{source}: meta.step", meta["step"], positive=True)
    names = meta["vm_names"]
    if not isinstance(names, list):
        raise TraceError(f"{source}: meta.vm_names", f"must be a list of VM names, got {_describe(names)}")
    for number, name in enumerate(names):
        if not isinstance(name, str):
            raise TraceError(f"{source}: meta.vm_names[{number}]", f"must be a string, got {_describe(name)}")
    markers = meta.get("markers", [])
    if not isinstance(markers, list):
        raise TraceError(f"{source}: meta.markers", f"must be a list of markers, got {_describe(markers)}")
    outages = meta.get("outages", []) if version >= 2 else []
    if not isinstance(outages, list):
        raise TraceError(f"{source}: meta.outages", f"must be a list of outages, got {_describe(outages)}")
    metadata = meta.get("metadata", {})
    if not isinstance(metadata, dict):
        raise TraceError(f"{source}: meta.metadata", f"must be an object, got {_describe(metadata)}")
    return Trace(
        step=step,
        vm_names=tuple(names),
        vm_throughput=arrays["vm_throughput"],
        host=arrays.get("host"),
        markers=tuple(_marker(source, number, item) for number, item in enumerate(markers)),
        metadata=metadata,
        source=source,
        outages=tuple(_outage(source, number, item) for number, item in enumerate(outages)),
    )
