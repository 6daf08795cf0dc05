"""The lab's CPU priority (``--nice``): checked before anything is made, inherited by what the run starts, recorded.

Each niceness is set in a subprocess, so the test run's own priority never changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rejuv.lab.errors import LabError
from rejuv.lab.priority import check_nice


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60)


@pytest.mark.parametrize("nice", [-21, 20])
def test_a_niceness_outside_minus_20_to_19_is_refused_naming_the_option(nice: int) -> None:
    """A niceness below -20 or above 19 is a LabError naming the option and the range."""
    with pytest.raises(LabError) as raised:
        check_nice(nice, "--nice")
    assert raised.value.what == "--nice"
    assert "-20 to 19" in raised.value.why


def test_the_processes_a_run_starts_inherit_the_niceness_set() -> None:
    """After set_nice(5), the process and a child it then starts both run at niceness 5."""
    done = _python(
        "import os, subprocess, sys\n"
        "from rejuv.lab.priority import set_nice\n"
        "set_nice(5)\n"
        "child = subprocess.run([sys.executable, '-c', 'import os; print(os.getpriority(os.PRIO_PROCESS, 0))'],"
        " capture_output=True, text=True, check=True).stdout.strip()\n"
        "print(os.getpriority(os.PRIO_PROCESS, 0), child)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["5", "5"]


def test_the_trace_metadata_records_the_niceness_of_the_run() -> None:
    """The machine metadata every lab trace carries holds the niceness its processes ran at."""
    done = _python(
        "from rejuv.lab.machine import machine_metadata\n"
        "from rejuv.lab.priority import set_nice\n"
        "set_nice(3)\n"
        "print(machine_metadata()['nice'])\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to drop to another user")
def test_lowering_the_niceness_without_the_right_is_a_lab_error_naming_the_option() -> None:
    """A process that may not lower its niceness gets a LabError naming ``--nice`` and why, not a PermissionError."""
    done = _python(
        "import os\n"
        "from rejuv.lab.errors import LabError\n"
        "from rejuv.lab.priority import set_nice\n"
        "os.setuid(65534)\n"
        "try:\n"
        "    set_nice(-5, '--nice')\n"
        "except LabError as err:\n"
        "    print(f'{err.what}: {err.why}')\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("--nice: cannot set niceness -5 (now ")
    assert "lowering it needs root" in done.stdout


def test_lab_run_refuses_a_bad_niceness_before_making_anything(tmp_path: Path) -> None:
    """``rejuv lab run --nice 20``: ``error: --nice: ...``, exit 2, no traceback, nothing written."""
    out = tmp_path / "run.trace"
    argv = [sys.executable, "-m", "rejuv", "lab", "run", "--nice", "20", "--out", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 2
    assert "error: --nice: must be a niceness from -20 to 19, got 20" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
