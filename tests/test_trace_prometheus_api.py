"""rejuv fit --prometheus against a fake Prometheus on loopback (http.server in a thread)."""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from fit_output import fit_json
from rejuv.cli import main
from rejuv.cli.option_types import timestamp
from rejuv.trace.markers import MarkerKind
from rejuv.trace.prometheus_api import Server, fetch_range, fetch_trace
from rejuv.trace.store import read_trace

ORIGIN = 1_700_000_000.0


@dataclass
class Fake:
    """What the fake server answers (status, body, delay) per query, and the forms it was sent."""

    answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    delay: float = 0.0
    forms: list[dict[str, str]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def fake() -> Iterator[Fake]:
    state = Fake()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            state.forms.append({"path": self.path, **form})
            time.sleep(state.delay)
            status, body = state.answers.get(form.get("query", ""), (404, "no such query"))
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up (the timeout test)
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def matrix(columns: dict[str, list[float]], step: float, origin: float = ORIGIN, label: str = "vm") -> str:
    """A range-query response: one series per column, NaN written as Prometheus writes it."""
    result = [
        {
            "metric": {label: name},
            "values": [[origin + i * step, "NaN" if np.isnan(v) else f"{v:.17g}"] for i, v in enumerate(values)],
        }
        for name, values in columns.items()
    ]
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status = main(list(argv))
    err = capsys.readouterr().err
    assert status == 2, err
    return err.strip()


def test_a_live_range_query_fits_exactly_as_the_saved_response(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake: Fake
) -> None:
    """fit --prometheus URL --query Q gives the very estimates that fit gives on the same response saved to a file."""
    synthetic = tmp_path / "cold.trace"
    assert main(["synth", "--kind", "cold", "--vms", "2", "--jitter", "0", "--out", str(synthetic)]) == 0
    capsys.readouterr()
    trace = read_trace(synthetic)
    body = matrix({name: trace.vm(name).tolist() for name in trace.vm_names}, trace.step)
    (tmp_path / "q.json").write_text(body)
    fake.answers["sum by (vm) (rate(x[1m]))"] = (200, body)
    end = ORIGIN + (trace.samples - 1) * trace.step
    saved = fit_json(capsys, str(tmp_path / "q.json"), "--kind", "cold")
    live = fit_json(
        capsys,
        "--prometheus",
        fake.url,
        "--query",
        "sum by (vm) (rate(x[1m]))",
        "--start",
        f"{ORIGIN:.0f}",
        "--end",
        f"{end:.0f}",
        "--step",
        "1s",
        "--kind",
        "cold",
    )
    assert live == saved
    assert fake.forms[-1] == {
        "path": "/api/v1/query_range",
        "query": "sum by (vm) (rate(x[1m]))",
        "start": f"{ORIGIN:.3f}",
        "end": f"{end:.3f}",
        "step": "1",
    }


def test_nan_and_absent_samples_from_a_server_are_missing_samples(fake: Fake) -> None:
    """A "NaN" value and a timestamp a series lacks both read as NaN."""
    body = json.dumps(
        {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [
                    {"metric": {"vm": "a"}, "values": [[ORIGIN, "1"], [ORIGIN + 15, "NaN"], [ORIGIN + 45, "4"]]}
                ],
            },
        }
    )
    fake.answers["q"] = (200, body)
    trace = fetch_range(Server(fake.url), "q", ORIGIN, ORIGIN + 45, 15)
    np.testing.assert_array_equal(trace.vm("a"), [1, np.nan, np.nan, 4])
    assert trace.step == 15
    assert trace.metadata["prometheus_query"] == "q"


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (
            400,
            json.dumps({"status": "error", "errorType": "bad_data", "error": 'invalid parameter "query": 1:5: parse'}),
            'error: --prometheus: the query failed; Prometheus said: bad_data: invalid parameter "query": 1:5: parse',
        ),
        (
            200,
            json.dumps({"status": "error", "errorType": "execution", "error": "query timed out"}),
            "error: --prometheus: the query failed; Prometheus said: execution: query timed out",
        ),
        (503, "<html>down</html>", "error: --prometheus: {url}/api/v1/query_range answered HTTP 503"),
        (200, matrix({}, 1.0), "error: --prometheus: data.result: holds no series"),
        (200, "", "error: --prometheus: {url} answered with an empty body: not a Prometheus server?"),
    ],
    ids=["Prometheus error", "error with 200", "HTTP error", "no series", "empty body"],
)
def test_a_failed_query_is_an_error_naming_prometheus_and_quoting_it(
    capsys: pytest.CaptureFixture[str], fake: Fake, status: int, body: str, why: str
) -> None:
    """Prometheus's own error JSON is quoted; an HTTP error names the status; an empty result says so; exit 2."""
    fake.answers["q"] = (status, body)
    error = error_of(
        capsys, "fit", "--prometheus", fake.url, "--query", "q", "--start", "0", "--end", "60", "--step", "1s"
    )
    assert error.startswith(why.format(url=fake.url))


def test_an_unreachable_server_is_an_error_naming_it(capsys: pytest.CaptureFixture[str], fake: Fake) -> None:
    """Nothing listening on the port: 'cannot reach URL (why)', exit 2."""
    url = "http://127.0.0.1:1"
    error = error_of(capsys, "fit", "--prometheus", url, "--query", "q", "--start", "0", "--end", "60")
    assert error.startswith(f"error: --prometheus: cannot reach {url} (")


def test_a_slow_server_is_given_up_after_the_timeout(capsys: pytest.CaptureFixture[str], fake: Fake) -> None:
    """A server that does not answer within --timeout is an error saying so, not a hang."""
    fake.delay = 2.0
    began = time.monotonic()
    error = error_of(
        capsys, "fit", "--prometheus", fake.url, "--query", "q", "--start", "0", "--end", "60", "--timeout", "0.3"
    )
    assert error == f"error: --prometheus: no answer from {fake.url} within 0.3 s; raise --timeout"
    assert time.monotonic() - began < 1.5


def test_too_many_points_are_refused_before_asking(capsys: pytest.CaptureFixture[str], fake: Fake) -> None:
    """More than Prometheus's 11,000 points per series is refused before the request, with what to change."""
    error = error_of(
        capsys, "fit", "--prometheus", fake.url, "--query", "q", "--start", "0", "--end", "86400", "--step", "1s"
    )
    assert "Prometheus answers at most 11,000: use a longer --step or a shorter range" in error
    assert fake.forms == []


def test_an_answer_larger_than_the_memory_limit_is_refused(
    capsys: pytest.CaptureFixture[str], fake: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer is read only up to what the memory limit allows to parse; more is an error naming --prometheus."""
    fake.answers["q"] = (200, matrix({"a": [1.0] * 2000}, 1.0))
    monkeypatch.setenv("REJUV_MEMORY_LIMIT", "100000")
    error = error_of(capsys, "fit", "--prometheus", fake.url, "--query", "q", "--start", "0", "--end", "1999")
    assert error.startswith("error: --prometheus: ")
    assert "ask for a shorter range or a longer --step" in error


def test_a_markers_query_opens_and_closes_each_event_where_its_series_rises_and_falls(fake: Fake) -> None:
    """A series above 0 while a migration runs gives migration-started where it rises, migration-ended where it falls."""
    fake.answers["tp"] = (200, matrix({"vm0": [10.0] * 8, "vm1": [10.0] * 8}, 15))
    fake.answers["moving"] = (200, matrix({"vm1": [0, 0, 1, 1, np.nan, 0, 0]}, 15, ORIGIN + 15))
    trace = fetch_trace(Server(fake.url), "tp", (ORIGIN, ORIGIN + 105, 15), markers_query="moving", kind="migration")
    assert [(m.time, m.kind, m.subject) for m in trace.markers] == [
        (45.0, MarkerKind.MIGRATION_STARTED, "vm1"),
        (75.0, MarkerKind.MIGRATION_ENDED, "vm1"),
    ]


def test_a_markers_file_with_a_live_query_counts_from_the_step_before_the_first_timestamp(
    tmp_path: Path, fake: Fake
) -> None:
    """--markers FILE with --prometheus: Unix seconds, from the start of the first sample's step (a step before it)."""
    fake.answers["tp"] = (200, matrix({"vm0": [10.0] * 8}, 15))
    markers = tmp_path / "m.csv"
    markers.write_text(f"time,kind,subject\n{ORIGIN + 30:.0f},shutdown-started,\n")
    trace = fetch_trace(Server(fake.url), "tp", (ORIGIN, ORIGIN + 105, 15), markers=markers)
    assert [(m.time, m.kind) for m in trace.markers] == [(45.0, MarkerKind.SHUTDOWN_STARTED)]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1700000000", 1_700_000_000.0), ("2023-11-14T22:13:20Z", 1_700_000_000.0), ("2023-11-14T23:13:20+01:00", 1.7e9)],
)
def test_a_moment_is_rfc3339_or_unix_seconds(text: str, seconds: float) -> None:
    """--start/--end read RFC 3339 with its zone, or Unix seconds."""
    assert timestamp(text) == seconds


def test_a_relative_moment_counts_back_from_now() -> None:
    """now-1h is an hour before the moment the option is read."""
    assert abs(timestamp("now-1h") - (time.time() - 3600)) < 5


@pytest.mark.parametrize("text", ["yesterday", "2023-11-14T22:13:20", "now+1h", "-5", "nan"])
def test_a_moment_without_meaning_is_refused(text: str) -> None:
    """Text that is no moment, a time without a zone, a future offset, negative or NaN seconds are refused."""
    with pytest.raises(argparse.ArgumentTypeError):
        timestamp(text)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://127.0.0.1/", "expected an http:// or https:// URL, got 'ftp://127.0.0.1/'"),
        ("http://[::1", "not a URL: 'http://[::1' (Invalid IPv6 URL)"),
        ("http://a b", "not a usable URL: 'http://a b' (URL can't contain control characters."),
    ],
)
def test_a_url_that_is_not_an_http_server_is_refused(capsys: pytest.CaptureFixture[str], url: str, why: str) -> None:
    """Only http:// and https:// URLs are asked (never file://); a malformed one is an error, not a traceback."""
    assert error_of(capsys, "fit", "--prometheus", url, "--query", "q", "--start", "now-1h").startswith(
        f"error: --prometheus: {why}"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "--query", "q"], "error: --query: goes with --prometheus URL"),
        (["fit"], "error: fit: name the trace files to fit, or --prometheus URL --query PROMQL --start T"),
        (["fit", "--prometheus", "http://127.0.0.1:1", "--start", "0"], "error: --prometheus: needs --query"),
        (["fit", "a.trace", "--prometheus", "http://127.0.0.1:1"], "error: --prometheus: fits one range query"),
    ],
    ids=["query without server", "nothing to fit", "no query", "files and server"],
)
def test_files_or_a_server_are_fitted_never_both_nor_neither(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """fit takes trace files or --prometheus with --query and --start; the live options need --prometheus."""
    assert error_of(capsys, *argv).startswith(message)
