"""A real Prometheus scrapes rejuv lab run --metrics during a real cold reboot; fit --prometheus agrees with the trace.

Debian's prometheus (make test installs it: make prometheus-deps) runs on loopback with its own config and
data directory, scraping the lab's metrics every second, and is stopped after. Needs what test_lab_qemu.py
needs (qemu-system-x86_64, root, apt for the guest kernel).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fit_output import fit_json
from rejuv.cli.main import main
from rejuv.trace.store import read_trace, write_trace

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed"),
    pytest.mark.skipif(
        shutil.which("prometheus") is None, reason="prometheus is not installed (make prometheus-deps installs it)"
    ),
]

#: irate() over a window of three 1 s scrapes is the rate between the last two scrapes: replies per scrape
#: interval, the same count the lab's trace bins per 1 s step, at the scrapes' instants instead of the step's
#: boundaries (rate() would average over its window and smear a downtime shorter than it away).
QUERY = "irate(rejuv_lab_replies_total[3s])"
WINDOW = 3.0  #: s: the query's window; the markers start after it, so that the first value is a full one


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """(URL of a running Prometheus, the port it scrapes every second on loopback)."""
    target, port = _free_port(), _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: rejuv-lab\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
    )
    log = (tmp_path / "prometheus.log").open("w")
    server = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as ready:
                    if ready.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, (tmp_path / "prometheus.log").read_text()
            assert time.monotonic() < deadline, "prometheus was not ready within 30 s"
            time.sleep(0.2)
        yield url, target
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_fit_from_prometheus_scraping_a_lab_run_agrees_with_the_lab_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prometheus: tuple[str, int]
) -> None:
    """D_c, R_vmm_c and omega_c from Prometheus's irate() match the lab trace's samples within their uncertainties.

    Like for like: the lab's own 1 s samples (its trace without the client's request-level outages) and
    Prometheus's bin the same replies at different instants (step boundaries, scrapes up to a second apart), so
    the durations agree within both uncertainties (a step each) and the degradation rate within both standard
    errors. The request-level downtime that `rejuv fit` reads from the lab's full trace is finer than any sampled
    series: k samples wholly down mean an outage of k to k + 2 steps (each edge sample partly served), so
    Prometheus's D_c is short of it by up to 2 steps; and it can read one step long, within its stated
    uncertainty: a scrape late under the reboot's load adds a down sample (measured: request-level 3.40 s, the
    lab's own 1 s samples 3 ± 1 s, Prometheus 4 ± 1 s).
    """
    url, target = prometheus
    trace_path = tmp_path / "cold.trace"
    argv = ["lab", "run", "--procedure", "cold", "--vms", "1", "--rate", "20", "--accel", "tcg", "--memory", "128"]
    argv += ["--disk-kbps", "128", "--files", "20", "--before", "26", "--after", "30"]
    assert main([*argv, "--metrics", f"127.0.0.1:{target}", "--out", str(trace_path)]) == 0
    capsys.readouterr()
    time.sleep(3)  # the last scrapes land
    trace = read_trace(trace_path)
    origin = float(trace.metadata["time_origin_unix"])
    markers = tmp_path / "markers.csv"
    markers.write_text(
        "time,kind,subject\n"
        + "".join(
            f"{origin + m.time:.3f},{m.kind.value},{m.subject or ''}\n" for m in trace.markers if m.time > 2 * WINDOW
        )
    )
    samples = write_trace(dataclasses.replace(trace, outages=()), tmp_path / "cold-samples.trace")
    lab = fit_json(capsys, str(samples), "--baseline", "5")
    exact = fit_json(capsys, str(trace_path), "--baseline", "5")["D_c"]["value"]  # from the request record
    live = fit_json(
        capsys,
        *("--prometheus", url, "--query", QUERY, "--step", "1s", "--baseline", "5", "--markers", str(markers)),
        *("--start", f"{origin + WINDOW:.0f}", "--end", f"{origin + trace.duration:.0f}", "--kind", "cold"),
    )
    print(json.dumps({"lab": lab, "prometheus": live, "request-level D_c": exact}, indent=1))
    for symbol in ("D_c", "R_vmm_c"):
        both = lab[symbol]["uncertainty"] + live[symbol]["uncertainty"]
        assert abs(live[symbol]["value"] - lab[symbol]["value"]) <= both, symbol
    both = lab["omega_c"]["uncertainty"] + live["omega_c"]["uncertainty"]
    assert abs(live["omega_c"]["value"] - lab["omega_c"]["value"]) <= both
    assert live["D_c"]["value"] - live["D_c"]["uncertainty"] <= exact <= live["D_c"]["value"] + 2.0
