"""When each rejuvenation happens: the schedule behind the paper's Figures 1 and 2.

One host and one of its VMs are followed over ``periods`` VMM rejuvenation
intervals. Period k is ``[k T_vmm, (k + 1) T_vmm)`` and starts with the VMM
rejuvenation: its downtime D, then its degraded period R. Each OS
rejuvenation is a downtime D_os followed by a degraded period R_os.

Warm-VM Reboot only suspends the OS, so the OS keeps its own rejuvenation
clock. That clock runs whenever the VMM is up and stops during the VMM's
downtime; it advances T_vmm - D_w per period, which is where the paper's
unfloored N_w = (T_vmm - D_w) / T_os comes from. An OS rejuvenation is due
at every multiple of T_os on that clock (the clock reads 0 at time 0). One
that is under way when a warm reboot starts is frozen with the OS and goes
on afterwards, so its downtime can come in two pieces.

Cold-VM Reboot reboots every OS too, which restarts the OS's timer when the
cold reboot's downtime ends, at k T_vmm + D_c. OS rejuvenations then come
T_os, 2 T_os, ... later: ⌊N_c⌋ = ⌊(T_vmm - D_c) / T_os⌋ of them per period,
and none when T_vmm <= T_os. If the last one would still be running at the
next cold reboot, that reboot cuts it short (the model still counts it
whole).

Any reboot strategy (:class:`~rejuv.model.RebootStrategy`) has a timeline:
its own downtime and degraded period, and the OS schedule of its
:class:`~rejuv.model.OsRule` (PAUSED as warm, RESET as cold).

Every rejuvenation keeps to its own track: VMM intervals never overlap each
other, OS intervals never overlap each other, and no OS interval overlaps a
VMM downtime. Degraded periods on the two tracks may overlap: the model adds
their losses as if they did not.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass

from rejuv.errors import ParameterError
from rejuv.model.parameters import Parameters, ScalarParameters
from rejuv.model.strategies import STRATEGIES, OsRule, RebootStrategy, strategy

__all__ = ["Interval", "IntervalKind", "Timeline", "rejuvenation_timeline", "timeline_strategies"]


def timeline_strategies() -> tuple[str, ...]:
    """The strategies a timeline can be drawn for: the reboots (no spare host, no migration)."""
    return tuple(key for key, item in STRATEGIES.items() if isinstance(item, RebootStrategy))


class IntervalKind(enum.Enum):
    """What a host or VM is doing during an interval of a timeline."""

    VMM_DOWNTIME = "VMM downtime"
    VMM_DEGRADED = "VMM degraded period"
    OS_DOWNTIME = "OS downtime"
    OS_DEGRADED = "OS degraded period"

    @property
    def is_downtime(self) -> bool:
        return self in (IntervalKind.VMM_DOWNTIME, IntervalKind.OS_DOWNTIME)

    @property
    def is_vmm(self) -> bool:
        return self in (IntervalKind.VMM_DOWNTIME, IntervalKind.VMM_DEGRADED)


@dataclass(frozen=True)
class Interval:
    """``kind`` from ``start`` to ``end`` (seconds since the start of the timeline, end excluded)."""

    kind: IntervalKind
    start: float
    end: float

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class Timeline:
    """The rejuvenations of one host and one of its VMs over ``periods`` VMM intervals.

    Times are in seconds from the first VMM rejuvenation; ``intervals`` holds
    only intervals of positive length, sorted by start time.
    """

    strategy: str  #: the key of a reboot strategy ("warm", "cold")
    vmm_interval: float  #: T_vmm, s
    os_interval: float  #: T_os, s
    periods: int
    intervals: tuple[Interval, ...]
    os_rejuvenations: tuple[float, ...]  #: when each OS rejuvenation starts, s
    os_timer_resets: tuple[float, ...]  #: when a cold reboot restarts the OS's timer, s (none for warm)

    @property
    def horizon(self) -> float:
        """periods T_vmm: the end of the timeline, s."""
        return self.periods * self.vmm_interval

    @property
    def vmm_rejuvenations(self) -> tuple[float, ...]:
        """When each VMM rejuvenation starts: k T_vmm, s."""
        return tuple(k * self.vmm_interval for k in range(self.periods))

    def of(self, kind: IntervalKind) -> tuple[Interval, ...]:
        """The intervals of one kind, in time order."""
        return tuple(item for item in self.intervals if item.kind is kind)

    def total(self, kind: IntervalKind) -> float:
        """Total time spent in intervals of ``kind``, s."""
        return math.fsum(item.duration for item in self.of(kind))

    @property
    def downtime(self) -> float:
        """Total downtime, VMM and OS, s."""
        return self.total(IntervalKind.VMM_DOWNTIME) + self.total(IntervalKind.OS_DOWNTIME)


def _paused_os(point: ScalarParameters, downtime: float, periods: int) -> Iterator[tuple[float, list[Interval]]]:
    """OS rejuvenations on the OS's own clock, which stops while the VMM is down (warm)."""
    vmm, every = point.vmm_interval, point.os_interval
    os_down, os_degraded = point.os_downtime, point.os_degraded_period
    up = vmm - downtime  # clock time per period
    end_of_clock = periods * up

    def wall(clock: float, k: int) -> float:
        # Clock time clock in period k; the end of a period's up time is exactly the next reboot.
        return (k + 1) * vmm if clock == (k + 1) * up else k * vmm + downtime + (clock - k * up)

    def pieces(kind: IntervalKind, start: float, stop: float) -> Iterator[Interval]:
        stop = min(stop, end_of_clock)
        k = int(start // up)
        while start < stop:
            piece_end = min(stop, (k + 1) * up)
            if start < piece_end:
                yield Interval(kind, wall(start, k), wall(piece_end, k))
            start, k = piece_end, k + 1

    i = 1
    while i * every < end_of_clock:
        due = i * every
        found = [
            *pieces(IntervalKind.OS_DOWNTIME, due, due + os_down),
            *pieces(IntervalKind.OS_DEGRADED, due + os_down, due + os_down + os_degraded),
        ]
        yield wall(due, int(due // up)), found
        i += 1


def _reset_os(point: ScalarParameters, downtime: float, periods: int) -> Iterator[tuple[float, list[Interval]]]:
    """OS rejuvenations T_os, 2 T_os, ... after each reboot that resets them (cold), as long as they start by the next."""
    vmm, every = point.vmm_interval, point.os_interval
    os_down, os_degraded = point.os_downtime, point.os_degraded_period
    if vmm <= every:  # the paper: no OS rejuvenation at all, even where D_c = 0 and T_vmm = T_os
        return
    for k in range(periods):
        next_reboot = (k + 1) * vmm
        j = 1
        while downtime + j * every <= vmm:
            start = k * vmm + downtime + j * every
            found = [
                Interval(IntervalKind.OS_DOWNTIME, start, min(start + os_down, next_reboot)),
                Interval(IntervalKind.OS_DEGRADED, start + os_down, min(start + os_down + os_degraded, next_reboot)),
            ]
            yield start, found
            j += 1


def rejuvenation_timeline(params: Parameters, key: str, periods: int) -> Timeline:
    """The VMM and OS rejuvenations of one host over ``periods`` VMM intervals (see the module docstring).

    ``key`` names a reboot strategy (:func:`timeline_strategies`: ``"warm"``,
    ``"cold"``). Raises :class:`~rejuv.errors.ParameterError` for another
    strategy, for ``periods`` below 1, or for a grid of parameters rather
    than one set.
    """
    item = strategy(key)
    if not isinstance(item, RebootStrategy):
        raise ParameterError(f"strategy {key!r}", f"a timeline is drawn for one of {', '.join(timeline_strategies())}")
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise ParameterError("periods", f"must be a whole number >= 1, got {periods!r}")
    point = params.scalar("a timeline")
    vmm = point.vmm_interval
    terms = item.terms(point)
    downtime, degraded = terms.downtime, terms.degraded_period
    intervals: list[Interval] = []
    for k in range(periods):
        start = k * vmm
        intervals.append(Interval(IntervalKind.VMM_DOWNTIME, start, start + downtime))
        intervals.append(Interval(IntervalKind.VMM_DEGRADED, start + downtime, start + downtime + degraded))
    reset = item.os_rule is OsRule.RESET
    schedule = (_reset_os if reset else _paused_os)(point, downtime, periods)
    starts = []
    for start, found in schedule:
        starts.append(start)
        intervals.extend(found)
    resets = tuple(k * vmm + downtime for k in range(periods)) if reset else ()
    return Timeline(
        strategy=item.key,
        vmm_interval=vmm,
        os_interval=point.os_interval,
        periods=periods,
        intervals=tuple(sorted((item for item in intervals if item.duration > 0), key=lambda item: item.start)),
        os_rejuvenations=tuple(starts),
        os_timer_resets=resets,
    )
