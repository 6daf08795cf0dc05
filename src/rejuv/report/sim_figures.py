"""Figures of the simulated cluster: its throughput over time, and Figure 7 from simulation with confidence bands."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from rejuv.report.style import strategy_style

__all__ = ["plot_sim_figure7", "plot_sim_timeline"]

Array = NDArray[np.float64]


def _shown(as_loss: bool, share: Array) -> Array:
    """P / (m p) as given, or the loss 1 - P / (m p)."""
    result: Array = 1.0 - share if as_loss else share
    return result


def plot_sim_timeline(days: Array, served: Mapping[str, Array], failures: Mapping[str, int], hosts: int) -> Figure:
    """One panel per strategy: the cluster's served share P(t) / (m p), %, against time in days.

    ``served`` maps a strategy key to P(t) / (m p) per bin (bins centred at
    ``days``); ``failures`` how many aging failures each run had.
    """
    figure = Figure(figsize=(8.0, 1.9 * len(served) + 0.8), layout="constrained")
    panels = figure.subplots(len(served), 1, sharex=True, squeeze=False)[:, 0]
    for axes, (key, share) in zip(panels, served.items(), strict=True):
        style = strategy_style(key)
        axes.plot(days, 100 * share, color=style.color, lw=0.9)
        axes.set_title(f"{style.label}: {failures[key]} aging failure(s)", fontsize="medium", loc="left")
        axes.set_ylabel("P / (m p), %")
        axes.grid(True, color="#dddddd", lw=0.6)
        axes.ticklabel_format(axis="y", useOffset=False)
    panels[-1].set_xlabel("time (days)")
    figure.suptitle(f"Simulated cluster of {hosts} hosts: served throughput over time")
    return figure


def plot_sim_figure7(
    hosts: Array,
    model: Mapping[str, Array],
    simulated: Mapping[str, tuple[Array, Array]],
    grid: Array,
    confidence: float,
    scenario: str = "",
) -> Figure:
    """Figure 7 redrawn: the closed form's loss 1 - P/(m p) as lines on ``grid``, the simulated mean at ``hosts``
    as markers with a band of ± the confidence half-width (left: P/(m p) as in the paper; right: the loss, log).

    ``scenario`` says what the simulation adds to the closed form's assumptions; it heads the figure.
    """
    figure = Figure(figsize=(11.0, 4.6), layout="constrained")
    left, right = figure.subplots(1, 2)
    for key, curve in model.items():
        style = strategy_style(key)
        mean, half = simulated[key]
        for axes, as_loss in ((left, False), (right, True)):
            axes.plot(
                grid, _shown(as_loss, curve), color=style.color, ls=style.linestyle, lw=1.4, label=f"{style.label}"
            )
            axes.fill_between(
                hosts,
                _shown(as_loss, mean - half),
                _shown(as_loss, mean + half),
                color=style.color,
                alpha=0.25,
                linewidth=0,
            )
            axes.plot(hosts, _shown(as_loss, mean), ls="none", marker=style.marker, color=style.color, ms=5)
    for axes in (left, right):
        axes.set_xscale("log")
        axes.set_xlabel("hosts m")
        axes.grid(True, which="major", color="#dddddd", lw=0.6)
    left.set_ylabel("normalized total throughput P / (m p)")
    right.set_ylabel("loss 1 - P / (m p)")
    right.set_yscale("log")
    left.set_title("Figure 7: closed form (lines) and simulation (markers)", fontsize="medium")
    right.set_title(f"the same losses, log scale (bands: {confidence:.0%} confidence)", fontsize="medium")
    left.legend(fontsize="small", loc="lower right")
    if scenario:
        figure.suptitle(f"simulated: {scenario}", fontsize="medium")
    return figure
