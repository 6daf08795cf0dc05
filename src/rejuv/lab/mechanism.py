"""Which Warm-VM Reboot mechanism a QEMU offers, and which one a run uses.

Three ways to restart QEMU under a guest whose RAM stays in place (docs/lab.md):

- ``cpr-transfer`` (QEMU >= 10.0): a new QEMU starts beside the old one and
  waits on a UNIX socket; the old one's ``migrate`` hands it the guest RAM as
  file descriptors and then the device state, so the guest pauses only for the
  device state. Needs ``share=on`` RAM and ``-machine aux-ram-share=on``.
- ``cpr-reboot`` (QEMU >= 8.2): the device state goes to a ``file:`` with
  ``x-ignore-shared``; the old QEMU quits, a new one loads it (``-incoming defer``).
- ``ignore-shared`` (any QEMU since 2.12): the same by hand, the state through ``exec:cat``.

``auto`` takes the first that the installed QEMU has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rejuv.lab.errors import LabError

__all__ = ["MECHANISMS", "WARM_MECHANISMS", "Mechanism", "choose_mechanism", "parse_qemu_version"]

#: Best first.
WARM_MECHANISMS = ("cpr-transfer", "cpr-reboot", "ignore-shared")
MECHANISMS = ("auto", *WARM_MECHANISMS)
_SINCE = {"cpr-transfer": (10, 0), "cpr-reboot": (8, 2), "ignore-shared": (2, 12)}


@dataclass(frozen=True)
class Mechanism:
    """The mechanism chosen and why."""

    name: str
    reason: str


def parse_qemu_version(line: str) -> tuple[int, int] | None:
    """(major, minor) from ``QEMU emulator version 10.0.2 (...)``; None if the line says no version."""
    found = re.search(r"version (\d+)\.(\d+)", line)
    return (int(found.group(1)), int(found.group(2))) if found else None


def choose_mechanism(requested: str, qemu: str) -> Mechanism:
    """The mechanism for ``requested`` (one of :data:`MECHANISMS`) on the QEMU whose ``--version`` line is ``qemu``.

    Raises :class:`LabError` (``mechanism``) for an unknown name, or one this QEMU does not have.
    """
    if requested not in MECHANISMS:
        raise LabError("mechanism", f"must be one of {', '.join(MECHANISMS)}, got {requested!r}")
    version = parse_qemu_version(qemu)
    if version is None:
        if requested == "auto":
            return Mechanism("ignore-shared", f"QEMU version unknown ({qemu!r}): the oldest mechanism")
        return Mechanism(requested, f"forced; QEMU version unknown ({qemu!r})")
    shown = f"{version[0]}.{version[1]}"
    if requested == "auto":
        best = next(name for name in WARM_MECHANISMS if version >= _SINCE[name])
        return Mechanism(best, f"the best this QEMU {shown} has")
    if version < _SINCE[requested]:
        since = ".".join(map(str, _SINCE[requested]))
        raise LabError("mechanism", f"{requested} needs QEMU >= {since}, this one is {shown}")
    return Mechanism(requested, f"forced (QEMU {shown})")
