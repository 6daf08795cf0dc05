"""rejuv.trace: model parameters from measured throughput.

A :class:`Trace` holds fixed-step throughput per VM and per host, event
markers and run metadata, stored in a versioned ``.trace`` file
(:mod:`rejuv.trace.store`). :mod:`rejuv.trace.segment` finds each event's
baseline, downtime, degraded period and degradation rate;
:mod:`rejuv.trace.synth` makes realistic synthetic traces from model
parameters, for round-trip tests and for drawing the paper's Figures 3 to 6.
"""

from __future__ import annotations

from rejuv.trace.data import Trace
from rejuv.trace.markers import EVENT_STARTS, Marker, MarkerKind
from rejuv.trace.segment import Estimate, Segment, Settings, detect_events, segment_event
from rejuv.trace.store import FORMAT_VERSION, read_trace, write_trace
from rejuv.trace.synth import Event, Migration, event_from_parameters, synthesize

__all__ = [
    # the data
    "Trace",
    "Marker",
    "MarkerKind",
    "EVENT_STARTS",
    "read_trace",
    "write_trace",
    "FORMAT_VERSION",
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
]
