"""From a trace to the model's parameters: segment each rejuvenation event and name what it measured.

Where a trace has markers, each ``suspend-started`` (warm), ``shutdown-started``
(cold) or ``os-reboot-started`` (OS) marker opens an event; without markers,
events are detected where throughput falls to near zero, and the caller says
what kind they are. What each kind measures (:func:`event_kinds`):

- a reboot strategy (:class:`~rejuv.model.RebootStrategy`): the host series
  gives the three symbols it declares (warm: D_w, ω and R_vmm; cold: D_c, ω'
  and R'_vmm);
- os: the rebooting VM's own series gives D_os, and the other VMs' total gives
  δ and their slowed period; R_os is that period summed over the other VMs,
  (n - 1) times it (the paper's Section 4: the others slow down while it
  reboots, and nothing slows after it at the paper's load).

Several events of one kind are combined: the mean, with the standard error
of the events' spread or of the estimates, whichever is larger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rejuv.errors import TraceError
from rejuv.model import STRATEGIES, RebootStrategy
from rejuv.trace.data import Trace
from rejuv.trace.markers import MarkerKind
from rejuv.trace.outages import event_outage
from rejuv.trace.segment import DEFAULT_SETTINGS, Estimate, Segment, Settings, baseline, detect_events, segment_event

__all__ = [
    "Measured",
    "OS_SYMBOLS",
    "event_kinds",
    "event_markers",
    "find_events",
    "measure",
    "combine",
    "configuration",
    "too_coarse",
]

#: What an OS rejuvenation's event measures: (downtime, degradation rate, degraded period).
OS_SYMBOLS = ("D_os", "delta", "R_os")


def event_kinds() -> dict[str, tuple[str, str, str]]:
    """Event kinds and the symbols of (downtime, degradation rate, degraded period) they measure.

    Every registered reboot strategy, by key, as it declares them, then ``os``.
    """
    kinds = {key: item.measured_symbols() for key, item in STRATEGIES.items() if isinstance(item, RebootStrategy)}
    return kinds | {"os": OS_SYMBOLS}


def event_markers() -> dict[str, tuple[MarkerKind, MarkerKind]]:
    """The markers that open and close each event kind in a measured trace.

    Every registered reboot strategy that declares them, by key, then ``os``.
    """
    pairs = {
        key: (MarkerKind.parse(item.markers[0]), MarkerKind.parse(item.markers[1]))
        for key, item in STRATEGIES.items()
        if isinstance(item, RebootStrategy) and item.markers is not None
    }
    return pairs | {"os": (MarkerKind.OS_REBOOT_STARTED, MarkerKind.OS_REBOOT_ENDED)}


@dataclass(frozen=True)
class Measured:
    """One event of one kind, segmented."""

    kind: str
    subject: str | None
    segment: Segment  #: the degraded series segmented: the host's, or for os the other VMs' total
    downtime: Estimate  #: s: from the (subject's) series, or its outage where the trace records one
    period: Estimate  #: s: the degraded period the model counts: the segment's, or for os summed over the other VMs


def find_events(trace: Trace, kind: str | None) -> list[tuple[str, float, str | None]]:
    """``(kind, start time, subject)`` of every event: from markers, or detected if there are none.

    Raises :class:`TraceError` when detection is needed but ``kind`` is not given, when a
    marker lies past the end of the trace, or when there is nothing to detect in.
    """
    opens = {start: event for event, (start, _) in event_markers().items()}
    marked = [(opens[m.kind], m.time, m.subject) for m in trace.markers if m.kind in opens]
    if marked:
        for what, time, _ in marked:
            if time >= trace.duration:
                raise TraceError(
                    trace.source,
                    f"the {what} event's marker at {time:g} s is past the end of the trace ({trace.duration:g} s)",
                )
        return [event for event in marked if kind is None or event[0] == kind]
    if kind is None:
        raise TraceError(trace.source, "has no event markers; say which kind of event it holds (--kind)")
    if kind == "os":
        raise TraceError(trace.source, "OS rejuvenations need os-reboot-started markers naming the VM")
    host = trace.host_throughput
    if not np.isfinite(host).any():
        raise TraceError(trace.source, "has no valid samples (every host sample is missing): nothing to detect")
    return [(kind, start * trace.step, None) for start in detect_events(host)]


def _closing(trace: Trace, kind: str, opens: float, subject: str | None, stop: int) -> float:
    """When the event of ``kind`` opened at ``opens`` s closed: its closing marker, else sample ``stop``."""
    closer = event_markers()[kind][1]
    times = [m.time for m in trace.markers if m.kind is closer and m.subject == subject and m.time >= opens]
    return min(times, default=stop * trace.step)


def _outage(
    trace: Trace, vms: Sequence[str], window: tuple[float, float], start: int, settings: Settings
) -> tuple[float, float, float] | None:
    """The downtime of the event open over ``window`` (s) from the trace's outages, and its uncertainty.

    The uncertainty is one VM's mean spacing between replies before the event (the host's over its VMs).
    None where the trace records no outage for it: the samples are read instead.
    """
    found = event_outage(trace.outages, vms, *window) if trace.outages else None
    if found is None:
        return None
    host = baseline(trace.host_throughput, start, trace.step, settings, trace.source).value
    return found.start, found.end, len(trace.vm_names) / host


def measure(trace: Trace, kind: str | None = None, settings: Settings = DEFAULT_SETTINGS) -> list[Measured]:
    """Segment every event of ``kind`` (None: every marked kind) in ``trace``.

    Where the trace records outages (:mod:`rejuv.trace.outages`), each event's downtime is read from them.
    """
    events = find_events(trace, kind)
    if not events:
        raise TraceError(trace.source, f"no {kind or 'rejuvenation'} events found")
    starts = [round(time / trace.step) for _, time, _ in events] + [trace.samples]
    found = []
    for (what, opens, subject), start, stop in zip(events, starts, starts[1:], strict=False):
        closes = _closing(trace, what, opens, subject, stop) if what in event_markers() else stop * trace.step
        if what == "os":
            if subject is None:
                raise TraceError(trace.source, f"the os-reboot-started marker at {start * trace.step:g} s names no VM")
            own = trace.vm(subject)
            others = trace.vm_throughput[:, [n != subject for n in trace.vm_names]].sum(axis=1)
            if trace.vm_throughput.shape[1] < 2:
                raise TraceError(
                    trace.source, "an OS rejuvenation's degradation is measured on the other VMs; this trace has one"
                )
            outage = _outage(trace, [subject], (opens, closes), start, settings)
            if outage is None:
                downtime = segment_event(own, start, stop, trace.step, settings, trace.source).downtime
            else:  # to the request; one VM's own series, binned finely, may be too sparse to segment
                downtime = Estimate(outage[1] - outage[0], outage[2], "s")
            segment = segment_event(others, start, stop, trace.step, settings, trace.source)
            slowed = trace.vm_throughput.shape[1] - 1  # every other VM slows for the segment's period
            each = segment.degraded_period
            period = Estimate(slowed * each.value, slowed * each.uncertainty, each.unit)
        else:
            host = trace.host_throughput
            outage = _outage(trace, trace.vm_names, (opens, closes), start, settings)
            segment = segment_event(host, start, stop, trace.step, settings, trace.source, outage)
            downtime, period = segment.downtime, segment.degraded_period
        found.append(Measured(what, subject, segment, downtime, period))
    return found


def configuration(
    trace: Trace, measured: Sequence[Measured], settings: Settings = DEFAULT_SETTINGS
) -> dict[str, Estimate]:
    """n and p of the measured host: the trace's VMs, and the host's throughput before its first event.

    Raises :class:`TraceError` if ``measured`` is empty or the baseline window before the first event is too short.
    """
    if not measured:
        raise TraceError(trace.source, "no event measured: nothing to read the host's throughput before")
    first = round(min(item.segment.start for item in measured) / trace.step)
    host = baseline(trace.host_throughput, first, trace.step, settings, trace.source)
    return {"n": Estimate(float(len(trace.vm_names)), 0.0, "VMs"), "p": host}


def too_coarse(measured: Sequence[Measured], step: float, settings: Settings = DEFAULT_SETTINGS) -> list[str]:
    """Notes on events the sampling step is too coarse to measure: a downtime or degraded period of 2 samples or fewer.

    Only at steps coarser than the recovery window (5 s by default): at 1 s, a short period is a measurement.
    Where an event of a few seconds falls between two samples, its edges are averaged into its neighbours, so
    its downtime can read 0 and its degradation rate is biased towards the edges' level.
    """
    if step <= settings.recovery_window:
        return []
    notes = []
    for item in measured:
        for what, estimate in (("downtime", item.downtime), ("degraded period", item.segment.degraded_period)):
            if estimate.value <= 2 * step:
                notes.append(
                    f"the {item.kind} event at {item.segment.start:g} s: its {what} ({estimate.value:g} s) spans "
                    f"2 samples or fewer at the {step:g} s step, too coarse to measure it or the rate over it; "
                    "sample more finely (a shorter --step and scrape interval)"
                )
    return notes


def _pool(estimates: Sequence[Estimate]) -> Estimate:
    values = np.array([e.value for e in estimates])
    errors = np.array([e.uncertainty for e in estimates])
    spread = float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
    reported = float(np.sqrt(np.sum(errors**2)) / len(values))
    return Estimate(float(values.mean()), max(spread, reported), estimates[0].unit)


def combine(measured: Sequence[Measured]) -> dict[str, Estimate]:
    """Parameter estimates by paper symbol, pooled over the events of each kind."""
    result: dict[str, Estimate] = {}
    for kind, (downtime, rate, period) in event_kinds().items():
        events = [m for m in measured if m.kind == kind]
        if not events:
            continue
        result[downtime] = _pool([m.downtime for m in events])
        result[rate] = _pool([m.segment.degradation for m in events])
        result[period] = _pool([m.period for m in events])
    return result
