"""`rejuv lab study` end to end on real QEMU: stopped by SIGTERM, resumed, fitted, compared and summarised.

One study (2 VMs under TCG, 20 files, 5 req/s each, 4 s of load before and 6 s
after each procedure, 0.25 s steps) is shared by every test: it is started as
a user starts it, sent SIGTERM once its first trace is written, and started
again to finish.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import processes
from rejuv.study import study_procedures
from rejuv.trace.store import read_trace

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed"),
]

OPTIONS = ["--vms", "2", "--rate", "5", "--before", "4s", "--after", "6s", "--step", "0.25s", "--files", "20"]
OPTIONS += ["--accel", "tcg", "--link", "1gbit", "--nice", "1"]


@dataclass
class Study:
    out: Path
    stopped: subprocess.CompletedProcess[str]  #: the run sent SIGTERM
    stopped_children: dict[int, str]
    first: dict[str, tuple[int, float]]  #: each trace the stopped run left: its mtime and the start of its run (Unix s)
    finished: subprocess.CompletedProcess[str]  #: the run that resumed it


def _stamps(out: Path) -> dict[str, tuple[int, float]]:
    return {
        path.stem: (path.stat().st_mtime_ns, float(read_trace(path).metadata["time_origin_unix"]))
        for path in out.glob("*.trace")
    }


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Study:
    out = tmp_path_factory.mktemp("study") / "mine"
    argv = [sys.executable, "-m", "rejuv", "lab", "study", *OPTIONS, "--out-dir", str(out)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 240
        while not (out / "warm.trace").exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2.0)  # into the next procedure's boot
        children = processes.children(process.pid)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stopped = subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
    first = _stamps(out)
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    return Study(out, stopped, children, first, finished)


def test_sigterm_stops_the_study_cleanly_keeping_the_finished_traces(study: Study) -> None:
    """SIGTERM mid-study: exit 130, no traceback, no QEMU left, the first trace kept, no summary yet."""
    assert study.stopped.returncode == 130, study.stopped.stderr
    assert "Traceback" not in study.stopped.stderr
    assert "run the same command to resume" in study.stopped.stderr
    assert [c for pid, c in study.stopped_children.items() if processes.running(pid, c)] == []
    assert "warm" in study.first


def test_every_run_of_the_study_runs_at_the_niceness_given(study: Study) -> None:
    """`--nice 1`: each procedure's trace records that its QEMU and load client ran at niceness 1."""
    traces = sorted(study.out.glob("*.trace"))
    assert traces and {read_trace(path).metadata["nice"] for path in traces} == {1}


def test_the_resumed_study_does_not_run_the_finished_procedures_again(study: Study) -> None:
    """The traces the stopped run wrote are untouched (same mtime and run start); every other is written."""
    assert study.finished.returncode == 0, study.finished.stderr
    assert "warm: " in study.finished.stderr and "is there; not run again" in study.finished.stderr
    after = _stamps(study.out)
    assert {name: after[name] for name in study.first} == study.first
    assert sorted(after) == sorted(study_procedures())


def test_the_study_writes_a_parameter_file_that_compare_reads(study: Study) -> None:
    """measured.toml holds the measured n, and `rejuv compare --params` takes it."""
    params = study.out / "measured.toml"
    assert "n = 2  #" in params.read_text()
    compare = subprocess.run(
        [sys.executable, "-m", "rejuv", "compare", "--params", str(params), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert compare.returncode == 0, compare.stderr
    assert json.loads(compare.stdout)["parameters"]["values"]["vms_per_host"] == 2


def test_the_study_writes_every_figure_and_a_summary_with_both_verdicts(study: Study) -> None:
    """Figures 3 to 7 are drawn, the summary leads with the verdict here and the paper's, and states the cost."""
    summary = (study.out / "summary.md").read_text()
    document = json.loads((study.out / "summary.json").read_text())
    for name in document["figures"].values():
        assert (study.out / name).stat().st_size > 0
    assert sorted(document["figures"]) == sorted(study_procedures())
    assert (study.out / "figure7.png").is_file()
    assert summary.index("## Verdict") < summary.index("## Parameters")
    assert "**Here:** Warm-VM Reboot is" in summary and "The paper: Warm-VM Reboot is best at every m" in summary
    assert document["costs"]["warm"]["status"] == "kept" and document["costs"]["cold"]["status"] == "ran"
    assert all(cost["seconds"] > 0 for cost in document["costs"].values())
    assert "## Verdict" in study.finished.stdout
