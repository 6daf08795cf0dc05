"""The load client's replies as Prometheus metrics, served while a lab run lasts (``rejuv lab run --metrics``).

The client runs in the host's network namespace and streams every finished
request to the parent (:class:`~rejuv.lab.load.LoadClient`); the parent counts
them here and serves, on an address of the root namespace (loopback in tests),
the Prometheus text format at ``/metrics``:

- ``rejuv_lab_replies_total{vm="vm0"}``: successful replies (HTTP 200) from each VM;
- ``rejuv_lab_errors_total{vm="vm0"}``: requests that got no reply or another status.

Each VM's series exists from the start, at 0, so a ``rate()`` over it has no
gap before the first reply. Built on the ``prometheus_client`` library (the
``lab`` extra).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rejuv.lab.errors import LabError
from rejuv.lab.load import Request

__all__ = ["serve_metrics", "parse_address"]


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``127.0.0.1:9464``, ``[::1]:9464``); raise :class:`LabError` naming ``--metrics``."""
    host, colon, port = text.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise LabError("--metrics", f"expected HOST:PORT such as 127.0.0.1:9464, got {text!r}")
    return host, int(port)


@contextmanager
def serve_metrics(address: tuple[str, int], vms: int) -> Iterator[Callable[[Request], None]]:
    """Serve the counters of ``vms`` VMs at ``address`` until the block ends; yield the function that counts a request.

    Raises :class:`LabError` naming ``--metrics`` if the address cannot be listened on.
    """
    from prometheus_client import CollectorRegistry, Counter, start_http_server

    registry = CollectorRegistry()
    replies = Counter("rejuv_lab_replies", "Successful replies (HTTP 200) from each VM", ["vm"], registry=registry)
    errors = Counter("rejuv_lab_errors", "Requests to each VM without a successful reply", ["vm"], registry=registry)
    names = [f"vm{i}" for i in range(vms)]
    for name in names:  # every series from 0, before the first reply
        replies.labels(vm=name)
        errors.labels(vm=name)
    lock = threading.Lock()

    def count(request: Request) -> None:
        with lock:
            (replies if request.ok else errors).labels(vm=names[request.vm]).inc()

    try:
        server, thread = start_http_server(address[1], addr=address[0], registry=registry)
    except OSError as err:
        raise LabError("--metrics", f"cannot listen on {address[0]}:{address[1]} ({err.strerror or err})") from None
    try:
        yield count
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
