"""Outages: when a VM served no request, known to the request, not to the sampling step.

A client that records every request knows each VM's outages exactly: from the
end of the last successful reply before a gap to the end of the first one
after it. The lab stores them in the trace (:attr:`~rejuv.trace.data.Trace.outages`),
and ``rejuv fit`` measures an event's downtime from them instead of counting
samples, so a 0.3 s warm reboot reads 0.3 s at any step, not 0 s at 1 s.

Which outage belongs to an event: for each VM it concerns, the longest one
that ends after the event opens and starts before it closes (its closing
marker, the next event or the end of the trace); a reply that came late just
before the event is a short gap, not the event's. A host-wide event (warm, cold) is
down while every VM is: from the latest of their starts to the earliest of
their ends; an OS rejuvenation is down for its own VM's outage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Outage", "event_outage"]


@dataclass(frozen=True)
class Outage:
    """A gap in one VM's successful replies: ``start`` and ``end`` in seconds from the trace's first sample."""

    vm: str
    start: float  #: s: the end of the last successful reply before the gap
    end: float  #: s: the end of the first successful reply after it

    @property
    def length(self) -> float:
        """Seconds without a successful reply."""
        return self.end - self.start

    def problem(self) -> str | None:
        """What makes this outage invalid (a time that is not finite, negative or reversed), or None."""
        if not (math.isfinite(self.start) and math.isfinite(self.end) and 0 <= self.start <= self.end):
            return f"start and end must be finite seconds with 0 <= start <= end, got {self.start:g} and {self.end:g}"
        return None


def event_outage(outages: Sequence[Outage], vms: Sequence[str], opens: float, closes: float) -> Outage | None:
    """The span during which every VM of ``vms`` was out, for the event open from ``opens`` to ``closes`` s.

    Each VM's outage is the longest that ends after ``opens`` and starts before
    ``closes``. None if a VM has no such outage (the trace does not record
    one: fall back to the samples); a span of length 0, from the latest
    start, if the VMs were never all out at once.
    """
    chosen = []
    for vm in vms:
        mine = [o for o in outages if o.vm == vm and o.end > opens and o.start < closes]
        if not mine:
            return None
        chosen.append(max(mine, key=lambda outage: outage.length))
    start = max(outage.start for outage in chosen)
    end = max(start, min(outage.end for outage in chosen))
    return Outage(vms[0] if len(vms) == 1 else "", start, end)
