"""Errors of the lab: each names what failed and why, ready for ``error: <what>: <why>``::

RejuvError
 +-- LabError              anything the lab reports on purpose
      +-- ImageError       the guest image cannot be built (names the step or tool)
      +-- VMError          a VM step failed (names the VM and the step); the step was rolled back
      |    +-- QEMUDiedError    its QEMU process ended while the step ran
      +-- HostError        the network namespace, bridge or taps cannot be set up
"""

from __future__ import annotations

from rejuv.errors import RejuvError

__all__ = ["LabError", "ImageError", "VMError", "QEMUDiedError", "HostError"]


class LabError(RejuvError):
    """Base class of the lab's errors."""


class ImageError(LabError):
    """The guest image cannot be built; ``what`` names the step or the missing tool."""


class VMError(LabError):
    """A VM step failed; ``what`` names the VM and the step. The step has been rolled back."""


class QEMUDiedError(VMError):
    """The VM's QEMU process ended while a step ran (killed, or crashed)."""


class HostError(LabError):
    """The host's network namespace, bridge or tap devices cannot be set up."""
