"""The paper's Figure 7: P / (m p) against the number of hosts m, for all five strategies.

Everything interesting happens within 10^-3 of 1 (Warm-VM Reboot at
0.99966, Cold-VM Reboot at 0.99956), while the strategies with a spare
host start at about 0.5 at m = 2. So the figure has two panels on the same
log axis of m: a large one zoomed on the top of the y range, where the
crossovers are marked, and a small one with the whole range for the shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import NDArray

from rejuv.model import STRATEGIES, Crossover, Parameters, crossovers, evaluate_all
from rejuv.report.style import strategy_style

__all__ = ["HOSTS_MAX", "HOSTS_MIN", "Figure7Data", "figure7_data", "plot_figure7", "zoom_range"]

HOSTS_MIN = 2  #: smallest cluster: every strategy applies from two hosts on
HOSTS_MAX = 10**6  #: largest cluster drawn
GRID_POINTS = 241  #: log-spaced host counts before rounding to whole numbers (40 per decade)
#: The main panel's y range around the limits: this many gaps below the lowest, above the highest
#: (the gap is the spread of the limits), rounded outward to the gap's decade.
ZOOM_BELOW, ZOOM_ABOVE = 6.0, 2.0
CLOSE = 0.05  #: crossovers nearer than this many decades of m get a magnified inset
DETAIL_POINTS = 61  #: host counts across the inset


@dataclass(frozen=True)
class Figure7Data:
    """The numbers behind Figure 7 for one parameter set."""

    hosts: NDArray[np.float64]  #: whole host counts m, log spaced from 2 to 10^6
    curves: Mapping[str, NDArray[np.float64]]  #: P / (m p) at each m, by strategy key
    limits: Mapping[str, float]  #: P / (m p) as m grows without bound, by strategy key
    crossovers: tuple[Crossover, ...]  #: as :func:`rejuv.model.crossovers` finds them
    #: whole host counts around crossovers too close to tell apart on the log axis (may be empty)
    detail_hosts: NDArray[np.float64]
    detail_curves: Mapping[str, NDArray[np.float64]]  #: P / (m p) at ``detail_hosts``, for the strategies involved

    def table(self) -> tuple[list[str], list[list[float]]]:
        """The curves as a CSV table: header ``m, <key>...`` and one row per host count."""
        keys = list(self.curves)
        rows = [[float(m), *(float(self.curves[key][i]) for key in keys)] for i, m in enumerate(self.hosts)]
        return ["m", *keys], rows

    def document(self) -> dict[str, Any]:
        """The crossovers and limits as a JSON-able dict (``hosts`` None: never)."""
        return {
            "crossovers": [
                {
                    "strategy": item.strategy,
                    "overtakes": item.overtakes,
                    "hosts": item.hosts,
                    "label": _sentence(item),
                }
                for item in self.crossovers
            ],
            "limits": {key: float(value) for key, value in self.limits.items()},
            "detail": {
                "hosts": [float(m) for m in self.detail_hosts],
                "curves": {key: [float(v) for v in values] for key, values in self.detail_curves.items()},
            },
        }

    @property
    def marked(self) -> tuple[Crossover, ...]:
        """The crossovers that happen within the host range drawn, by host count."""
        return _marked(self.crossovers, float(self.hosts[-1]))

    @property
    def close(self) -> tuple[Crossover, ...]:
        """The marked crossovers with another one within ``CLOSE`` decades: the inset's."""
        return _close(self.marked)


def _sentence(item: Crossover) -> str:
    """``"Live migration overtakes Cold-VM Reboot at m = 11,190"``, or ``"... never overtakes ..."``."""
    challenger, incumbent = STRATEGIES[item.strategy].label, STRATEGIES[item.overtakes].label
    if item.hosts is None:
        return f"{challenger} never overtakes {incumbent}"
    return f"{challenger} overtakes {incumbent} at m = {item.hosts:,}"


def _marked(found: Sequence[Crossover], top: float) -> tuple[Crossover, ...]:
    inside = [c for c in found if c.hosts is not None and HOSTS_MIN < c.hosts <= top]
    return tuple(sorted(inside, key=lambda c: (c.hosts or 0, c.strategy)))


def _close(marked: Sequence[Crossover]) -> tuple[Crossover, ...]:
    def near(a: Crossover, b: Crossover) -> bool:
        return a is not b and abs(np.log10((a.hosts or 1) / (b.hosts or 1))) < CLOSE

    return tuple(item for item in marked if any(near(item, other) for other in marked))


def host_grid(points: int = GRID_POINTS, top: int = HOSTS_MAX) -> NDArray[np.float64]:
    """Whole host counts from 2 to ``top``, log spaced, without repeats."""
    grid: NDArray[np.float64] = np.unique(np.round(np.geomspace(HOSTS_MIN, top, points)))
    return grid


def figure7_data(params: Parameters, keys: Sequence[str] = tuple(STRATEGIES)) -> Figure7Data:
    """P / (m p) of each strategy in ``keys`` on the fixed host grid, with the model's crossovers.

    Raises :class:`~rejuv.errors.ParameterError` if ``params`` is a grid or
    not valid for a strategy.
    """
    params.scalar("Figure 7")
    hosts = host_grid()
    evaluations = evaluate_all(params, hosts, keys)
    curves = {key: np.asarray(value.normalized_throughput, dtype=np.float64) for key, value in evaluations.items()}
    limits = {key: float(value.limit) for key, value in evaluations.items()}
    found = tuple(crossovers(params, keys))
    close = _close(_marked(found, float(hosts[-1])))
    detail_hosts = np.zeros(0)
    detail: dict[str, NDArray[np.float64]] = {}
    if close:
        low, high = min(c.hosts or 0 for c in close), max(c.hosts or 0 for c in close)
        pad = max(0.6 * (high - low), 0.01 * high)
        detail_hosts = np.unique(np.round(np.linspace(max(low - pad, HOSTS_MIN), high + pad, DETAIL_POINTS)))
        involved = {c.strategy for c in close} | {c.overtakes for c in close}
        for key, value in evaluate_all(params, detail_hosts, [k for k in keys if k in involved]).items():
            detail[key] = np.asarray(np.broadcast_to(value.normalized_throughput, detail_hosts.shape), dtype=np.float64)
    return Figure7Data(hosts, curves, limits, found, detail_hosts, detail)


def _draw_curves(axes: Axes, data: Figure7Data) -> None:
    for key, values in data.curves.items():
        look = strategy_style(key)
        axes.plot(data.hosts, values, color=look.color, ls=look.linestyle, lw=1.8, label=look.label)
    axes.set_xscale("log")
    axes.set_xlim(HOSTS_MIN, data.hosts[-1])
    axes.grid(True, which="major", color="#dddddd", lw=0.6)


def _crossover_point(data: Figure7Data, item: Crossover) -> tuple[float, float]:
    """m and the challenger's P / (m p) there (the incumbent's, within a step of m)."""
    m = float(item.hosts or 0)
    if m in data.detail_hosts:
        return m, float(data.detail_curves[item.strategy][np.searchsorted(data.detail_hosts, m)])
    return m, float(np.interp(np.log(m), np.log(data.hosts), data.curves[item.strategy]))


def _mark_crossovers(axes: Axes, data: Figure7Data) -> None:
    """A circle at each crossover, and its label in the free lower right of the panel.

    Labels are left aligned, the largest m on top, and each line leaves its
    label from the left edge: so no line crosses another label.
    """
    ordered = sorted(data.marked, key=lambda c: -(c.hosts or 0))
    for row, item in enumerate(ordered):
        m, y = _crossover_point(data, item)
        look = strategy_style(item.strategy)
        axes.plot([m], [y], marker="o", ms=7, mfc="none", mec=look.color, mew=1.6, zorder=4)
        text = f"{look.label}\novertakes {STRATEGIES[item.overtakes].label} at m = {m:,.0f}"
        axes.annotate(
            text,
            xy=(m, y),
            xytext=(0.69, 0.05 + 0.13 * (len(ordered) - 1 - row)),
            textcoords="axes fraction",
            fontsize=7.5,
            color=look.color,
            arrowprops={"arrowstyle": "-", "color": look.color, "lw": 0.7, "shrinkB": 5, "relpos": (0.0, 0.5)},
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": look.color, "lw": 0.6},
        )


def _inset(axes: Axes, data: Figure7Data, zoom: tuple[float, float]) -> None:
    """A magnified view of crossovers too close together to tell apart on the log axis.

    It sits at the lower left, narrowed if need be to stay left of where the
    first curve enters the panel from below.
    """
    if not data.close:
        return
    entries = [
        data.hosts[np.argmax(values >= zoom[0])] if np.any(values >= zoom[0]) else data.hosts[-1]
        for values in data.curves.values()
        if values[0] < zoom[0]
    ]
    enters = min(entries, default=data.hosts[-1])
    room = np.log(enters / data.hosts[0]) / np.log(data.hosts[-1] / data.hosts[0])
    width = min(0.36, float(room) - 0.14)
    if width < 0.15:
        return
    inset = axes.inset_axes((0.08, 0.08, width, 0.40))
    for key, values in data.detail_curves.items():
        look = strategy_style(key)
        inset.plot(data.detail_hosts, values, color=look.color, ls=look.linestyle, lw=1.6)
    for item in data.close:
        m, y = _crossover_point(data, item)
        look = strategy_style(item.strategy)
        inset.plot([m], [y], marker="o", ms=6, mfc="none", mec=look.color, mew=1.4)
        inset.axvline(m, color=look.color, lw=0.6, ls=":")
    inset.set_xlim(data.detail_hosts[0], data.detail_hosts[-1])
    inset.set_title("magnified, linear m", fontsize=7)
    inset.tick_params(labelsize=6)
    inset.ticklabel_format(axis="y", useOffset=False)
    inset.xaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")
    inset.xaxis.set_major_locator(MaxNLocator(4))
    inset.yaxis.set_major_locator(MaxNLocator(4))


def _never_overtaken(data: Figure7Data) -> list[str]:
    """Strategies ahead at m = 2 that nothing overtakes at any m."""
    at_two = {key: float(values[0]) for key, values in data.curves.items()}
    best = max(at_two, key=lambda key: at_two[key])
    beaten = {c.overtakes for c in data.crossovers if c.hosts is not None}
    return [] if best in beaten else [best]


def zoom_range(data: Figure7Data) -> tuple[float, float]:
    """The main panel's y range, P / (m p): every limit and crossover inside, with room for the labels below.

    For the paper's parameters, (0.99922, 0.99979).
    """
    low, high = min(data.limits.values()), max(data.limits.values())
    gap = max(high - low, 1e-6)
    step = 10.0 ** np.floor(np.log10(gap))
    bottom = np.floor((low - ZOOM_BELOW * gap) / step) * step
    top = min(np.ceil((high + ZOOM_ABOVE * gap) / step) * step, 1.0)
    return float(bottom), float(top)


def plot_figure7(data: Figure7Data, zoom: tuple[float, float] | None = None) -> Figure:
    """Figure 7 from its data: the zoomed main panel with the crossovers above, the whole range below.

    ``zoom`` is the y range of the main panel, in units of P / (m p)
    (default: :func:`zoom_range`).
    """
    zoom = zoom_range(data) if zoom is None else zoom
    figure = Figure(figsize=(8.0, 7.2), layout="constrained")
    main, whole = figure.subplots(2, 1, height_ratios=(3.0, 1.4))
    _draw_curves(main, data)
    main.set_ylim(*zoom)
    main.ticklabel_format(axis="y", useOffset=False)
    _mark_crossovers(main, data)
    _inset(main, data, zoom)
    for key in _never_overtaken(data):
        main.text(
            0.985,
            0.96,
            f"nothing overtakes {STRATEGIES[key].label} at any m",
            transform=main.transAxes,
            ha="right",
            va="top",
            fontsize=9,
            color=strategy_style(key).color,
        )
    main.set_ylabel("P / (m p)")
    main.set_title(f"zoomed on P / (m p) from {zoom[0]:g} to {zoom[1]:g}", fontsize=9)

    _draw_curves(whole, data)
    whole.set_ylim(0.45, 1.03)
    whole.set_ylabel("P / (m p)")
    whole.set_xlabel("number of hosts m (log scale)")
    whole.set_title("whole range: with a spare host, P / (m p) carries the factor (m - 1) / m", fontsize=9)
    whole.legend(loc="lower right", fontsize=8, ncols=2, framealpha=0.95)
    figure.suptitle("Figure 7: the cluster's total throughput P over its maximum m p", fontsize=11)
    return figure
