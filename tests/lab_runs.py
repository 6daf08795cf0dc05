"""Shared by the real-QEMU lab tests: what a run may leave behind, and a run checked to leave nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from rejuv.lab.cleanup import CLEANUP
from rejuv.lab.experiment import Experiment, ExperimentResult, run_experiment
from rejuv.lab.image import GuestImage
from rejuv.lab.vm import FaultHook


def leftovers() -> set[str]:
    """Everything a run may leave: run directories, namespaces, QEMU and load processes of ours."""
    found = {f"dir {p}" for p in Path("/dev/shm").glob(f"rejuv-lab-{os.getpid()}-*")}
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    found |= {f"netns {line.split()[0]}" for line in netns.splitlines() if line.startswith(f"rejuv-{os.getpid()}-")}
    children = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(os.getpid())], capture_output=True, text=True)
    found |= {f"process {line.strip()}" for line in children.stdout.splitlines() if "qemu" in line or "loadgen" in line}
    return found | {f"registered {what}" for what in CLEANUP.pending()}


def run_leaving_nothing(
    experiment: Experiment,
    image: GuestImage,
    progress: Callable[[str], None] = lambda _: None,
    faults: dict[int, FaultHook] | None = None,
) -> ExperimentResult:
    """``experiment`` run on ``image``; however it ends, assert that it left nothing of its own behind."""
    before = leftovers()
    try:
        return asyncio.run(run_experiment(experiment, image, progress, faults=faults))
    finally:
        assert leftovers() - before == set(), "the run left something behind"
