"""A measured throughput trace: fixed-step series per VM and for the host, markers, metadata.

Sample k of every series is the throughput (req/s) over
``[k * step, (k + 1) * step)`` seconds from the start of the run; NaN marks a
missing sample. The host series is the sum of the VM series unless the
source measured it separately (an operator's load balancer, say).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import TraceError
from rejuv.limits import check_memory
from rejuv.trace.markers import Marker
from rejuv.trace.outages import Outage

__all__ = ["Trace", "check_trace_memory", "trace_memory"]

Array = NDArray[np.float64]

# Peak bytes of reading a trace and fitting it, per sample: 8 bytes times these factors.
# Measured with tracemalloc on 200,000 to 400,000 samples of 1 to 8 VMs (rejuv fit's path):
# reading holds the table and the Trace's copy (2.2 words per series); segmentation's working
# arrays (prefix sums, window means, change point) add about 11 words per sample whatever the
# VMs, and an OS event's sum over the other VMs one more per series. Rounded up for a margin.
_WORDS_PER_SERIES = 3.0
_WORDS_PER_SAMPLE = 16.0
# Drawing (rejuv plot-trace): matplotlib's paths add about 4 words per drawn series and 8 per
# sample (measured the same way: 12.4 words per sample for 1 VM, 24.4 for 4).
_DRAWN_WORDS_PER_SERIES = 4.0
_DRAWN_WORDS_PER_SAMPLE = 8.0


def trace_memory(samples: float, series: int, drawn: bool = False) -> float:
    """Bytes that reading and fitting (``drawn``: and drawing) a trace of ``samples`` × ``series`` take at most."""
    words = _WORDS_PER_SERIES * series + _WORDS_PER_SAMPLE
    if drawn:
        words += _DRAWN_WORDS_PER_SERIES * (series + 1) + _DRAWN_WORDS_PER_SAMPLE
    return 8.0 * samples * words


def check_trace_memory(what: str, samples: float, series: int, remedy: str, drawn: bool = False) -> None:
    """Refuse a trace whose :func:`trace_memory` is over the limit, before it is allocated.

    Raises :class:`~rejuv.errors.ResourceLimitError` naming ``what`` with ``remedy``.
    """
    check_memory(what, trace_memory(samples, series, drawn), remedy)


@dataclass(frozen=True, eq=False)
class Trace:
    """Throughput over time of one host and its VMs during a run.

    Raises :class:`~rejuv.errors.TraceError` naming ``source`` and the field
    for shapes that do not match, a step that is not positive, negative
    throughput, a marker time that is NaN, infinite or negative, a marker
    for an unknown VM, or an outage of an unknown VM or with times out of order.
    Markers are sorted by time, outages by VM and time.
    """

    step: float  #: seconds between samples
    vm_names: tuple[str, ...]
    vm_throughput: Array  #: shape (samples, VMs), req/s, NaN = missing
    host: Array | None = None  #: shape (samples,), req/s; None: the sum over the VMs
    markers: tuple[Marker, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: str = "trace"  #: where it came from, for messages
    #: each VM's gaps in successful replies, where the client recorded every request (:mod:`rejuv.trace.outages`)
    outages: tuple[Outage, ...] = ()

    def __post_init__(self) -> None:
        values = np.array(self.vm_throughput, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, np.newaxis]
        if values.ndim != 2 or values.shape[1] != len(self.vm_names):
            raise TraceError(
                self.source,
                f"vm_throughput must have one column per VM ({len(self.vm_names)}), got shape {values.shape}",
            )
        if len(set(self.vm_names)) != len(self.vm_names):
            raise TraceError(self.source, f"VM names must be unique, got {list(self.vm_names)}")
        if not (np.isfinite(self.step) and self.step > 0):
            raise TraceError(self.source, f"step must be a positive number of seconds, got {self.step}")
        _check_throughput(self.source, "vm_throughput", values)
        values.flags.writeable = False
        object.__setattr__(self, "vm_throughput", values)
        if self.host is not None:
            host = np.array(self.host, dtype=np.float64).ravel()
            if host.shape != (values.shape[0],):
                raise TraceError(self.source, f"host must have {values.shape[0]} samples, got {host.shape[0]}")
            _check_throughput(self.source, "host", host)
            host.flags.writeable = False
            object.__setattr__(self, "host", host)
        for marker in self.markers:
            if not (math.isfinite(marker.time) and marker.time >= 0):
                raise TraceError(
                    self.source,
                    f"marker {marker.kind.value} at {marker.time:g} s: its time must be finite and >= 0 "
                    "(seconds from the first sample)",
                )
            if marker.subject is not None and marker.subject not in self.vm_names:
                raise TraceError(
                    self.source, f"marker {marker.kind.value} at {marker.time:g} s names unknown VM {marker.subject!r}"
                )
        for outage in self.outages:
            why = outage.problem()
            if why is None and outage.vm not in self.vm_names:
                why = f"names unknown VM {outage.vm!r}"
            if why is not None:
                raise TraceError(self.source, f"outage of {outage.vm} at {outage.start:g} s: {why}")
        object.__setattr__(self, "outages", tuple(sorted(self.outages, key=lambda o: (o.vm, o.start))))
        object.__setattr__(self, "markers", tuple(sorted(self.markers, key=lambda m: m.time)))
        object.__setattr__(self, "metadata", dict(self.metadata))

    @property
    def samples(self) -> int:
        return int(self.vm_throughput.shape[0])

    @property
    def duration(self) -> float:
        """Seconds covered by the trace."""
        return self.samples * self.step

    @property
    def times(self) -> Array:
        """Start of each sample, seconds from the start of the run."""
        return np.arange(self.samples, dtype=np.float64) * self.step

    @property
    def host_throughput(self) -> Array:
        """The host series: measured, or the sum over VMs (NaN where any VM is missing)."""
        if self.host is not None:
            return self.host
        total: Array = self.vm_throughput.sum(axis=1)
        return total

    def vm(self, name: str) -> Array:
        """The series of one VM; raise :class:`TraceError` for an unknown name."""
        try:
            return self.vm_throughput[:, self.vm_names.index(name)]
        except ValueError:
            raise TraceError(self.source, f"no VM named {name!r}; VMs: {', '.join(self.vm_names)}") from None


def _check_throughput(source: str, name: str, values: Array) -> None:
    finite = values[np.isfinite(values)]
    if np.isinf(values).any():
        raise TraceError(source, f"{name}: throughput must be finite or NaN (missing), found infinity")
    if (finite < 0).any():
        row = int(np.argwhere(values < 0)[0][0])
        raise TraceError(source, f"{name}: throughput must be >= 0, got {values[values < 0][0]:g} at sample {row}")
