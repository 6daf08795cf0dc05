"""What a killed run left: find the namespaces and run directories whose owner is gone, and remove them.

A SIGKILL of a run skips every cleanup (:mod:`rejuv.lab.cleanup`): its
network namespace stays, and so does its run directory in ``/dev/shm`` with
the guests' memory files (tmpfs, so RAM). QEMU and the load client die with
their parent (``PR_SET_PDEATHSIG``); any process that somehow still runs in a
stale namespace, or names a stale run directory on its command line, is
killed first, since it would otherwise keep the namespace and the memory
alive. :func:`find_leftovers` lists every lab resource with its owner
(:mod:`rejuv.lab.owner`); :func:`reclaim` removes the stale ones. A resource
whose owner runs is never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rejuv.lab.cleanup import shared_memory_root
from rejuv.lab.owner import NAMESPACE_PREFIX, RUN_DIRECTORY_PREFIX, Owner, process_start

__all__ = ["Leftover", "find_leftovers", "reclaim", "NETNS_ROOT"]

NETNS_ROOT = Path("/run/netns")  #: where ``ip netns`` keeps named namespaces
_PROC = Path("/proc")
_NAMESPACE = "network namespace"
_RUN_DIRECTORY = "run directory"


@dataclass(frozen=True)
class Leftover:
    """A lab resource found on the machine: a network namespace or a run directory, and whose it is."""

    kind: str  #: ``"network namespace"`` or ``"run directory"``
    path: Path  #: ``/run/netns/<name>``, or the run directory
    owner: Owner
    stale: bool  #: its owner is gone: nothing will ever remove it but :func:`reclaim`
    size: int = 0  #: bytes the run directory holds in memory (tmpfs blocks), 0 for a namespace
    memory_files: tuple[tuple[str, int], ...] = ()  #: (name, bytes) of the guests' memory files in it
    processes: tuple[int, ...] = ()  #: orphans still inside the namespace or using the run directory

    def describe(self) -> str:
        """One line: what it is, what it holds, and whose it is."""
        line = f"{self.kind} {self.path.name if self.kind == _NAMESPACE else self.path}"
        if self.kind == _RUN_DIRECTORY:
            memory = ", ".join(f"{name} {_mb(size)}" for name, size in self.memory_files)
            line += f", {_mb(self.size)}" + (f" (memory files: {memory})" if memory else "")
        if self.processes:
            line += f", orphaned processes {', '.join(map(str, self.processes))}"
        return line + (f": owner pid {self.owner.pid} is gone" if self.stale else f": in use by pid {self.owner.pid}")


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _allocated(path: Path) -> int:
    """Bytes a file really holds (guest memory files are sparse)."""
    try:
        return path.lstat().st_blocks * 512
    except OSError:
        return 0


def _processes(proc: Path) -> list[tuple[int, tuple[int, int] | None, str]]:
    """Every other process: pid, its network namespace (device, inode), its command line."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        try:
            net = (entry / "ns" / "net").stat()
            namespace: tuple[int, int] | None = (net.st_dev, net.st_ino)
        except OSError:
            namespace = None
        found.append((int(entry.name), namespace, cmdline))
    return found


def find_leftovers(shm_root: Path | None = None, netns_root: Path = NETNS_ROOT, proc: Path = _PROC) -> list[Leftover]:
    """Every lab namespace and run directory on the machine, stale or not (the roots are for tests)."""
    processes = _processes(proc)
    found: list[Leftover] = []
    for path in sorted(netns_root.iterdir()) if netns_root.is_dir() else []:
        owner = Owner.from_name(path.name, NAMESPACE_PREFIX)
        if owner is None:
            continue
        stale = not owner.alive(proc)
        inside: tuple[int, ...] = ()
        if stale:
            try:
                identity = (path.stat().st_dev, path.stat().st_ino)
                inside = tuple(pid for pid, namespace, _ in processes if namespace == identity)
            except OSError:
                pass
        found.append(Leftover(_NAMESPACE, path, owner, stale, processes=inside))
    root = shm_root if shm_root is not None else shared_memory_root()
    for path in sorted(root.glob(f"{RUN_DIRECTORY_PREFIX}*")):
        owner = Owner.from_name(path.name, RUN_DIRECTORY_PREFIX)
        if owner is None or not path.is_dir() or path.is_symlink():
            continue
        stale = not owner.alive(proc)
        files = sorted(p for p in path.rglob("*") if p.is_file())
        memory = tuple((p.name, _allocated(p)) for p in files if p.suffix == ".mem")
        users = tuple(pid for pid, _, cmdline in processes if stale and f"{path}/" in cmdline)
        found.append(Leftover(_RUN_DIRECTORY, path, owner, stale, sum(map(_allocated, files)), memory, users))
    return found


def _kill(pids: Iterable[int], proc: Path, timeout: float = 5.0) -> list[int]:
    """SIGKILL ``pids`` and wait until they are gone; return those still there."""
    started = {pid: process_start(pid, proc) for pid in pids}
    for pid, start in started.items():
        if start is not None:
            with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while True:  # the same process (pid and start time) still there: not gone yet
        left = [pid for pid, start in started.items() if start is not None and process_start(pid, proc) == start]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def reclaim(leftovers: Sequence[Leftover], proc: Path = _PROC) -> list[str]:
    """Remove the stale ones of ``leftovers`` (orphans first); return what could not be removed, and why."""
    stale = [leftover for leftover in leftovers if leftover.stale]
    failed = [
        f"process {pid}: still running after SIGKILL" for pid in _kill({p for s in stale for p in s.processes}, proc)
    ]
    for leftover in stale:
        if leftover.kind == _NAMESPACE:
            done = subprocess.run(
                ["ip", "netns", "del", leftover.path.name], capture_output=True, text=True, check=False
            )
            if done.returncode != 0 and leftover.path.exists():
                failed.append(f"{leftover.describe()}: {done.stderr.strip() or f'exit status {done.returncode}'}")
        else:
            try:
                shutil.rmtree(leftover.path)
            except FileNotFoundError:
                pass  # removed meanwhile: what was wanted
            except OSError as err:
                failed.append(f"{leftover.kind} {leftover.path}: {err.strerror or err}")
    return failed
