"""The paper's Figures 1 and 2: timing diagrams of VMM and OS rejuvenation, warm against cold.

Figure 1 has T_vmm > T_os, Figure 2 T_vmm <= T_os. Each draws Warm-VM
Reboot above Cold-VM Reboot, with a VMM track and an OS track (one VM) on a
time axis in days. The intervals are schematic (:data:`FIGURE1`,
:data:`FIGURE2`) so that the point shows: with Warm-VM Reboot the OS keeps
its own rejuvenation timer; with Cold-VM Reboot every VMM reboot resets it.
Downtimes and degraded periods last seconds to minutes against days, so
each is drawn at least :data:`MIN_WIDTH` of the time axis wide, as the
caption says.
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MultipleLocator

from rejuv.model import OsRule, Parameters, RebootStrategy, format_duration, lookup, strategy
from rejuv.model.timeline import IntervalKind, Timeline, rejuvenation_timeline
from rejuv.report.style import INTERVAL_COLORS

__all__ = [
    "FIGURE1",
    "FIGURE2",
    "MIN_WIDTH",
    "Schematic",
    "TimelineData",
    "plot_timelines",
    "timeline_data",
]

DAY = 86400.0  #: seconds per day
MIN_WIDTH = 0.004  #: the narrowest a downtime or degraded period is drawn, as a fraction of the time axis
_TRACKS = {"VMM": 1.0, "OS": 0.0}  # y of each track
_BAR = 0.5  # bar height, in track units
#: The strategies the paper's Figures 1 and 2 set one above the other.
FIGURE_STRATEGIES = ("warm", "cold")


@dataclass(frozen=True)
class Schematic:
    """The rejuvenation intervals of one timing diagram; everything else is the parameters'."""

    name: str  #: file stem, ``figure1``
    title: str
    vmm_interval: float  #: T_vmm, s
    os_interval: float  #: T_os, s
    periods: int  #: VMM intervals drawn


#: Figure 1: T_vmm > T_os. Warm keeps 2.8 OS rejuvenations per T_vmm, cold ⌊N_c⌋ = 2.
FIGURE1 = Schematic("figure1", "Figure 1 (T_vmm > T_os)", 28 * DAY, 10 * DAY, 3)
#: Figure 2: T_vmm <= T_os. Warm still rejuvenates the OS every T_os; cold never does.
FIGURE2 = Schematic("figure2", "Figure 2 (T_vmm <= T_os)", 7 * DAY, 10 * DAY, 3)


@dataclass(frozen=True)
class TimelineData:
    """The warm and cold timelines of one timing diagram, with the model's OS counts."""

    schematic: Schematic
    params: Parameters  #: the parameters with the schematic's T_vmm and T_os
    timelines: dict[str, Timeline]  #: by strategy key, warm then cold

    def os_per_period(self, key: str) -> float:
        """N: OS rejuvenations per T_vmm in the model (N_w, or ⌊N_c⌋)."""
        return float(strategy(key).os_rejuvenations(self.params))

    def table(self) -> tuple[list[str], list[list[object]]]:
        """Every interval (and each OS timer reset, zero length) as a CSV table; times in seconds."""
        rows: list[list[object]] = []
        for key, timeline in self.timelines.items():
            events = [(item.start, item.end, item.kind.value) for item in timeline.intervals]
            events += [(time, time, "OS timer reset") for time in timeline.os_timer_resets]
            for start, end, kind in sorted(events):
                rows.append([key, kind, float(start), float(end)])
        return ["strategy", "kind", "start_s", "end_s"], rows


def timeline_data(params: Parameters, schematic: Schematic) -> TimelineData:
    """The warm and cold timelines of ``schematic`` with ``params``'s downtimes and degraded periods.

    Raises :class:`~rejuv.errors.ParameterError` if the schematic's intervals
    do not fit ``params`` (a downtime longer than T_vmm, say).
    """
    params = params.replace(vmm_interval=schematic.vmm_interval, os_interval=schematic.os_interval)
    timelines = {key: rejuvenation_timeline(params, key, schematic.periods) for key in FIGURE_STRATEGIES}
    return TimelineData(schematic, params, timelines)


def _min_width(timeline: Timeline) -> float:
    """The narrowest bar, days."""
    return MIN_WIDTH * timeline.horizon / DAY


def _draw_bars(axes: Axes, timeline: Timeline) -> None:
    """Each interval as a bar at least MIN_WIDTH wide; an interval that follows another at once follows its bar."""
    ends: dict[bool, tuple[float, float]] = {}  # per track: (true end, drawn end) of the last bar, days
    for item in timeline.intervals:
        track = item.kind.is_vmm
        start, end = item.start / DAY, item.end / DAY
        true_end, drawn_end = ends.get(track, (-1.0, -1.0))
        left = drawn_end if start == true_end else start
        width = max(end - start, _min_width(timeline))
        y = _TRACKS["VMM" if track else "OS"]
        axes.broken_barh([(left, width)], (y - _BAR / 2, _BAR), color=INTERVAL_COLORS[item.kind], lw=0)
        ends[track] = (end, left + width)


def _span(axes: Axes, start: float, end: float, y: float, text: str, style: str = "-") -> None:
    """A double-headed arrow from ``start`` to ``end`` (days) just above the OS track, labelled."""
    axes.annotate(
        "",
        xy=(end, y),
        xytext=(start, y),
        arrowprops={"arrowstyle": "<->", "lw": 0.8, "color": "#444444", "ls": style, "shrinkA": 0, "shrinkB": 0},
    )
    axes.text((start + end) / 2, y + 0.05, text, ha="center", va="bottom", fontsize=7.5, color="#444444")


def _annotate_os_timer(axes: Axes, timeline: Timeline) -> None:
    """T_os spans between the events that start the OS timer and the rejuvenations it triggers."""
    y = _TRACKS["OS"] + 0.42
    os_interval = timeline.os_interval / DAY
    if strategy(timeline.strategy).os_rule is not OsRule.RESET:
        previous = 0.0
        for start in timeline.os_rejuvenations:
            _span(axes, previous, start / DAY, y, "T_os")
            previous = start / DAY
        return
    ends = [*timeline.vmm_rejuvenations[1:], timeline.horizon]
    for reset, next_reboot in zip(timeline.os_timer_resets, ends, strict=True):
        reset_day = reset / DAY
        axes.plot([reset_day], [_TRACKS["OS"]], marker="v", ms=7, color="#0072B2", zorder=5)
        due = [t / DAY for t in timeline.os_rejuvenations if reset < t <= next_reboot]
        previous = reset_day
        for start in due:
            _span(axes, previous, start, y, "T_os")
            previous = start
        if previous + os_interval > next_reboot / DAY:  # the next reboot resets the timer first
            _span(axes, previous, next_reboot / DAY, y, "< T_os", style=":")
    if timeline.os_timer_resets:
        first = timeline.os_timer_resets[0] / DAY
        axes.annotate(
            "OS timer reset",
            xy=(first, _TRACKS["OS"]),
            xytext=(8, -14),
            textcoords="offset points",
            fontsize=7.5,
            color="#0072B2",
            va="top",
        )


def _draw_panel(axes: Axes, timeline: Timeline, data: TimelineData) -> None:
    key = timeline.strategy
    for start in timeline.vmm_rejuvenations:
        axes.axvline(start / DAY, color="#bbbbbb", lw=0.8, ls="--", zorder=0)
    _draw_bars(axes, timeline)
    _annotate_os_timer(axes, timeline)
    axes.set_yticks(list(_TRACKS.values()), ["VMM", "OS\n(one VM)"])
    axes.set_ylim(-0.55, 1.55)
    axes.set_xlim(-0.02 * timeline.horizon / DAY, timeline.horizon / DAY)
    axes.xaxis.set_major_locator(MultipleLocator(timeline.vmm_interval / DAY))
    axes.xaxis.set_minor_locator(MultipleLocator(1.0))
    count = len(timeline.os_rejuvenations)
    item = strategy(key)
    count_symbol = "N" + item.symbol.removeprefix("P")  # N_w for P_w
    if item.os_rule is OsRule.RESET:
        how = "every VMM reboot reboots the OS and resets its timer (▼)"
        model = f"⌊{count_symbol}⌋ = {data.os_per_period(key):.0f}"
    else:
        how = "the OS is only suspended; its timer keeps running (paused during the VMM downtime)"
        model = f"{count_symbol} = {data.os_per_period(key):.2f}"
    axes.set_title(
        f"{item.label}: {how}\n{count} OS rejuvenations in {timeline.periods} T_vmm ({model} per T_vmm)",
        fontsize=9,
        loc="left",
    )


def _caption(data: TimelineData) -> str:
    point = data.params.scalar("a timing diagram")
    symbols = []
    for key in data.timelines:
        item = strategy(key)
        if isinstance(item, RebootStrategy):
            symbols += [item.downtime_symbol, item.degraded_period_symbol]
    shown = ", ".join(
        f"{lookup(symbol).paper.removesuffix('(n)')} = {format_duration(point[symbol])}"
        for symbol in (*symbols, "D_os", "R_os")
    )
    return (
        f"Not to scale: downtimes and degraded periods last seconds to minutes ({shown}),\n"
        f"so each is drawn at least {_min_width(data.timelines['warm']):.2g} d wide. Dashed grey lines: VMM rejuvenations, every T_vmm. "
        "Arrows: the OS's rejuvenation timer."
    )


def plot_timelines(data: TimelineData) -> Figure:
    """The timing diagram: Warm-VM Reboot above Cold-VM Reboot, VMM and OS tracks, time in days."""
    schematic = data.schematic
    figure = Figure(figsize=(9.0, 6.2), layout="constrained")
    *panels, key = figure.subplots(len(data.timelines) + 1, 1, height_ratios=(1.0, 1.0, 0.32))
    for axes, timeline in zip(panels, data.timelines.values(), strict=True):
        _draw_panel(axes, timeline, data)
    panels[0].sharex(panels[1])
    panels[0].tick_params(labelbottom=False)
    panels[-1].set_xlabel("time (days)")
    key.set_axis_off()
    handles = [Patch(color=INTERVAL_COLORS[kind], label=kind.value) for kind in IntervalKind]
    key.legend(handles=handles, loc="upper center", ncols=4, fontsize=8, frameon=False)
    key.text(0.5, 0.0, _caption(data), fontsize=7.5, color="#444444", ha="center", va="bottom", transform=key.transAxes)
    figure.suptitle(
        f"{schematic.title}: T_vmm = {schematic.vmm_interval / DAY:g} d, T_os = {schematic.os_interval / DAY:g} d",
        fontsize=11,
    )
    return figure
