"""A simulator sweep as a table and a figure: how far the simulated loss is from the closed form's, against m."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from rejuv.report.style import strategy_style
from rejuv.sim.sweep import SweepRow

__all__ = ["SWEEP_HEADER", "plot_sweep", "sweep_table"]

#: Columns of a sweep's table, one row per point.
SWEEP_HEADER = (
    "strategy",
    "hosts",
    "spares",
    "replications",
    "model_loss",
    "loss_mean",
    "loss_ci_low",
    "loss_ci_high",
    "relative_difference",
    "failures_mean",
    "wait_hours_mean",
)


def sweep_table(rows: Sequence[SweepRow]) -> list[list[object]]:
    """One list per point, in :data:`SWEEP_HEADER`'s order (``spares`` 0 where a strategy uses none)."""
    return [
        [
            row.point.strategy,
            row.point.hosts,
            row.point.spares,
            row.loss.replications,
            row.model_loss,
            row.loss.mean,
            row.loss.low,
            row.loss.high,
            row.relative_difference,
            row.failures.mean,
            row.wait_hours.mean,
        ]
        for row in rows
    ]


def plot_sweep(rows: Sequence[SweepRow]) -> Figure:
    """(simulated - model) / model loss against m, one line per strategy and spare count, with confidence bars."""
    figure = Figure(figsize=(9.0, 4.6), layout="constrained")  # wider: the legend sits right of the axes
    axes = figure.add_subplot()
    groups: dict[tuple[str, int], list[SweepRow]] = {}
    for row in rows:
        groups.setdefault((row.point.strategy, row.point.spares), []).append(row)
    spare_counts = sorted({k for _, k in groups if k > 0})
    for (key, spares), members in groups.items():
        members = sorted(members, key=lambda r: r.point.hosts)
        style = strategy_style(key)
        hosts = np.array([r.point.hosts for r in members], dtype=np.float64)
        error = np.array([100 * r.relative_difference for r in members])
        bars = np.array([100 * r.loss.half_width / r.model_loss for r in members])
        label = style.label if spares == 0 else f"{style.label}, k = {spares}"
        shade = 1.0 if spares == 0 else 1.0 - 0.55 * spare_counts.index(spares) / max(len(spare_counts), 1)
        axes.errorbar(
            hosts,
            error,
            yerr=np.nan_to_num(bars),
            color=style.color,
            linestyle=style.linestyle,
            marker=style.marker,
            alpha=shade,
            capsize=3,
            label=label,
        )
    axes.axhline(0.0, color="black", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_xlabel("hosts m")
    axes.set_ylabel("simulated loss vs closed form (%)")
    confidence = rows[0].loss.confidence if rows else 0.95
    axes.set_title(f"Simulation against the closed form (bars: {confidence:.0%} confidence)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)  # off the data
    return figure
