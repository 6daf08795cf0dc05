"""rejuv.report: the paper's figures, drawn from the model, and their numbers.

Functions here return :class:`matplotlib.figure.Figure` objects (Agg, no
pyplot state) and plain data; only the writers touch files, atomically.
Start with :func:`write_reproduction` (Figures 1, 2 and 7 into a folder) or
:func:`write_phase_map`; :func:`read_results` and :func:`build_report` turn
rejuv's result files into one self-contained HTML page.

This package imports matplotlib; :mod:`rejuv.model` never imports it.
"""

from __future__ import annotations

from rejuv.report.figure7 import Figure7Data, figure7_data, plot_figure7
from rejuv.report.html import build_report, write_report
from rejuv.report.migration_plot import plot_migration_trace
from rejuv.report.output import write_csv, write_figure, write_json
from rejuv.report.phase_map import axis_unit, phase_map_table, plot_phase_map
from rejuv.report.reproduction import write_figure7, write_phase_map, write_reproduction, write_timelines
from rejuv.report.results import Image, ReportError, Result, Table, read_result, read_results
from rejuv.report.sim_figures import plot_sim_figure7, plot_sim_timeline
from rejuv.report.style import STYLES, StrategyStyle, strategy_style
from rejuv.report.sweep_plot import SWEEP_HEADER, plot_sweep, sweep_table
from rejuv.report.timelines import FIGURE1, FIGURE2, Schematic, TimelineData, plot_timelines, timeline_data
from rejuv.report.trace_plot import plot_trace

__all__ = [
    # writing the paper's figures
    "write_reproduction",
    "write_phase_map",
    "write_figure7",
    "write_timelines",
    # figures and their data
    "figure7_data",
    "plot_figure7",
    "Figure7Data",
    "timeline_data",
    "plot_timelines",
    "TimelineData",
    "Schematic",
    "FIGURE1",
    "FIGURE2",
    "plot_phase_map",
    "phase_map_table",
    "axis_unit",
    "plot_trace",
    "plot_migration_trace",
    # the simulator's figures and sweeps
    "plot_sim_timeline",
    "plot_sim_figure7",
    "plot_sweep",
    "sweep_table",
    "SWEEP_HEADER",
    # a page a person reads
    "read_results",
    "read_result",
    "build_report",
    "write_report",
    "Result",
    "Table",
    "Image",
    "ReportError",
    # atomic writers
    "write_figure",
    "write_csv",
    "write_json",
    # one look for every figure
    "STYLES",
    "StrategyStyle",
    "strategy_style",
]
