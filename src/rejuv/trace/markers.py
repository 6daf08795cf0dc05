"""Event markers: what happened, when, and to whom, during a measured run.

A marker's ``kind`` is one of :class:`MarkerKind`; its ``subject`` is the VM it
concerns, or None for the whole host. Procedures write them in pairs (started /
ended), and segmentation uses them where a trace has them: which pair opens and
closes which kind of event is declared by each strategy
(:func:`rejuv.trace.events.event_markers`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["MarkerKind", "Marker"]


class MarkerKind(enum.Enum):
    """Every marker a trace may hold; the value is how it is written in files."""

    # Warm-VM Reboot
    SUSPEND_STARTED = "suspend-started"
    ALL_SUSPENDED = "all-suspended"
    VMM_RESTARTED = "vmm-restarted"
    ALL_RESUMED = "all-resumed"
    # Cold-VM Reboot
    SHUTDOWN_STARTED = "shutdown-started"
    ALL_STOPPED = "all-stopped"
    ALL_BOOTED = "all-booted"
    # OS rejuvenation of one VM
    OS_REBOOT_STARTED = "os-reboot-started"
    OS_REBOOT_ENDED = "os-reboot-ended"
    # migration of one VM
    MIGRATION_STARTED = "migration-started"
    MIGRATION_SWITCHED_OVER = "migration-switched-over"
    MIGRATION_ENDED = "migration-ended"
    MIGRATION_CANCELLED = "migration-cancelled"
    MIGRATION_ROUND = "migration-round"  #: one pre-copy round of the subject VM (rate control); the note gives its rate
    # multi-host runs: one host emptied onto the spare, then rejuvenated
    EVACUATION_STARTED = "evacuation-started"  #: host-wide, before the host's first move; note "hostA -> hostB"
    HOST_REJUVENATED = "host-rejuvenated"  #: host-wide, after the emptied host's VMM was restarted
    # load
    LOAD_STARTED = "load-started"
    LOAD_ENDED = "load-ended"

    @classmethod
    def parse(cls, text: str) -> MarkerKind:
        """The kind written as ``text``; raise ValueError listing the known kinds."""
        try:
            return cls(text)
        except ValueError:
            known = ", ".join(kind.value for kind in cls)
            raise ValueError(f"unknown marker {text!r}; known markers: {known}") from None


@dataclass(frozen=True)
class Marker:
    """One event at ``time`` seconds from the start of the trace."""

    time: float
    kind: MarkerKind
    subject: str | None = None  #: the VM it concerns; None: the host
    note: str = ""
