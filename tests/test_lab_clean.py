"""What a killed run leaves, and `rejuv lab clean`; `rejuv lab run` refusing nonsense before it makes anything.

The argument checks and the ownership rules need neither root nor QEMU. The
tests marked ``lab`` SIGKILL a real `rejuv lab run` while its VM runs, then
check what is left, and that `rejuv lab clean` (or the next run's sweep)
removes exactly that: the namespace, the run directory and its memory files,
and nothing of a run that is still alive.
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
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import processes
from rejuv.cli.main import main
from rejuv.lab import Experiment, LabError
from rejuv.lab.cleanup import run_directory
from rejuv.lab.experiment import check_room
from rejuv.lab.host import Host
from rejuv.lab.owner import NAMESPACE_PREFIX, RUN_DIRECTORY_PREFIX, Owner, owner_tag
from rejuv.lab.reclaim import find_leftovers, reclaim

# --- rejuv lab run refuses nonsense: exit 2, `error: <flag>: <why>`, nothing made -----------------------------


@pytest.mark.parametrize(
    ("options", "flag", "why"),
    [
        (["--step", "100s"], "--step", "must be no longer than the load before (30 s) and after (60 s)"),
        (["--step", "2s", "--before", "1s"], "--step", "must be no longer than the load before (1 s)"),
        (["--step", "5s", "--after", "3s"], "--step", "and after (3 s) the procedure, got 5 s"),
        (["--step", "0s"], "--step", "must be a finite number > 0 s, got 0"),
        (["--before", "0s"], "--before", "must be a finite number > 0 s, got 0"),
        (["--before=-5s"], "--before", "must be a finite number > 0 s, got -5"),
        (["--before", "1e400s"], "--before", "must be a finite number > 0 s, got inf"),
        (["--after", "0s"], "--after", "must be a finite number > 0 s, got 0"),
        (["--rate", "1e9"], "--rate", "4 VMs x 1e+09 req/s = 4e+09 req/s is more than one load client can send"),
        (["--vms", "100", "--rate", "20"], "--rate", "100 VMs x 20 req/s = 2000 req/s is more than one load client"),
        (["--rate", "nan"], "--rate", "must be a finite number > 0 req/s, got nan"),
        (["--rate", "inf"], "--rate", "must be a finite number > 0 req/s, got inf"),
        (["--rate", "0"], "--rate", "must be a finite number > 0 req/s, got 0"),
        (["--rate", "-2"], "--rate", "must be a finite number > 0 req/s, got -2"),
        (["--vms", "0"], "--vms", "needs at least 1 and at most 200"),
        (["--vms", "100000"], "--vms", "needs at least 1 and at most 200 (one /24 subnet), got 100000"),
        (["--procedure", "os", "--vms", "1"], "--vms", "needs at least 2"),
        (["--procedure", "os", "--os-vm", "4"], "--os-vm", "must be a VM index from 0 to 3, got 4"),
        (["--memory", "0"], "--memory", "must be >= 64 MB, got 0"),
        (["--memory", "-128"], "--memory", "must be >= 64 MB, got -128"),
        (["--disk-kbps", "0"], "--disk-kbps", "must be >= 4096 bytes/s, got 0"),
        (["--seed", "-1"], "--seed", "must be >= 0, got -1"),
        (["--files", "0"], "--files", "must be >= 1, got 0"),
        (["--file-kb", "0"], "--file-kb", "must be >= 1 KB, got 0"),
    ],
)
def test_lab_run_refuses_a_bad_option_naming_it_before_making_anything(
    options: list[str], flag: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad option gives exit 2 and `error: <flag>: <why>`, no traceback, and no trace, run dir or namespace."""
    out = tmp_path / "run.trace"
    status = main(["lab", "run", *options, "--out", str(out), "--kernel-package", "linux-image-x"])
    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith(f"error: {flag}: ") and why in error, error
    assert error.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
    assert _mine() == []


def test_lab_run_refuses_a_folder_as_its_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--out` naming a folder is refused at once, not after the whole run when the trace cannot be written."""
    status = main(["lab", "run", "--out", str(tmp_path), "--kernel-package", "linux-image-x"])
    assert status == 2
    assert capsys.readouterr().err == f"error: --out: {tmp_path} is a folder; name the .trace file to write\n"
    assert list(tmp_path.iterdir()) == []


def test_lab_run_without_root_says_so_before_building_or_making_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Good options but no root: exit 2 naming what root is needed for, before any image, sweep or namespace."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    status = main(["lab", "run", "--out", str(tmp_path / "run.trace"), "--kernel-package", "linux-image-x"])
    assert status == 2
    assert (
        capsys.readouterr().err
        == "error: rejuv lab: needs root: it creates a network namespace, a bridge and tap devices\n"
    )
    assert list(tmp_path.iterdir()) == []
    assert _mine() == []


def test_guests_that_do_not_fit_in_memory_are_refused_naming_the_field(tmp_path: Path) -> None:
    """Every guest's RAM must fit in the free memory and in the run directory's tmpfs, or nothing starts."""
    with pytest.raises(LabError) as caught:
        check_room(Experiment(vms=4, memory_mb=2**40), tmp_path)
    assert caught.value.what == "memory_mb"
    assert "4 VMs x 1099511627776 MB" in caught.value.why
    check_room(Experiment(vms=1, memory_mb=64), tmp_path)  # a small guest fits


def _mine() -> list[str]:
    """Namespaces and run directories of this test process."""
    netns = Path("/run/netns")
    names = [p.name for p in netns.iterdir()] if netns.is_dir() else []
    names += [p.name for p in Path("/dev/shm").glob(f"{RUN_DIRECTORY_PREFIX}*")] if Path("/dev/shm").is_dir() else []
    return [name for name in names if f"-{os.getpid()}-" in name]


# --- whose a resource is ----------------------------------------------------------------------------------------


def test_a_resource_name_carries_its_owner_and_the_owner_is_alive_while_it_runs() -> None:
    """`<prefix><pid>-<start>-<random>` names this process as long as it runs."""
    owner = Owner.from_name(f"{RUN_DIRECTORY_PREFIX}{owner_tag()}-abc123_x", RUN_DIRECTORY_PREFIX)
    assert owner is not None and owner.pid == os.getpid() and owner.start is not None
    assert owner.alive()


def test_a_reused_pid_does_not_keep_a_dead_owners_resources() -> None:
    """Same pid, another start time: another process, so the resource is stale."""
    owner = Owner.from_name(f"{NAMESPACE_PREFIX}{owner_tag()}-abcdef", NAMESPACE_PREFIX)
    assert owner is not None and owner.start is not None
    assert not Owner(owner.pid, owner.start + 1).alive()


def test_an_ended_process_owns_nothing() -> None:
    """A process that has exited (and been reaped) no longer owns its resources."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert not Owner(int(child.stdout), None).alive()


def test_names_without_a_start_time_count_as_live_while_their_pid_runs() -> None:
    """Older names (`rejuv-<pid>-<random>`) are never taken for garbage while that pid runs."""
    assert Owner.from_name(f"rejuv-{os.getpid()}-91e042", NAMESPACE_PREFIX) == Owner(os.getpid(), None)
    assert Owner(os.getpid(), None).alive()


def test_names_that_are_not_a_lab_resource_have_no_owner() -> None:
    """Only `<prefix><digits>-...` names are the lab's; anything else is never touched."""
    for name in ("rejuv-foo", "rejuv-", "rejuv-12-34-56-78", "other-12-34-ab", "rejuv-x1-2-ab"):
        assert Owner.from_name(name, NAMESPACE_PREFIX) is None


def _sparse_memory_file(path: Path, written: int) -> None:
    """A 128 MB memory file of which ``written`` bytes hold data, like a guest's."""
    with path.open("wb") as file:
        file.truncate(128 * 2**20)
        file.write(b"\1" * written)


def test_clean_finds_a_dead_runs_directory_with_its_memory_and_leaves_a_live_ones(tmp_path: Path) -> None:
    """A run directory whose owner is gone is stale, with its real size; this process's own is in use."""
    dead = tmp_path / f"{RUN_DIRECTORY_PREFIX}{os.getpid()}-1-deadbeef"  # this pid, another start: a reused pid
    live = tmp_path / f"{RUN_DIRECTORY_PREFIX}{owner_tag()}-livelive"
    for folder in (dead, live):
        folder.mkdir()
        _sparse_memory_file(folder / "vm0.mem", 2**20)
    (dead / "vm0.log").write_text("booted")
    found = {leftover.path: leftover for leftover in find_leftovers(tmp_path, tmp_path / "no-netns")}
    assert set(found) == {dead, live}
    assert found[dead].stale and not found[live].stale
    assert found[dead].memory_files == (("vm0.mem", 2**20),)
    assert found[dead].describe().startswith(f"run directory {dead}, 1.0 MB (memory files: vm0.mem 1.0 MB)")
    assert found[dead].describe().endswith(f"owner pid {os.getpid()} is gone")
    assert reclaim(list(found.values())) == []
    assert not dead.exists()
    assert (live / "vm0.mem").exists()


def test_clean_kills_an_orphan_still_using_a_dead_runs_directory(tmp_path: Path) -> None:
    """A process naming a stale run directory would keep its memory alive: it is killed, then the folder goes."""
    dead = tmp_path / f"{RUN_DIRECTORY_PREFIX}{os.getpid()}-1-orphaned"
    dead.mkdir()
    code = "import sys, time; open(sys.argv[1], 'w').close(); time.sleep(120)"
    orphan = subprocess.Popen([sys.executable, "-c", code, str(dead / "vm0.mem")])
    try:
        deadline = time.monotonic() + 10
        while not (dead / "vm0.mem").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        [leftover] = find_leftovers(tmp_path, tmp_path / "no-netns")
        assert leftover.processes == (orphan.pid,)
        assert reclaim([leftover]) == []
        assert orphan.wait(timeout=10) == -signal.SIGKILL
        assert not dead.exists()
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


def test_lab_clean_needs_root_and_says_so(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Without root `rejuv lab clean` fails at once with exit 2, saying why, and removes nothing."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["lab", "clean"]) == 2
    assert capsys.readouterr().err.startswith("error: rejuv lab clean: needs root")


# --- a real SIGKILL mid-run -------------------------------------------------------------------------------------


def _lab(test: Callable[..., None]) -> Callable[..., None]:
    """Mark ``test`` as a real-QEMU test that runs only as root with QEMU installed."""
    test = pytest.mark.skipif(os.geteuid() != 0, reason="rejuv lab needs root")(test)
    test = pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed")(
        test
    )
    return pytest.mark.lab(test)


def _rejuv(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rejuv", *argv], capture_output=True, text=True, timeout=120)


def _leftovers_of(pid: int) -> list[Path]:
    """The namespaces and run directories named for ``pid``."""
    return sorted(Path("/run/netns").glob(f"{NAMESPACE_PREFIX}{pid}-*")) + sorted(
        Path("/dev/shm").glob(f"{RUN_DIRECTORY_PREFIX}{pid}-*")
    )


@pytest.fixture
def killed_run(tmp_path: Path) -> Iterator[int]:
    """The pid of a `rejuv lab run` (2 VMs under TCG) SIGKILLed while its VMs serve; its leftovers checked."""
    argv = [sys.executable, "-m", "rejuv", "lab", "run", "--procedure", "warm", "--vms", "2", "--rate", "2"]
    argv += [
        "--before",
        "60s",
        "--after",
        "5s",
        "--files",
        "20",
        "--accel",
        "tcg",
        "--out",
        str(tmp_path / "run.trace"),
    ]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stderr or ():
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 120
        while not any("replies/s per VM" in line for line in seen):  # booted, and the load has run 5 s
            seen.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
            assert seen[-1], f"the run ended early: {''.join(seen)}"
        children = processes.children(process.pid)
        assert sum("qemu-system" in command for command in children.values()) == 2, children
        process.kill()
        assert process.wait(timeout=30) == -signal.SIGKILL
        deadline = time.monotonic() + 10  # QEMU and the client die with it (PR_SET_PDEATHSIG)
        while (alive := [pid for pid, command in children.items() if processes.running(pid, command)]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)
        assert alive == [], {pid: children[pid] for pid in alive}
        [namespace, run_dir] = _leftovers_of(process.pid)  # what a SIGKILL leaves
        assert namespace.parent == Path("/run/netns") and run_dir.parent == Path("/dev/shm")
        assert {p.name for p in run_dir.glob("*.mem")} == {"vm0.mem", "vm1.mem"}
        yield process.pid
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for leftover in _leftovers_of(process.pid):  # whatever the test did, leave nothing of it
            if leftover.parent == Path("/run/netns"):
                subprocess.run(["ip", "netns", "del", leftover.name], check=False)
            else:
                shutil.rmtree(leftover, ignore_errors=True)


@_lab
def test_lab_clean_reclaims_a_killed_run_and_leaves_live_ones(killed_run: int) -> None:
    """After a SIGKILL, `lab clean` lists and removes its namespace, run dir and memory; a live run's stay."""
    with run_directory() as live_dir, Host(1) as live_host:  # a live run's resources: this test process's own
        (live_dir / "vm0.mem").write_bytes(b"\1" * 4096)
        listed = _rejuv("lab", "clean", "--dry-run")
        assert listed.returncode == 0, listed.stderr
        assert f"would remove network namespace {NAMESPACE_PREFIX}{killed_run}-" in listed.stdout
        assert f"would remove run directory /dev/shm/{RUN_DIRECTORY_PREFIX}{killed_run}-" in listed.stdout
        assert f"leaving run directory {live_dir}" in listed.stdout
        assert f"leaving network namespace {live_host.namespace}: in use by pid {os.getpid()}" in listed.stdout
        assert len(_leftovers_of(killed_run)) == 2  # a dry run removes nothing
        cleaned = _rejuv("lab", "clean")
        assert cleaned.returncode == 0, cleaned.stderr
        killed_lines = [line for line in cleaned.stdout.splitlines() if f"owner pid {killed_run} is gone" in line]
        assert len(killed_lines) == 2
        assert any("vm0.mem" in line and "vm1.mem" in line for line in killed_lines)
        assert "reclaimed" in cleaned.stdout.splitlines()[-1]
        assert _leftovers_of(killed_run) == []
        assert (live_dir / "vm0.mem").read_bytes() == b"\1" * 4096
        assert live_host.exists()


@_lab
def test_the_next_lab_run_reclaims_a_killed_runs_leftovers_with_a_warning(killed_run: int, tmp_path: Path) -> None:
    """`lab run` first sweeps what killed runs left, and warns on stderr naming each thing it removed."""
    done = _rejuv("lab", "run", "--memory", str(2**40), "--out", str(tmp_path / "second.trace"))
    assert done.returncode == 2  # refused (the guests do not fit) just after the sweep: nothing booted
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings[0].startswith("warning: reclaimed what killed runs left")
    assert sum(f"owner pid {killed_run} is gone" in line for line in warnings) == 2
    assert done.stderr.splitlines()[-1].startswith("error: --memory: ")
    assert _leftovers_of(killed_run) == []
    assert not (tmp_path / "second.trace").exists()
