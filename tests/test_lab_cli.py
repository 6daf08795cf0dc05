"""`rejuv lab run` as a user runs it: a real signal in the middle of a run leaves nothing behind.

Each test starts the command as a subprocess (1 VM under TCG, 20 files),
waits until its VM has booted and the load runs, sends the signal, and then
looks for anything of that process left on the machine.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import processes

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed"),
]


def _lines(stream: object) -> queue.Queue[str]:
    """The lines of ``stream`` as they come, read by a thread."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    return lines


def interrupted(
    argv: list[str],
    cue: str,
    signum: signal.Signals = signal.SIGTERM,
    count: int = 1,
    delay: float = 0.0,
    on_cue: Callable[[int], object] = lambda pid: None,
) -> tuple[subprocess.Popen[str], str]:
    """Run ``argv``; once ``count`` stderr lines hold ``cue``, call ``on_cue(pid)``, wait ``delay`` s and send ``signum``.

    The ended process and its whole stderr; a run that ends before its cue fails the test.
    """
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines, seen = _lines(process.stderr), list[str]()
        deadline = time.monotonic() + 150
        while sum(cue in line for line in seen) < count:
            seen.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
            assert seen[-1], f"the run ended early: {''.join(seen)}"
        on_cue(process.pid)
        time.sleep(delay)
        process.send_signal(signum)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    while (line := lines.get(timeout=10)) != "":
        seen.append(line)
    return process, "".join(seen)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_run_stops_it_cleanly_and_leaves_nothing_behind(
    signum: signal.Signals, tmp_path: Path
) -> None:
    """SIGINT or SIGTERM under load: exit 130 with a clear message, no QEMU, client, namespace, run dir or trace.

    The run is given ``--nice -3``: its QEMU runs at that niceness (inherited from the command).
    """
    out = tmp_path / "run.trace"
    argv = [sys.executable, "-m", "rejuv", "lab", "run", "--procedure", "warm", "--vms", "1", "--rate", "2"]
    argv += ["--before", "60s", "--after", "5s", "--files", "20", "--accel", "tcg", "--nice", "-3", "--out", str(out)]
    children: dict[int, str] = {}
    nice: dict[int, int] = {}

    def look(pid: int) -> None:
        children.update(processes.children(pid))
        nice.update((child, os.getpriority(os.PRIO_PROCESS, child)) for child in children)

    # "replies/s per VM": booted, and the load has run 5 s
    process, error = interrupted(argv, "replies/s per VM", signum, on_cue=look)
    assert any("qemu-system" in command for command in children.values()), children
    assert {nice[pid] for pid, command in children.items() if "qemu-system" in command} == {-3}
    assert process.returncode == 130
    assert error.rstrip().endswith("error: interrupted")
    assert "Traceback" not in error
    assert "no VM, namespace or run directory left" in error
    assert [command for pid, command in children.items() if processes.running(pid, command)] == []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    assert f"rejuv-{process.pid}-" not in netns
    assert list(Path("/dev/shm").glob(f"rejuv-lab-{process.pid}-*")) == []
    assert list(tmp_path.iterdir()) == []  # no trace, no partial file
