"""Reading throughput live from a Prometheus server: a range query over its HTTP API.

:func:`fetch_range` posts ``query``, ``start``, ``end`` and ``step`` to
``<url>/api/v1/query_range`` (the standard library's urllib; no client library)
and reads the answer exactly as a saved response
(:func:`rejuv.trace.readers.prometheus_response`): each series is one VM,
``"NaN"`` and absent samples are missing samples.

:func:`markers_from_series` turns a second query's answer into markers: a
series that is above 0 while an event runs (a 0/1 gauge the procedure sets,
or ``changes(counter[1m]) > 0``) opens the event where it rises and closes it
where it falls back; a series with a ``vm`` label names the VM it concerns.

Every failure is a :class:`~rejuv.errors.TraceError` whose ``what`` is the
``source`` the caller names (the CLI's ``--prometheus``): an unreachable
server, an HTTP error, Prometheus's own error (quoted), a timeout, an answer
larger than the memory limit allows, a query that returns no series.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from rejuv.errors import TraceError
from rejuv.limits import check_memory, memory_limit
from rejuv.model import STRATEGIES, MigrationStrategy
from rejuv.trace.data import Trace
from rejuv.trace.events import event_markers
from rejuv.trace.markers import Marker, MarkerKind
from rejuv.trace.readers import prometheus_response, read_markers_csv

__all__ = ["DEFAULT_TIMEOUT", "Server", "fetch_trace", "fetch_range", "markers_from_series", "event_pair"]

DEFAULT_TIMEOUT = 30.0  #: seconds to wait for the server's answer
_BYTES_PER_BYTE = 16  # peak bytes while an answer is parsed, per byte of it (as for a saved file)
_MAX_POINTS = 11_000  # Prometheus refuses more points per series than this; say so before asking


def _said(body: bytes) -> str | None:
    """Prometheus's own error (``errorType: error``) in an answer's body, or None if it holds none."""
    try:
        document = json.loads(body.decode("utf-8", "replace"))
    except (json.JSONDecodeError, RecursionError):
        return None
    if isinstance(document, dict) and document.get("status") == "error":
        return f"{document.get('errorType', 'error')}: {document.get('error', '(no message)')}"
    return None


def _read_body(source: str, response: Any) -> bytes:
    """The answer's bytes, refused once they exceed what the memory limit allows to parse."""
    most = int(memory_limit() // _BYTES_PER_BYTE)
    body: bytes = response.read(most + 1)
    if len(body) > most:
        check_memory(source, len(body) * _BYTES_PER_BYTE, "ask for a shorter range or a longer --step")
    return body


def _post(source: str, url: str, form: dict[str, str], timeout: float) -> bytes:
    endpoint = url.rstrip("/") + "/api/v1/query_range"
    request = urllib.request.Request(
        endpoint,
        data=urllib.parse.urlencode(form).encode(),
        headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return _read_body(source, response)
    except urllib.error.HTTPError as err:
        said = _said(err.read(65536))
        if said is not None:
            raise TraceError(source, f"the query failed; Prometheus said: {said}") from None
        raise TraceError(source, f"{endpoint} answered HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError):
            raise TraceError(source, f"no answer from {url} within {timeout:g} s; raise --timeout") from None
        raise TraceError(source, f"cannot reach {url} ({err.reason})") from None
    except TimeoutError:
        raise TraceError(source, f"no answer from {url} within {timeout:g} s; raise --timeout") from None
    except http.client.InvalidURL as err:
        raise TraceError(source, f"not a usable URL: {url!r} ({err})") from None
    except (http.client.HTTPException, ConnectionError) as err:
        raise TraceError(source, f"{url} broke off its answer ({err or type(err).__name__})") from None
    except ValueError as err:  # a URL that urllib cannot use (a control character, a bad port)
        raise TraceError(source, f"not a usable URL: {url!r} ({err})") from None


@dataclasses.dataclass(frozen=True)
class Server:
    """A Prometheus server: its base URL, how long to wait for an answer, and what errors call it."""

    url: str  #: ``http://host:9090``; the API's path is added
    timeout: float = DEFAULT_TIMEOUT  #: seconds
    source: str | None = None  #: what error messages name (default: the URL)


def fetch_range(server: Server, query: str, start: float, end: float, step: float) -> Trace:
    """The trace of ``query`` from ``start`` to ``end`` (Unix seconds) every ``step`` seconds.

    Raises :class:`~rejuv.errors.TraceError` naming the server's ``source``, quoting Prometheus
    where it explains the failure.
    """
    url, timeout = server.url, server.timeout
    where = url if server.source is None else server.source
    try:
        scheme = urllib.parse.urlsplit(url).scheme
    except ValueError as err:  # "http://[::1" and other malformed URLs
        raise TraceError(where, f"not a URL: {url!r} ({err})") from None
    if scheme not in ("http", "https"):
        raise TraceError(where, f"expected an http:// or https:// URL, got {url!r}")
    if not (math.isfinite(start) and math.isfinite(end) and end > start):
        raise TraceError(where, f"the end ({end:.15g}) must come after the start ({start:.15g})")
    points = (end - start) / step + 1
    if points > _MAX_POINTS:
        raise TraceError(
            where,
            f"{points:,.0f} points per series from {start:.15g} to {end:.15g} every {step:g} s; Prometheus "
            f"answers at most {_MAX_POINTS:,}: use a longer --step or a shorter range",
        )
    form = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
    body = _post(where, url, form, timeout)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TraceError(where, f"{url} answered with bytes that are not UTF-8: not a Prometheus server?") from None
    if not text.strip():
        raise TraceError(where, f"{url} answered with an empty body: not a Prometheus server?")
    trace = prometheus_response(where, text, url)
    return Trace(
        trace.step,
        trace.vm_names,
        trace.vm_throughput,
        metadata={**trace.metadata, "prometheus_query": query, "prometheus_step": step},
        source=where,
    )


def event_pair(kind: str) -> tuple[MarkerKind, MarkerKind, bool]:
    """The markers that open and close an event of ``kind``, and whether they name a VM (else the host)."""
    if kind in event_markers():
        opens, closes = event_markers()[kind]
        return opens, closes, kind == "os"
    if isinstance(STRATEGIES.get(kind), MigrationStrategy):
        return MarkerKind.MIGRATION_STARTED, MarkerKind.MIGRATION_ENDED, True
    raise TraceError("--kind", f"markers from a query need the kind of event, got {kind!r}")


def markers_from_series(events: Trace, kind: str, origin: float) -> list[Marker]:
    """Markers from series that are above 0 while an event of ``kind`` runs: one opens it where each rises.

    The event's closing marker goes where the series falls back to 0. Times are taken from ``origin`` (the
    throughput trace's first timestamp). For events of one VM (``os``, migrations) each marker's subject is its
    series' name, which must be a VM of the throughput trace; otherwise they are the host's. Missing samples
    count as 0.
    """
    opens, closes, per_vm = event_pair(kind)
    start = float(events.metadata["time_origin"]) - origin
    found = []
    for column, name in enumerate(events.vm_names):
        running = np.nan_to_num(events.vm_throughput[:, column], nan=0.0) > 0
        edges = np.flatnonzero(np.diff(np.concatenate(([False], running)).view(np.int8)))
        for index in edges:
            time = start + index * events.step
            if time >= 0:
                found.append(Marker(time, opens if running[index] else closes, name if per_vm else None))
    return found


def fetch_trace(
    server: Server,
    query: str,
    span: tuple[float, float, float],
    markers: Path | str | None = None,
    markers_query: str | None = None,
    kind: str | None = None,
) -> Trace:
    """:func:`fetch_range` over ``span`` (start, end, step), with markers from a CSV (times in Unix seconds) or from a second query of ``kind``.

    Raises :class:`~rejuv.errors.TraceError` as :func:`fetch_range` does, and for a markers file that cannot be
    read or a markers query without a ``kind``.
    """
    trace = fetch_range(server, query, *span)
    origin = float(trace.metadata["time_origin"])
    found: list[Marker] = []
    if markers is not None:
        found += read_markers_csv(markers, origin=origin)
    if markers_query is not None:
        if kind is None:
            raise TraceError("--markers-query", "needs --kind: the kind of event its series mark")
        events = fetch_range(server, markers_query, *span)
        found += markers_from_series(events, kind, origin)
    return dataclasses.replace(trace, markers=tuple(found))
