"""The study's figures from the user's own traces: the paper's Figures 3 to 6, and Figure 7 from the fit."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rejuv.errors import RejuvError
from rejuv.model import STRATEGIES, MigrationStrategy
from rejuv.report import plot_migration_trace, plot_trace, write_figure
from rejuv.trace.data import Trace
from rejuv.trace.events import Measured

__all__ = ["PAPER_FIGURES", "figure_name", "write_trace_figures"]

#: The paper's figure of each procedure's throughput (figures/traces.py draws them from the preset).
PAPER_FIGURES = {
    "warm": ("figure3-warm", "Figure 3 (warm)"),
    "cold": ("figure3-cold", "Figure 3 (cold)"),
    "os": ("figure4-os", "Figure 4"),
    "migration": ("figure5-stop-and-copy", "Figure 5 (stop-and-copy)"),
    "live": ("figure5-live", "Figure 5 (live)"),
    "live_rate_control": ("figure6-live-rate-control", "Figure 6"),
}


def figure_name(procedure: str) -> tuple[str, str]:
    """The file stem and caption of ``procedure``'s figure (a procedure the paper did not draw gets its own)."""
    return PAPER_FIGURES.get(procedure, (f"trace-{procedure}", f"{procedure} (not in the paper)"))


def write_trace_figures(
    out: Path, traces: Mapping[str, Trace], events: Mapping[str, list[Measured]], baseline_window: float
) -> tuple[dict[str, str], list[str]]:
    """Draw each trace into ``out``: the files by procedure, and notes on any that could not be drawn."""
    written: dict[str, str] = {}
    notes: list[str] = []
    for procedure, trace in traces.items():
        stem, _ = figure_name(procedure)
        try:
            if isinstance(STRATEGIES.get(procedure), MigrationStrategy):
                figure = plot_migration_trace(trace)
            else:
                figure = plot_trace(trace, events.get(procedure, ()), baseline_window)
        except RejuvError as err:
            notes.append(f"{procedure}: its figure could not be drawn ({err})")
            continue
        write_figure(figure, out / f"{stem}.png")
        written[procedure] = f"{stem}.png"
    return written, notes
