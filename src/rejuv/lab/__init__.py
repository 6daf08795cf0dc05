"""rejuv.lab: Warm-VM Reboot, Cold-VM Reboot and OS rejuvenation measured on real QEMU VMs.

A guest image (:mod:`~rejuv.lab.image`) boots in VMs (:mod:`~rejuv.lab.vm`, a
state machine over a :class:`~rejuv.lab.transport.Transport` that runs the QEMU
command line of :mod:`~rejuv.lab.cmdline`) on a host, a network namespace (:mod:`~rejuv.lab.host`); an open-loop client
(:mod:`~rejuv.lab.load`) loads them while a procedure
(:mod:`~rejuv.lab.procedures`) rejuvenates them, and :func:`run_experiment`
turns it all into a :class:`~rejuv.trace.data.Trace`. See docs/lab.md.
"""

from __future__ import annotations

from rejuv.lab.cmdline import qemu_argv
from rejuv.lab.errors import HostError, ImageError, LabError, QEMUDiedError, VMError
from rejuv.lab.experiment import Experiment, ExperimentResult, run_experiment
from rejuv.lab.host import Host
from rejuv.lab.image import GuestImage, ImageRecipe, build_image, cache_dir
from rejuv.lab.load import ClientReport, LoadClient, Request, reply_gap, throughput
from rejuv.lab.procedures import PROCEDURES, ProcedureReport
from rejuv.lab.transport import ProcessTransport, Transport
from rejuv.lab.vm import VM, GuestStatus, VMConfig, VMState

__all__ = [
    # a run
    "Experiment",
    "ExperimentResult",
    "run_experiment",
    "PROCEDURES",
    "ProcedureReport",
    # parts
    "ImageRecipe",
    "GuestImage",
    "build_image",
    "cache_dir",
    "Host",
    "VM",
    "VMConfig",
    "VMState",
    "GuestStatus",
    "Transport",
    "ProcessTransport",
    "qemu_argv",
    "LoadClient",
    "Request",
    "ClientReport",
    "throughput",
    "reply_gap",
    # errors
    "LabError",
    "ImageError",
    "VMError",
    "QEMUDiedError",
    "HostError",
]
