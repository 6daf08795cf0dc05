"""Drawing a migration trace: every VM's move shaded, throughput on both hosts, as in the paper's Figures 5 and 6.

The top panel shows the source host's total (the VMs not yet moved, each
until its switch-over) and the destination's (the VMs already moved); the
bottom one each VM's series. Each done move is shaded from its start to its
end, with its switch-over as a dashed line; a cancelled move is hatched; an
``evacuation-started`` marker is a dash-dot line with its note. Colours are
the Okabe-Ito palette (:mod:`rejuv.report.style`); legends sit outside the
data. Spans and lines carry a ``gid`` (``move``, ``cancelled-move``,
``switch-over``, ``source``, ``destination``) so that tests can count them.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from numpy.typing import NDArray

from rejuv.errors import TraceError
from rejuv.report.style import MIGRATION_COLORS
from rejuv.report.trace_plot import OUTSIDE, draw_vms
from rejuv.trace.data import Trace
from rejuv.trace.moves import EVACUATION_STARTED, Move, find_moves, moved_mask

__all__ = ["plot_migration_trace"]

_SOURCE, _DESTINATION = MIGRATION_COLORS["source"], MIGRATION_COLORS["destination"]
_MOVE, _SWITCH, _CANCELLED = MIGRATION_COLORS["move"], MIGRATION_COLORS["switch-over"], MIGRATION_COLORS["cancelled"]


def _shade(axes: Axes, move: Move, label: bool, alternate: bool) -> None:
    if move.cancelled:
        axes.axvspan(
            move.start, move.end, facecolor="none", edgecolor=_CANCELLED, hatch="///", lw=0, gid="cancelled-move"
        )
        return
    # Moves follow one another: alternate shades tell neighbours apart.
    axes.axvspan(move.start, move.end, color=_MOVE, alpha=0.18 if alternate else 0.35, lw=0, gid="move")
    axes.axvline(move.switch, color=_SWITCH, lw=0.9, ls="--", gid="switch-over")
    if label:
        axes.annotate(
            move.subject,
            xy=(move.start, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(1, -2),
            textcoords="offset points",
            va="top",
            fontsize=6,
            rotation=90,
        )


def _host_totals(trace: Trace, moves: list[Move]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per sample: the total of the VMs not yet moved, and of those moved (NaN where one of them is missing)."""
    moved = moved_mask(trace, moves)
    values = trace.vm_throughput
    source = np.where(moved, 0.0, values).sum(axis=1)
    destination = np.where(moved, values, 0.0).sum(axis=1)
    return source, destination


def plot_migration_trace(trace: Trace, max_vms: int = 12) -> Figure:
    """The figure of a migration trace; time in seconds, throughput in req/s.

    Raises :class:`~rejuv.errors.TraceError` for a trace without moves, or with
    malformed migration markers (:func:`rejuv.trace.moves.find_moves`).
    """
    moves = find_moves(trace)
    if not moves:
        raise TraceError(trace.source, "has no migration-started markers: no move to draw")
    figure = Figure(figsize=(9.0, 5.5), layout="constrained")
    host_axes, vm_axes = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    source, destination = _host_totals(trace, moves)
    host_axes.plot(trace.times, source, color=_SOURCE, lw=1.2, label="source host\n(VMs not yet moved)", gid="source")
    host_axes.plot(
        trace.times,
        destination,
        color=_DESTINATION,
        lw=1.2,
        ls="--",
        label="destination host\n(VMs moved)",
        gid="destination",
    )
    for index, move in enumerate(moves):
        _shade(host_axes, move, label=len(moves) <= 24, alternate=index % 2 == 1)
        _shade(vm_axes, move, label=False, alternate=index % 2 == 1)
    for marker in trace.markers:
        if marker.kind.value == EVACUATION_STARTED:
            for axes in (host_axes, vm_axes):
                axes.axvline(marker.time, color="black", lw=0.8, ls="-.")
            host_axes.annotate(marker.note, xy=(marker.time, 0.0), xycoords=("data", "axes fraction"), fontsize=7)
    draw_vms(vm_axes, trace, max_vms)
    host_axes.set_ylabel("host throughput (req/s)")
    host_axes.set_ylim(bottom=0)
    handles = [
        *host_axes.get_lines()[:2],
        Patch(color=_MOVE, alpha=0.3, label="a VM moving"),
        Line2D([], [], color=_SWITCH, lw=0.9, ls="--", label="switch-over"),
    ]
    if any(move.cancelled for move in moves):
        handles.append(Patch(facecolor="none", edgecolor=_CANCELLED, hatch="///", label="cancelled move"))
    host_axes.legend(handles=handles, fontsize=8, **OUTSIDE)
    title = trace.metadata.get("title") or trace.source
    host_axes.set_title(str(title), fontsize=10)
    return figure
