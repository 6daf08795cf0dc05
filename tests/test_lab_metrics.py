"""rejuv lab run --metrics: the client's replies per VM as Prometheus counters, without QEMU."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from rejuv.lab.errors import LabError
from rejuv.lab.load import Request
from rejuv.lab.metrics import parse_address, serve_metrics


def _request(vm: int, status: int) -> Request:
    return Request(vm, 0, 0, 0.0, 0.0, 0.1, status, 10, "" if status else "timeout")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_replies_and_errors_are_counted_per_vm_from_zero() -> None:
    """Every VM's two counters exist at 0; a 200 counts a reply, anything else an error of that VM."""
    port = _free_port()
    with serve_metrics(("127.0.0.1", port), 2) as count:
        for request in (_request(0, 200), _request(0, 200), _request(0, 0), _request(0, 503)):
            count(request)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
            text = page.read().decode()
    lines = set(text.splitlines())
    assert {
        'rejuv_lab_replies_total{vm="vm0"} 2.0',
        'rejuv_lab_errors_total{vm="vm0"} 2.0',
        'rejuv_lab_replies_total{vm="vm1"} 0.0',
        'rejuv_lab_errors_total{vm="vm1"} 0.0',
    } <= lines


def test_the_metrics_server_stops_with_the_run() -> None:
    """Once the block ends, nothing listens on the port any more."""
    port = _free_port()
    with serve_metrics(("127.0.0.1", port), 1):
        pass
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_an_address_in_use_is_an_error_naming_metrics() -> None:
    """A port something else holds: 'cannot listen on HOST:PORT (why)', before any VM boots."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with (
            pytest.raises(LabError, match=rf"^--metrics: cannot listen on 127\.0\.0\.1:{port} \("),
            serve_metrics(("127.0.0.1", port), 1),
        ):
            pass


@pytest.mark.parametrize("text", ["9464", "localhost", ":9464", "127.0.0.1:0", "127.0.0.1:70000", "host:port"])
def test_a_metrics_address_is_host_colon_port(text: str) -> None:
    """--metrics needs HOST:PORT with a port from 1 to 65535."""
    with pytest.raises(LabError, match=r"^--metrics: expected HOST:PORT such as 127\.0\.0\.1:9464"):
        parse_address(text)


def test_an_ipv6_metrics_address_drops_its_brackets() -> None:
    """[::1]:9464 is host ::1, port 9464."""
    assert parse_address("[::1]:9464") == ("::1", 9464)
