"""The lab's logic without QEMU: throughput binning, client-seen downtime, client limit, validation, cleanup."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from rejuv.cli import lab as cli_lab
from rejuv.cli.main import main
from rejuv.lab import Experiment, ImageRecipe, LabError, Request, reply_gap, throughput
from rejuv.lab.cleanup import Cleanup, run_directory
from rejuv.lab.errors import HostError, ImageError
from rejuv.lab.host import Host, http_get
from rejuv.lab.load import LoadClient, client_limit


def _request(vm: int, end: float, status: int = 200) -> Request:
    return Request(vm, 0, 0, end - 0.1, end - 0.1, end, status, 131072 if status == 200 else 0, "")


def test_throughput_counts_successful_replies_by_the_second_they_ended() -> None:
    """A reply counts in the sample holding its end time, per VM; failures do not count."""
    requests = [_request(0, 100.2), _request(0, 100.9), _request(1, 101.5), _request(1, 101.6, status=0)]
    series = throughput(requests, vms=2, start=100.0, duration=3.0)
    assert np.array_equal(series, [[2, 0], [0, 1], [0, 0]])


def test_throughput_at_a_finer_step_is_in_replies_per_second() -> None:
    """At a 0.5 s step one reply in a sample is 2 replies/s."""
    series = throughput([_request(0, 10.7)], vms=1, start=10.0, duration=1.0, step=0.5)
    assert np.array_equal(series[:, 0], [0.0, 2.0])


def test_reply_gap_is_the_longest_time_without_a_reply() -> None:
    """The client-seen downtime is the widest gap between reply ends, window edges included."""
    requests = [_request(0, t) for t in (1.0, 1.2, 3.7, 3.9)] + [_request(0, 2.0, status=0)]
    assert reply_gap(requests, 0, after=0.9, until=4.0) == pytest.approx(2.5)


def test_client_is_flagged_as_bottleneck_when_offered_load_nears_its_limit() -> None:
    """A client that spent 1 CPU-second on 100 requests cannot be trusted at 80 req/s offered."""
    summary = {"requests": 100, "cpu_seconds": 1.0, "lateness_median": 0.001, "lateness_p99": 0.002}
    assert client_limit({**summary, "lateness_max": 0.003}, offered=80.0).bound
    assert not client_limit({**summary, "lateness_max": 0.003}, offered=20.0).bound


def test_client_is_flagged_as_bottleneck_when_it_sends_late() -> None:
    """A p99 send lateness over 0.1 s means the client did not keep the schedule."""
    summary = {"requests": 100, "cpu_seconds": 0.1, "lateness_median": 0.01, "lateness_p99": 0.3, "lateness_max": 1}
    assert client_limit(summary, offered=1.0).bound


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"procedure": "hot"}, "procedure"), ({"vms": 0}, "vms"), ({"rate": 0}, "rate"), ({"before": -1}, "before")],
)
def test_experiment_rejects_bad_values_naming_the_field(changes: dict[str, object], field: str) -> None:
    """A bad experiment value raises LabError naming the field."""
    with pytest.raises(LabError) as caught:
        Experiment(**changes)  # type: ignore[arg-type]
    assert caught.value.what == field


def test_os_procedure_needs_a_second_vm() -> None:
    """OS rejuvenation of one VM while the others serve needs at least two VMs."""
    with pytest.raises(LabError, match="vms: needs at least 2"):
        Experiment(procedure="os", vms=1)


def test_image_recipe_rejects_an_empty_disk() -> None:
    """A data disk of no files is refused, naming the field."""
    with pytest.raises(ImageError, match="files: must be >= 1"):
        ImageRecipe(files=0)


def test_cleanup_runs_newest_first_and_goes_on_after_a_failure() -> None:
    """Undo actions run in reverse order; one that fails is reported and the rest still run."""
    done: list[str] = []
    cleanup = Cleanup()
    cleanup.add("first", lambda: done.append("first"))
    cleanup.add("broken", lambda: 1 / 0)
    cleanup.add("last", lambda: done.append("last"))
    failed = cleanup.run_all()
    assert done == ["last", "first"]
    assert failed == ["broken: division by zero"]
    assert cleanup.pending() == []


def test_run_directory_is_private_and_removed_even_on_error() -> None:
    """The run directory is mode 0700 and gone after the block, also when it raised."""
    seen: list[Path] = []
    with pytest.raises(RuntimeError), run_directory() as path:
        seen.append(path)
        (path / "vm0.mem").write_bytes(b"x")
        assert path.stat().st_mode & 0o777 == 0o700
        raise RuntimeError("fail")
    assert not seen[0].exists()


def test_lab_run_reports_a_bad_value_without_traceback(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`rejuv lab run --vms 0` is a user error: exit 2, `error: --vms: ...` naming the flag, no trace written."""
    out = tmp_path / "run.trace"
    status = main(["lab", "run", "--vms", "0", "--out", str(out), "--kernel-package", "linux-image-x"])
    assert status == 2
    assert capsys.readouterr().err.startswith("error: --vms: needs at least 1")
    assert not out.exists()


def test_lab_run_refuses_a_mechanism_the_qemu_lacks_before_anything(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`--mechanism cpr-transfer` on QEMU 7.2: exit 2, `error: --mechanism: ...` naming both versions, nothing made."""
    monkeypatch.setattr(cli_lab, "qemu_version", lambda: "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)")
    out = tmp_path / "run.trace"
    status = main(["lab", "run", "--mechanism", "cpr-transfer", "--out", str(out), "--kernel-package", "linux-x"])
    assert status == 2 and not out.exists()
    assert capsys.readouterr().err == "error: --mechanism: cpr-transfer needs QEMU >= 10.0, this one is 7.2\n"


def test_a_host_needs_root_and_says_so_before_making_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without root, Host() fails at once with a message naming what root is needed for."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(HostError) as caught:
        Host(1)
    assert str(caught.value) == "rejuv lab: needs root: it creates a network namespace, a bridge and tap devices"


def test_a_guest_that_does_not_answer_in_time_is_a_host_error_and_its_fetch_is_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """http_get past its timeout: HostError naming the URL and the wait (not a bare TimeoutError); no fetch left running."""
    pids = tmp_path / "pids"
    stuck = tmp_path / "ip"  # stands for `ip netns exec ... wget`, which a guest that never answers leaves waiting
    stuck.write_text(f"#!/bin/sh\necho $$ >> {pids}\nexec sleep 30\n")
    stuck.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with pytest.raises(HostError) as caught:
        asyncio.run(http_get("rejuv-none", "http://10.0.2.10/cgi-bin/status", timeout=0.5))
    assert str(caught.value) == "http://10.0.2.10/cgi-bin/status: no answer within 0.5 s"
    assert not Path(f"/proc/{pids.read_text().strip()}").exists()


class _StuckWorkerHost:
    """A host whose "load client" ignores SIGTERM and never reports, like one far behind its schedule."""

    def __init__(self, ready: Path) -> None:
        self.ready = ready  #: made once SIGTERM is ignored

    def address(self, index: int) -> str:
        return f"10.0.2.{10 + index}"

    def exec_argv(self, argv: list[str]) -> list[str]:
        code = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); open(sys.argv[1], 'w')"
        return [sys.executable, "-c", code + "; time.sleep(60)", str(self.ready)]


def test_a_load_client_that_does_not_stop_is_an_error_saying_so_and_is_killed(tmp_path: Path) -> None:
    """A worker that ignores the request to stop gives LabError naming the load client (not a bare timeout)."""
    host = _StuckWorkerHost(tmp_path / "ready")

    async def run() -> LoadClient:
        client = LoadClient(cast(Host, host), vms=1, rate=5.0, files=20, timeout=0.1)
        await client.start(delay=0.0)
        while not host.ready.exists():
            await asyncio.sleep(0.02)
        with pytest.raises(LabError, match=r"^load client: did not stop within 10.1 s of being asked"):
            await client.stop()
        return client

    client = asyncio.run(run())
    assert client._process is not None and client._process.returncode is not None
