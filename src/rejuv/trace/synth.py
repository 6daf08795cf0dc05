"""Synthetic traces: realistic throughput curves from model parameters, with a seed.

Each VM serves the offered load (req/s) until an event. An :class:`Event`
takes the affected VMs down for ``downtime`` seconds, then serves them at
``1 - degradation`` of the load for ``degraded_period`` seconds. A
:class:`Migration` moves VMs one by one with Table 1's V_s(i), V_m(i),
V_d(i) and M(i). Samples are the mean rate over windows whose edges jitter
by up to ``jitter`` of a step, plus Gaussian noise of ``noise`` times the
load, and never negative: what a monitoring system sees.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import ParameterError
from rejuv.limits import check_memory
from rejuv.model import STRATEGIES, MigrationProfile, Parameters, RebootStrategy
from rejuv.trace.data import Trace
from rejuv.trace.events import event_kinds, event_markers
from rejuv.trace.markers import Marker, MarkerKind

__all__ = ["Event", "Migration", "synthesize", "event_from_parameters", "synthesis_memory"]

Array = NDArray[np.float64]

# Peak bytes of synthesize, measured with tracemalloc at 200,000 samples: 8.1 words per sample
# for 1 VM and 37 for 8 (each VM's edges, jitter, window means and noise, then the stacked
# table and the Trace's copy), so about 4.2 words per sample and VM plus 4 per sample; rounded
# up, with a few KiB per VM for its breakpoints.
_WORDS_PER_SAMPLE_AND_VM = 5.0
_WORDS_PER_SAMPLE = 5.0
_BYTES_PER_VM = 4096.0


def synthesis_memory(samples: float, vms: int) -> float:
    """Bytes that :func:`synthesize` takes at its peak for ``samples`` samples of ``vms`` VMs."""
    return 8.0 * samples * (_WORDS_PER_SAMPLE_AND_VM * vms + _WORDS_PER_SAMPLE) + _BYTES_PER_VM * vms


@dataclass(frozen=True)
class Event:
    """A rejuvenation at ``start`` s.

    Host-wide (``subject`` None: a warm or cold reboot): every VM is down for
    ``downtime`` s, then serves ``1 - degradation`` of its load for
    ``degraded_period`` s. An OS rejuvenation of VM ``subject``: that VM is
    down for ``downtime`` s, and each of the others serves ``1 - degradation``
    of its load for ``degraded_period`` s from the start (the paper's Section 4:
    the others slow down while it reboots; R_os is that period summed over them).
    """

    kind: str  #: a reboot strategy's key ("warm", "cold") or "os"
    start: float
    downtime: float
    degradation: float
    degraded_period: float
    subject: int | None = None

    @property
    def length(self) -> float:
        """Seconds from ``start`` until every VM serves its whole load again."""
        if self.subject is None:
            return self.downtime + self.degraded_period
        return max(self.downtime, self.degraded_period)


@dataclass(frozen=True)
class Migration:
    """All VMs move, one by one from ``start`` s, following a Table 1 profile."""

    start: float
    profile: MigrationProfile


def event_from_parameters(params: Parameters, kind: str, start: float) -> Event:
    """The event the model's parameters describe, of a kind in :func:`~rejuv.trace.event_kinds` (``os``: on VM 0).

    An OS rejuvenation slows each of the other n - 1 VMs for R_os / (n - 1) s
    (D_os at the paper's R_os = (n - 1) D_os); with n = 1 there is no other VM.
    Raises :class:`~rejuv.errors.ParameterError` for another kind or a grid of parameters.
    """
    point = params.scalar("a synthetic trace")
    item = STRATEGIES.get(kind)
    if isinstance(item, RebootStrategy):
        terms = item.terms(point)
        return Event(kind, start, terms.downtime, terms.degradation, terms.degraded_period)
    if kind != "os":
        raise ParameterError("kind", f"expected one of {', '.join(event_kinds())}, got {kind!r}")
    others = point.vms_per_host - 1
    each = point.os_degraded_period / others if others > 0 else 0.0
    return Event(kind, start, point.os_downtime, point.os_degradation, each, subject=0)


def _rate_edges(
    events: Sequence[Event], migrations: Sequence[Migration], vms: int, load: float, duration: float, vms_per_host: int
) -> tuple[list[Array], list[Array], list[Marker]]:
    """Each VM's rate as a step function: breakpoints and the rate after each."""
    points: list[list[tuple[float, float]]] = [[(0.0, load)] for _ in range(vms)]
    markers: list[Marker] = []
    names = [f"vm{i}" for i in range(vms)]
    pairs = event_markers()
    for event in events:
        up = event.start + event.downtime
        slowed = load * (1 - event.degradation)
        for vm in range(vms):
            if event.subject is None:
                points[vm] += [(event.start, 0.0), (up, slowed), (up + event.degraded_period, load)]
            elif vm == event.subject:
                points[vm] += [(event.start, 0.0), (up, load)]
            else:
                points[vm] += [(event.start, slowed), (event.start + event.degraded_period, load)]
        subject = None if event.subject is None else names[event.subject]
        if event.kind in pairs:  # a kind without the lab's markers is found by detection
            opening, closing = pairs[event.kind]
            markers += [Marker(event.start, opening, subject), Marker(up, closing, subject)]
    for migration in migrations:
        table = migration.profile.table(vms_per_host)
        clock = migration.start
        for i in range(1, vms + 1):
            moving = i - 1  # VMs move in order: the i-th is vm(i-1)
            for vm in range(vms):
                if vm > moving:
                    rate = table["source_throughput"][i - 1]
                elif vm < moving:
                    rate = table["destination_throughput"][i - 1]
                else:
                    rate = table.get("moving_throughput", np.zeros(vms))[i - 1]
                points[vm].append((clock, float(rate)))
            markers.append(Marker(clock, MarkerKind.MIGRATION_STARTED, names[moving]))
            end = clock + float(table["move_time"][i - 1])
            # As the lab marks it: the guest leaves the source when stop-and-copy starts, or when live pre-copy ends.
            switch = end if migration.profile.is_live else clock
            markers.append(Marker(switch, MarkerKind.MIGRATION_SWITCHED_OVER, names[moving]))
            clock = end
            markers.append(Marker(clock, MarkerKind.MIGRATION_ENDED, names[moving]))
        for vm in range(vms):
            points[vm].append((clock, load))
    times, rates = [], []
    for vm_points in points:
        vm_points.sort(key=lambda point: point[0])
        times.append(np.array([t for t, _ in vm_points] + [duration]))
        rates.append(np.array([r for _, r in vm_points]))
    return times, rates, markers


def _window_means(times: Array, rates: Array, edges: Array) -> Array:
    """Mean of a step function over consecutive windows ``edges[k]..edges[k+1]``."""
    widths = np.diff(times)
    cumulative = np.concatenate(([0.0], np.cumsum(widths * rates)))

    def integral(t: Array) -> Array:
        where = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(rates) - 1)
        return cumulative[where] + (t - times[where]) * rates[where]

    area = integral(edges)
    result: Array = np.diff(area) / np.diff(edges)
    return result


def synthesize(
    duration: float,
    *,
    vms: int = 1,
    load: float = 50.0,
    step: float = 1.0,
    events: Sequence[Event] = (),
    migrations: Sequence[Migration] = (),
    noise: float = 0.05,
    jitter: float = 0.1,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Trace:
    """A trace of ``duration`` s with the given events; reproducible for a given ``seed``.

    ``load`` is the offered (and, when healthy, served) rate of each VM in req/s;
    ``noise`` is the standard deviation of the sample noise as a fraction of it.
    ``progress``, if given, is called with the number of VMs done after each one.

    Raises :class:`~rejuv.errors.ParameterError` naming a value out of range, and
    :class:`~rejuv.errors.ResourceLimitError` if the trace would need more memory
    than :func:`rejuv.limits.memory_limit` allows (checked before allocating it).
    """
    for name, value, low, high in (("noise", noise, 0.0, 1.0), ("jitter", jitter, 0.0, 0.5)):
        if not low <= value <= high:
            raise ParameterError(name, f"must be in [{low:g}, {high:g}], got {value:g}")
    for name, value in (("step", step), ("load", load)):
        if not (math.isfinite(value) and value > 0):
            raise ParameterError(name, f"must be a finite number > 0, got {value:g}")
    if not math.isfinite(duration) or duration < step:
        raise ParameterError("duration", f"must cover at least one step of {step:g} s, got {duration:g} s")
    if vms < 1:
        raise ParameterError("vms", f"must be >= 1, got {vms}")
    if seed < 0:
        raise ParameterError("seed", f"must be a whole number >= 0, got {seed}")
    samples = int(duration // step)
    check_memory(
        "synthetic trace",
        synthesis_memory(samples, vms),
        f"{samples:,} samples of {vms} VMs; use a coarser step, a shorter duration or fewer VMs",
    )
    rng = np.random.default_rng(seed)
    times, rates, markers = _rate_edges(events, migrations, vms, load, samples * step, vms_per_host=vms)
    edges = np.arange(samples + 1, dtype=np.float64) * step
    columns = []
    for vm in range(vms):
        shaken = edges + rng.uniform(-jitter, jitter, samples + 1) * step
        shaken[0], shaken[-1] = edges[0], edges[-1]
        mean = _window_means(times[vm], rates[vm], np.maximum.accumulate(shaken))
        jolt = rng.normal(0.0, noise * load, samples)
        columns.append(np.where(mean > 0, np.maximum(mean + jolt, 0.0), 0.0))  # a down VM serves exactly 0
        if progress is not None:
            progress(vm + 1)
    return Trace(
        step=step,
        vm_names=tuple(f"vm{i}" for i in range(vms)),
        vm_throughput=np.column_stack(columns),
        markers=tuple(markers),
        metadata={"generator": "rejuv synth", "seed": seed, "offered_load": load, "noise": noise, "jitter": jitter},
        source="synthetic trace",
    )
