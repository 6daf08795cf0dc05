"""The real runner of a study: each procedure on real QEMU VMs, as ``rejuv lab run`` runs it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rejuv.lab.cleanup import CLEANUP
from rejuv.lab.errors import LabError
from rejuv.lab.experiment import Experiment, check_room, run_experiment
from rejuv.lab.image import GuestImage
from rejuv.signals import cancelled_on_sigterm
from rejuv.trace.data import Trace

__all__ = ["lab_runner"]


def lab_runner(image: GuestImage, progress: Callable[[str], None]) -> Callable[[Experiment], Trace]:
    """A :data:`~rejuv.study.run.Runner` on ``image``; SIGTERM interrupts a run as Ctrl-C does.

    On an interruption every VM, namespace and run directory is removed before
    KeyboardInterrupt goes on (a failed removal is a :class:`LabError`).
    """

    def run(experiment: Experiment) -> Trace:
        check_room(experiment)
        try:
            result = asyncio.run(cancelled_on_sigterm(run_experiment(experiment, image, progress=progress)))
        except KeyboardInterrupt:
            failed = CLEANUP.run_all()
            if failed:
                raise LabError("cleanup after the interruption", "; ".join(failed)) from None
            progress(f"interrupted: no VM, namespace or run directory left; no {experiment.procedure} trace written")
            raise
        return result.trace

    return run
