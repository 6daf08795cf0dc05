"""The closed-loop load without QEMU: its validation, and the worker against a tiny local HTTP server."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rejuv.cli.main import main
from rejuv.lab import Experiment, LabError, Request
from rejuv.lab.load import (
    CLOSED_LOOP_OUTAGE,
    MAX_CONCURRENCY,
    MAX_IN_FLIGHT,
    client_limit,
    closed_loop_spacing,
    outages,
    reply_rates,
)
from rejuv.lab.loadgen import _run

SERVICE = 0.02  #: s the server takes per request


class _Server(ThreadingHTTPServer):
    in_flight = 0
    most_in_flight = 0
    lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.in_flight += 1
            self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
        time.sleep(SERVICE)
        with self.server.lock:
            self.server.in_flight -= 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"x" * 1000)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)  # shutdown() waits a poll
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    """A local port nothing listens on (a connection to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _records(
    capsys: pytest.CaptureFixture[str],
    port: int,
    concurrency: int | None,
    duration: float,
    retry_delay: float = 0.05,
    rate: float | None = None,
    one_pass: bool = False,
) -> list[dict[str, Any]]:
    """Run the worker (closed loop, open at ``rate``, or one pass) against 127.0.0.1:``port`` for ``duration`` s; its records."""
    config = {
        "rate": rate,
        "targets": ["127.0.0.1"],
        "port": port,
        "files": 5,
        "start_at": time.monotonic(),
        "duration": duration,
        "timeout": 2.0,
        "path": "/files/f{file}.bin",
        "concurrency": concurrency,
        "retry_delay": retry_delay,
        "connect_timeout": 0.25,
        "one_pass": one_pass,
    }
    asyncio.run(_run(config))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "summary" in lines[-1]
    return lines[:-1]


def test_closed_loop_keeps_at_most_concurrency_requests_in_flight(
    server: _Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """With C = 3 the server never sees more than 3 requests at once, and sees 3."""
    records = _records(capsys, server.server_address[1], concurrency=3, duration=0.4)
    assert server.most_in_flight == 3
    assert all(r["status"] == 200 for r in records)


def test_closed_loop_sends_the_next_request_as_soon_as_one_ends(
    server: _Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """With C = 1 each request starts within 20 ms (one service time) of the previous one's end: no idle VM."""
    records = _records(capsys, server.server_address[1], concurrency=1, duration=0.4)
    assert len(records) >= 5
    waits = [b["start"] - a["end"] for a, b in itertools.pairwise(records)]
    assert min(waits) >= 0 and max(waits) < SERVICE, waits


def test_closed_loop_asks_for_the_files_in_order(server: _Server, capsys: pytest.CaptureFixture[str]) -> None:
    """A VM's slots share one sequence: the requests, by start, ask for files 0, 1, 2, ... mod the file count."""
    records = sorted(_records(capsys, server.server_address[1], concurrency=2, duration=0.3), key=lambda r: r["seq"])
    assert [r["seq"] for r in records] == list(range(len(records)))
    assert [r["file"] for r in records] == [seq % 5 for seq in range(len(records))]


def test_closed_loop_waits_the_retry_delay_after_a_refused_connection(capsys: pytest.CaptureFixture[str]) -> None:
    """Against a refused port a slot sends one request per retry delay (0.1 s), not as fast as refusals come back."""
    records = _records(capsys, _closed_port(), concurrency=1, duration=0.5, retry_delay=0.1)
    assert records and all(r["status"] == 0 and r["error"] for r in records)
    assert 3 <= len(records) <= 6, len(records)
    gaps = [b["start"] - a["end"] for a, b in itertools.pairwise(records)]
    assert min(gaps) >= 0.1, gaps


def test_open_loop_still_sends_on_its_schedule(server: _Server, capsys: pytest.CaptureFixture[str]) -> None:
    """Without concurrency, request k goes at k / rate (20 req/s: 0.05 s apart), not when the last one ended."""
    records = sorted(_records(capsys, server.server_address[1], None, duration=0.5, rate=20.0), key=lambda r: r["seq"])
    assert [r["seq"] for r in records] == list(range(10))
    spacings = [b["scheduled"] - a["scheduled"] for a, b in itertools.pairwise(records)]
    assert spacings == pytest.approx([0.05] * 9)


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"concurrency": 0}, f"must be from 1 to {MAX_CONCURRENCY} per VM, got 0"),
        ({"concurrency": MAX_CONCURRENCY + 1}, f"must be from 1 to {MAX_CONCURRENCY} per VM"),
        ({"concurrency": 16, "vms": 40}, f"40 VMs x 16 = 640 in flight: at most {MAX_IN_FLIGHT}"),
    ],
)
def test_experiment_refuses_a_concurrency_out_of_bounds_naming_it(changes: dict[str, Any], why: str) -> None:
    """Concurrency is 1..16 per VM and 512 in flight over the lab: else LabError naming concurrency."""
    with pytest.raises(LabError) as caught:
        Experiment(**changes)
    assert caught.value.what == "concurrency" and why in caught.value.why


def test_closed_loop_is_not_bound_by_the_rate_limit() -> None:
    """The open loop's offered-load cap does not apply closed loop: 200 VMs x 2 in flight is a valid experiment."""
    assert Experiment(vms=200, rate=10.0, concurrency=2).load == "closed loop, 2 in flight per VM"


def test_lab_run_refuses_both_rate_and_concurrency(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`--rate 5 --concurrency 2`: exit 2, `error: --rate: ...` saying to give one, nothing written."""
    out = tmp_path / "run.trace"
    status = main(["lab", "run", "--rate", "5", "--concurrency", "2", "--out", str(out), "--kernel-package", "x"])
    assert status == 2 and not out.exists()
    assert capsys.readouterr().err.startswith("error: --rate: closed loop (--concurrency) sends as fast as")


def test_lab_run_names_the_concurrency_flag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`--concurrency 0`: exit 2, `error: --concurrency: ...`."""
    status = main(["lab", "run", "--concurrency", "0", "--out", str(tmp_path / "t"), "--kernel-package", "x"])
    assert status == 2
    assert capsys.readouterr().err.startswith("error: --concurrency: must be from 1 to")


def _replies(vm: int, ends: list[float]) -> list[Request]:
    return [Request(vm, i, 0, end - 0.01, end - 0.01, end, 200, 1, "") for i, end in enumerate(ends)]


def test_reply_rates_count_each_vms_successful_replies_in_the_window() -> None:
    """Replies per second per VM, of those that ended in [start, until)."""
    requests = _replies(0, [0.5, 1.0, 1.5, 2.5]) + _replies(1, [0.2])
    assert reply_rates(requests, 2, start=0.0, until=2.0) == [1.5, 0.5]


def test_closed_loop_outages_are_long_against_each_vms_own_reply_rate() -> None:
    """A 0.2 s gap is an outage for a VM at 50 replies/s (threshold 0.05 s), not for one at 5 (0.5 s)."""
    fast = _replies(0, [i * 0.02 for i in range(50)] + [1.18 + i * 0.02 for i in range(10)])
    slow = _replies(1, [i * 0.2 for i in range(10)])
    found = outages(fast + slow, ("fast", "slow"), 0.0, [50.0, 5.0])
    assert [(o.vm, round(o.start, 2), round(o.end, 2)) for o in found] == [("fast", 0.98, 1.18)]


def test_closed_loop_outages_outside_a_procedure_last_at_least_half_a_second() -> None:
    """At 40 replies/s a saturated guest's ordinary 0.2 s gap is no outage; a 0.6 s one is (CLOSED_LOOP_OUTAGE 0.5 s)."""
    ends = [i * 0.025 for i in range(400)]
    ends = [*ends[:100], *(e + 0.2 for e in ends[100:200]), *(e + 0.8 for e in ends[200:])]
    requests = _replies(0, ends)
    spacing = closed_loop_spacing(requests, 1, 0.0, 2.0)
    found = outages(requests, ("vm0",), 0.0, spacing)
    assert CLOSED_LOOP_OUTAGE == 0.5
    assert [(round(o.start, 3), round(o.end, 3)) for o in found] == [(5.175, 5.8)]


def test_a_closed_loop_client_report_says_what_it_sent() -> None:
    """Closed loop, the report names the rate it sent, not an offered one, and is bound past half its limit."""
    summary = {"requests": 100, "cpu_seconds": 1.0, "lateness_median": 0.0, "lateness_p99": 0.0, "lateness_max": 0.0}
    report = client_limit(summary, 60.0, closed_loop=True)
    assert report.bound and "(sent 60.0, closed loop)" in report.describe()
    assert not client_limit(summary, 40.0, closed_loop=True).bound


def test_one_pass_asks_each_file_once_in_order_and_ends_by_itself(
    server: _Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """The warm-up worker: files 0 to 4, one request each, one at a time, and it ends long before its duration."""
    began = time.monotonic()
    records = _records(capsys, server.server_address[1], None, duration=30.0, one_pass=True)
    assert time.monotonic() - began < 5.0
    assert [(r["file"], r["status"]) for r in records] == [(file, 200) for file in range(5)]
    assert server.most_in_flight == 1


def test_one_pass_asks_again_for_a_file_not_served(capsys: pytest.CaptureFixture[str]) -> None:
    """Against a refused port the worker keeps asking for file 0, once per retry delay, until its duration."""
    records = _records(capsys, _closed_port(), None, duration=0.5, retry_delay=0.1, one_pass=True)
    assert 3 <= len(records) <= 6 and {r["file"] for r in records} == {0}
    assert all(r["status"] == 0 for r in records)
