"""The moves of a migration trace: each VM's start, switch-over and end, grouped by evacuation.

A migration trace is not segmented like a reboot (a fall and a recovery of
the host series): its events are the per-VM ``migration-*`` markers. A move
opens at ``migration-started`` and closes at ``migration-ended`` (done) or
``migration-cancelled`` (the VM stayed on the source); a move still open when
the trace ends is cancelled too. ``migration-switched-over`` marks the guest
leaving the source (stop-and-copy: the start of the copy; live: the end of
pre-copy); per-round markers (``migration-round``) are read by no fit and
ignored here.

An *evacuation* is one host emptied onto its spare. A multi-host run writes a
host-wide marker of kind ``evacuation-started`` (note ``"hostA -> hostB"``)
before each host's first move; each such marker opens an evacuation holding
the moves up to the next one. A trace without them is one evacuation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import TraceError
from rejuv.model import STRATEGIES, MigrationStrategy
from rejuv.trace.data import Trace
from rejuv.trace.markers import MarkerKind

__all__ = ["Move", "Evacuation", "has_moves", "recorded_migration", "find_moves", "evacuations", "moved_mask"]

#: The kind value that splits a trace into evacuations (compared by value: traces from newer labs carry it too).
EVACUATION_STARTED = "evacuation-started"


@dataclass(frozen=True)
class Move:
    """One VM's move, times in seconds from the start of the trace."""

    subject: str
    start: float
    end: float  #: migration-ended, or when it was cancelled (the trace's end if it never closed)
    switched_over: float | None = None  #: the guest left the source; None: not marked
    cancelled: bool = False
    note: str = ""  #: why it was cancelled

    @property
    def switch(self) -> float:
        """When the VM counts as on the destination: its switch-over, else its end."""
        return self.end if self.switched_over is None else self.switched_over


@dataclass(frozen=True)
class Evacuation:
    """The moves of one host onto its spare, in order of start."""

    number: int  #: 1, 2, ... in the trace
    note: str  #: the marker's note (``"hostA -> hostB"``); empty for a trace without evacuation markers
    moves: tuple[Move, ...]

    @property
    def done(self) -> tuple[Move, ...]:
        """The moves that completed, in order: the rows i = 1, 2, ... of Table 1."""
        return tuple(move for move in self.moves if not move.cancelled)

    @property
    def cancelled(self) -> tuple[Move, ...]:
        return tuple(move for move in self.moves if move.cancelled)

    @property
    def name(self) -> str:
        """How messages name it: ``evacuation 2 (hostB -> hostC)``, or ``the migration`` when it is the only one."""
        return f"evacuation {self.number}" + (f" ({self.note})" if self.note else "")


def has_moves(trace: Trace) -> bool:
    """Whether ``trace`` holds any ``migration-started`` marker."""
    return any(marker.kind is MarkerKind.MIGRATION_STARTED for marker in trace.markers)


def recorded_migration(trace: Trace) -> str | None:
    """The migration strategy's key the run recorded (the lab's ``experiment_procedure``), or None if it says none."""
    key = trace.metadata.get("experiment_procedure")
    return str(key) if isinstance(STRATEGIES.get(str(key)), MigrationStrategy) else None


def find_moves(trace: Trace) -> list[Move]:
    """Every move of ``trace``, done or cancelled, by start time.

    Raises :class:`TraceError` naming the trace for a migration marker without
    a VM, an end or switch-over for a VM that is not moving, or a VM that
    starts moving twice at once.
    """
    open_moves: dict[str, dict[str, float | None]] = {}
    moves: list[Move] = []
    for marker in trace.markers:
        if marker.kind not in _MOVE_KINDS:
            continue
        name, at = marker.subject, f"{marker.kind.value} at {marker.time:g} s"
        if name is None:
            raise TraceError(trace.source, f"the {at} names no VM")
        if marker.kind is MarkerKind.MIGRATION_STARTED:
            if name in open_moves:
                raise TraceError(trace.source, f"{at} for {name!r}, whose previous move has not ended")
            open_moves[name] = {"start": marker.time, "switch": None}
            continue
        if name not in open_moves:
            raise TraceError(trace.source, f"{at} for {name!r}, which is not moving")
        if marker.kind is MarkerKind.MIGRATION_SWITCHED_OVER:
            open_moves[name]["switch"] = marker.time
            continue
        times = open_moves.pop(name)
        start, switch = float(times["start"] or 0.0), times["switch"]
        if marker.kind is MarkerKind.MIGRATION_ENDED:
            moves.append(Move(name, start, marker.time, switch))
        else:
            moves.append(Move(name, start, marker.time, None, cancelled=True, note=marker.note or "cancelled"))
    for name, times in open_moves.items():
        note = "never ended: the trace stops during the move"
        moves.append(Move(name, float(times["start"] or 0.0), trace.duration, None, cancelled=True, note=note))
    return sorted(moves, key=lambda move: move.start)


_MOVE_KINDS = (
    MarkerKind.MIGRATION_STARTED,
    MarkerKind.MIGRATION_SWITCHED_OVER,
    MarkerKind.MIGRATION_ENDED,
    MarkerKind.MIGRATION_CANCELLED,
)


def evacuations(trace: Trace) -> list[Evacuation]:
    """The moves of ``trace`` split at each ``evacuation-started`` marker (one evacuation without them).

    Moves before the first such marker form an evacuation of their own; an
    evacuation without moves is left out. Raises :class:`TraceError` if the
    trace has no ``migration-started`` marker.
    """
    moves = find_moves(trace)
    if not moves:
        raise TraceError(trace.source, "has no migration-started/migration-ended markers")
    openings = [(m.time, m.note) for m in trace.markers if m.kind.value == EVACUATION_STARTED]
    bounds = [(-np.inf, ""), *openings] if not openings or moves[0].start < openings[0][0] else openings
    found: list[Evacuation] = []
    for index, (since, note) in enumerate(bounds):
        until = bounds[index + 1][0] if index + 1 < len(bounds) else np.inf
        inside = tuple(move for move in moves if since <= move.start < until)
        if inside:
            found.append(Evacuation(len(found) + 1, note, inside))
    return found


def moved_mask(trace: Trace, moves: list[Move]) -> NDArray[np.bool_]:
    """Shape (samples, VMs): True where the VM has left the host it waits on, i.e. after its last done move.

    A sample counts as moved once its start is at or after the move's switch-over.
    In a one-evacuation trace this is "on the destination host"; a VM with no
    done move stays False throughout.
    """
    mask = np.zeros(trace.vm_throughput.shape, dtype=np.bool_)
    last: dict[str, float] = {}
    for move in moves:
        if not move.cancelled:
            last[move.subject] = move.switch
    for name, when in last.items():
        mask[:, trace.vm_names.index(name)] = trace.times >= when
    return mask
