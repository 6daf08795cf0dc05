"""Drawing a :class:`rejuv.model.PhaseMap`: which strategy wins where, and by how much.

Each grid point is coloured by its winning strategy (the colours of
:mod:`rejuv.report.style`), deeper where the winner's lead over the
runner-up in P / (m p) is larger, so a map that one strategy wins
everywhere still shows where it wins narrowly. Axes carry the paper's symbol and a unit
chosen to read well (days, hours, minutes or seconds for durations).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, LogNorm, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from numpy.typing import NDArray

from rejuv.model import STRATEGIES, Axis, Kind, Parameters, PhaseMap, lookup
from rejuv.report.style import strategy_style

__all__ = ["axis_label", "axis_unit", "lead_shade", "phase_map_table", "plot_phase_map"]

#: Duration units from the largest down: one is used when the axis reaches 2 of it.
_DURATION_UNITS = (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0))
LIGHTEST = 0.3  #: depth of colour of the narrowest lead (1: the full strategy colour)


def axis_unit(axis: Axis) -> tuple[str, float]:
    """The unit to show ``axis`` in and its size in base units: ``("d", 86400.0)`` for T_vmm=1d:90d."""
    symbol = lookup(axis.name)
    if symbol.kind is not Kind.DURATION:
        return symbol.unit, 1.0
    top = float(np.max(np.abs(axis.values)))
    for unit, size in _DURATION_UNITS:
        if top >= 2.0 * size:
            return unit, size
    return "s", 1.0


def axis_label(axis: Axis) -> str:
    """``"T_vmm: time between VMM rejuvenations (d)"``: the paper's symbol, its meaning and the unit."""
    symbol = lookup(axis.name)
    unit, _ = axis_unit(axis)
    shown = "" if unit == "1" else f" ({unit})"
    return f"{symbol.paper}: {symbol.meaning}{shown}"


def phase_map_table(pm: PhaseMap) -> tuple[list[str], list[list[object]]]:
    """The map as a CSV table: one row per grid point, x and y in base units, the winner's key and its lead.

    The header names each axis by symbol and base unit, for example ``T_vmm (s)``.
    """
    header = [
        f"{pm.x.symbol} ({lookup(pm.x.name).unit})",
        f"{pm.y.symbol} ({lookup(pm.y.name).unit})",
        "winner",
        "lead",
    ]
    rows: list[list[object]] = []
    for j, y in enumerate(pm.y.values):
        for i, x in enumerate(pm.x.values):
            rows.append([float(x), float(y), pm.strategies[int(pm.winner[j, i])], float(pm.lead[j, i])])
    return header, rows


def _mark_reference(axes: Axes, pm: PhaseMap, reference: Parameters, label: str) -> None:
    x_unit, x_size = axis_unit(pm.x)
    y_unit, y_size = axis_unit(pm.y)
    x = float(getattr(reference, pm.x.name))
    y = float(getattr(reference, pm.y.name))
    inside = pm.x.values[0] <= x <= pm.x.values[-1] and pm.y.values[0] <= y <= pm.y.values[-1]
    text = f"{label}\n{pm.x.symbol} = {x / x_size:.3g} {x_unit}, {pm.y.symbol} = {y / y_size:.3g} {y_unit}"
    if not inside:
        axes.text(0.99, 0.01, f"{text} (outside the map)", transform=axes.transAxes, ha="right", fontsize=7)
        return
    axes.plot([x / x_size], [y / y_size], marker="*", ms=14, mfc="white", mec="black", mew=1.2, zorder=5)
    axes.annotate(
        text,
        xy=(x / x_size, y / y_size),
        xytext=(10, 10),
        textcoords="offset points",
        fontsize=8,
        bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "black", "lw": 0.5, "alpha": 0.9},
    )


def lead_shade(lead: NDArray[np.float64]) -> tuple[NDArray[np.float64], LogNorm | None]:
    """How strongly to colour each point, in [LIGHTEST, 1]: log of the lead, scaled over the map's range.

    Returns the strengths and the logarithmic scale of the lead used (None
    when the lead does not vary, and every point is coloured fully).
    """
    positive = lead[lead > 0]
    if positive.size == 0 or positive.min() == positive.max():
        return np.ones_like(lead), None
    norm = LogNorm(float(positive.min()), float(positive.max()))
    scaled = np.clip(np.ma.filled(norm(np.where(lead > 0, lead, positive.min())), 0.0), 0.0, 1.0)
    strength: NDArray[np.float64] = LIGHTEST + (1.0 - LIGHTEST) * scaled
    return strength, norm


def plot_phase_map(pm: PhaseMap, reference: Parameters | None = None, reference_label: str = "parameters") -> Figure:
    """The winner at each grid point, shaded by its lead, with the share of the grid each strategy wins.

    Colour: the winning strategy; depth of colour: the winner's lead over
    the runner-up in P / (m p), on a log scale (pale: a near tie).
    ``reference``, if given, is marked with a star and ``reference_label``
    (for example the preset whose other values the map keeps).
    """
    _, x_size = axis_unit(pm.x)
    _, y_size = axis_unit(pm.y)
    x, y = pm.x.values / x_size, pm.y.values / y_size
    base = np.array([to_rgb(strategy_style(key).color) for key in pm.strategies])[pm.winner]
    strength, norm = lead_shade(pm.lead)
    rgb = 1.0 - strength[..., np.newaxis] * (1.0 - base)  # blend with white
    figure = Figure(figsize=(7.6, 6.6), layout="constrained")
    axes = figure.subplots()
    axes.pcolormesh(x, y, rgb, shading="nearest", rasterized=True)
    if norm is not None:
        grey = ScalarMappable(norm=norm, cmap=LinearSegmentedColormap.from_list("lead", [_pale(LIGHTEST), "black"]))
        bar = figure.colorbar(grey, ax=axes, shrink=0.6, pad=0.02)
        bar.set_label("winner's lead over the runner-up, P / (m p)\n(depth of colour; pale: a near tie)", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    if reference is not None:
        _mark_reference(axes, pm, reference, reference_label)
    if pm.x.log:
        axes.set_xscale("log")
    if pm.y.log:
        axes.set_yscale("log")
    axes.set_xlabel(axis_label(pm.x))
    axes.set_ylabel(axis_label(pm.y))
    handles = [
        Patch(color=strategy_style(key).color, label=f"{STRATEGIES[key].label}: {100 * pm.share(key):.1f}%")
        for key in pm.strategies
    ]
    figure.legend(
        handles=handles, loc="outside lower center", ncols=3, fontsize=8, title="share of the grid each strategy wins"
    )
    axes.set_title(f"Highest P / (m p) at m = {pm.hosts:,} hosts: {pm.y.symbol} against {pm.x.symbol}", fontsize=10)
    return figure


def _pale(strength: float) -> str:
    """Black blended with white as the map blends a colour at ``strength``."""
    return to_hex((1.0 - strength, 1.0 - strength, 1.0 - strength))
