"""Drawing a throughput trace with what segmentation found, as in the paper's Figures 3 to 6.

The top panel is the host's throughput, the bottom one each VM's. Each event's
baseline window, downtime and degraded period are shaded and labelled with
the measured values; markers are drawn as thin vertical lines. Each VM has
its own look (:func:`~rejuv.report.style.series_look`: colour-blind-safe
colours, then line styles), and the legends sit outside the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rejuv.report.style import series_look
from rejuv.trace.data import Trace
from rejuv.trace.events import Measured
from rejuv.trace.markers import MarkerKind

__all__ = ["plot_trace", "draw_vms", "OUTSIDE"]

_SHADES = {"baseline": "#dddddd", "down": "#D55E00", "degraded": "#E69F00"}  # grey, then Okabe-Ito vermillion, orange
#: Legends sit right of the axes, off the data.
OUTSIDE: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0}


def _shade(axes: Axes, measured: Measured, step: float, baseline_window: float) -> None:
    segment = measured.segment
    start = segment.start
    down_end = start + measured.downtime.value
    if measured.kind == "os":  # the others' degradation starts with the event
        degraded = (start, start + segment.degraded_period.value)
    else:
        degraded = (down_end, down_end + segment.degraded_period.value)
    axes.axvspan(max(0.0, start - baseline_window), start, color=_SHADES["baseline"], alpha=0.5, lw=0)
    axes.axvspan(start, down_end, color=_SHADES["down"], alpha=0.25, lw=0)
    axes.axvspan(*degraded, color=_SHADES["degraded"], alpha=0.25, lw=0)
    label = (
        f"{measured.kind}: down {measured.downtime.value:.0f} s\n"
        f"degraded {segment.degraded_period.value:.0f} s at {100 * segment.degradation.value:.0f}% loss"
    )
    axes.annotate(
        label,
        xy=(start, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(4, -4),
        textcoords="offset points",
        va="top",
        fontsize=8,
    )


def draw_vms(axes: Axes, trace: Trace, max_vms: int) -> None:
    """The lower panel: each of the first ``max_vms`` VMs' series in its own look, the legend outside."""
    shown = trace.vm_names[:max_vms]
    for index, name in enumerate(shown):
        color, linestyle = series_look(index)
        axes.plot(trace.times, trace.vm(name), lw=0.8, color=color, ls=linestyle, label=name)
    if len(trace.vm_names) > max_vms:
        axes.set_title(f"first {max_vms} of {len(trace.vm_names)} VMs", fontsize=8, loc="right")
    axes.set_ylabel("per-VM (req/s)")
    axes.set_xlabel("time since the start of the trace (s)")
    axes.set_ylim(bottom=0)
    if shown:
        axes.legend(ncol=1 if len(shown) <= 6 else 2, fontsize=7, handlelength=2.5, **OUTSIDE)


def plot_trace(
    trace: Trace, measured: Sequence[Measured] = (), baseline_window: float = 30.0, max_vms: int = 12
) -> Figure:
    """The figure: host throughput (top) and per-VM throughput (bottom), time in seconds."""
    figure = Figure(figsize=(9.0, 5.5), layout="constrained")
    host_axes, vm_axes = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    times = trace.times
    host_axes.plot(times, trace.host_throughput, color="black", lw=1.0, label="host")
    for item in measured:
        _shade(host_axes, item, trace.step, baseline_window)
    draw_vms(vm_axes, trace, max_vms)
    for marker in trace.markers:
        style = ":" if marker.kind in (MarkerKind.MIGRATION_STARTED, MarkerKind.MIGRATION_ENDED) else "--"
        for axes in (host_axes, vm_axes):
            axes.axvline(marker.time, color="grey", lw=0.6, ls=style)
    host_axes.set_ylabel("host throughput (req/s)")
    host_axes.set_ylim(bottom=0)
    handles = [
        host_axes.fill_between([], [], color=_SHADES[key], alpha=0.5, label=text)
        for key, text in (("baseline", "baseline window"), ("down", "downtime"), ("degraded", "degraded period"))
    ]
    if measured:
        host_axes.legend(handles=handles, fontsize=8, **OUTSIDE)
    title = trace.metadata.get("title") or trace.source
    host_axes.set_title(str(title), fontsize=10)
    return figure
