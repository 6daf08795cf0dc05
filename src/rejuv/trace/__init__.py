"""rejuv.trace: model parameters from measured throughput.

A :class:`Trace` holds fixed-step throughput per VM and per host, event
markers and run metadata, stored in a versioned ``.trace`` file
(:mod:`rejuv.trace.store`). :mod:`rejuv.trace.segment` finds each event's
baseline, downtime, degraded period and degradation rate;
:mod:`rejuv.trace.synth` makes realistic synthetic traces from model
parameters, for round-trip tests and for drawing the paper's Figures 3 to 6.

Start with :func:`read_any` (a ``.trace``, CSV or Prometheus file), then
:func:`measure` and :func:`combine` for downtimes, degraded periods and
degradation rates, or :func:`fit_migration` for Table 1 and γ; write what was
found with :func:`write_parameter_file`.
"""

from __future__ import annotations

from rejuv.trace.curve_fit import POOR_FIT, CurveFit, fit_curve
from rejuv.trace.data import Trace
from rejuv.trace.events import OS_SYMBOLS, Measured, combine, event_kinds, event_markers, find_events, measure
from rejuv.trace.markers import Marker, MarkerKind
from rejuv.trace.migration_fit import MigrationFit, fit_migration, migration_parameters, migration_table
from rejuv.trace.params_file import parameter_file_text, write_parameter_file
from rejuv.trace.readers import read_any, read_csv, read_markers_csv, read_prometheus
from rejuv.trace.segment import Estimate, Segment, Settings, detect_events, segment_event
from rejuv.trace.store import FORMAT_VERSION, read_trace, write_trace
from rejuv.trace.synth import Event, Migration, event_from_parameters, synthesize

__all__ = [
    # the data
    "Trace",
    "Marker",
    "MarkerKind",
    "read_trace",
    "write_trace",
    "FORMAT_VERSION",
    "read_any",
    "read_csv",
    "read_prometheus",
    "read_markers_csv",
    # parameters from events
    "measure",
    "combine",
    "find_events",
    "Measured",
    "event_kinds",
    "event_markers",
    "OS_SYMBOLS",
    # segmentation
    "segment_event",
    "detect_events",
    "Segment",
    "Estimate",
    "Settings",
    # synthetic traces
    "synthesize",
    "Event",
    "Migration",
    "event_from_parameters",
    # Table 1 from migrations
    "fit_migration",
    "migration_parameters",
    "migration_table",
    "MigrationFit",
    "fit_curve",
    "CurveFit",
    "POOR_FIT",
    # output
    "write_parameter_file",
    "parameter_file_text",
]
