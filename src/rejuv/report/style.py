"""One look per strategy and per timeline interval, shared by every figure.

Labels come from :data:`rejuv.model.STRATEGIES`; colours are from the
colour-blind-safe Okabe-Ito palette, and line styles tell the curves apart
in greyscale as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from rejuv.model import STRATEGIES, strategy
from rejuv.model.timeline import IntervalKind

__all__ = [
    "DPI",
    "INTERVAL_COLORS",
    "MIGRATION_COLORS",
    "STYLES",
    "StrategyStyle",
    "strategy_style",
    "SERIES_COLORS",
    "series_look",
]

#: Resolution of every PNG, dots per inch: sharp enough to read, small enough to commit.
DPI = 130


@dataclass(frozen=True)
class StrategyStyle:
    """How one strategy is drawn: in every figure the same."""

    key: str
    label: str  #: ``STRATEGIES[key].label``
    color: str
    linestyle: str
    marker: str


_LOOKS = {
    "warm": ("#D55E00", "-", "o"),
    "cold": ("#0072B2", "-", "s"),
    "migration": ("#009E73", "--", "^"),
    "live": ("#CC79A7", "-.", "v"),
    "live_rate_control": ("#E69F00", ":", "D"),
}

#: The paper's strategies' styles, by key, in the paper's order (others: :func:`strategy_style`).
STYLES: dict[str, StrategyStyle] = {
    key: StrategyStyle(key, STRATEGIES[key].label, *look) for key, look in _LOOKS.items()
}

#: Colours of the timeline intervals: downtimes dark, degraded periods light.
INTERVAL_COLORS: dict[IntervalKind, str] = {
    IntervalKind.VMM_DOWNTIME: "#222222",
    IntervalKind.VMM_DEGRADED: "#999999",
    IntervalKind.OS_DOWNTIME: "#8B1A1A",
    IntervalKind.OS_DEGRADED: "#E8A0A0",
}


#: Colours of a migration trace (rejuv plot-trace), Okabe-Ito: the source host's total blue, the destination's
#: bluish green, a moving VM's span sky blue, its switch-over vermillion; a cancelled move grey.
MIGRATION_COLORS: dict[str, str] = {
    "source": "#0072B2",
    "destination": "#009E73",
    "move": "#56B4E9",
    "switch-over": "#D55E00",
    "cancelled": "#555555",
}

#: Colours of series that are not strategies, such as a trace's VMs: the Okabe-Ito palette without black
#: (kept for totals), the low-contrast yellow last.
SERIES_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
_SERIES_LINESTYLES = ("-", "--", ":", "-.")


def series_look(index: int) -> tuple[str, str]:
    """The colour and line style of the ``index``-th series: every colour solid, then every colour dashed, and so on.

    No two of the first ``len(SERIES_COLORS) * 4`` (28) series look alike.
    """
    turn, colour = divmod(index, len(SERIES_COLORS))
    return SERIES_COLORS[colour], _SERIES_LINESTYLES[turn % len(_SERIES_LINESTYLES)]


#: How a strategy beyond the paper's five is drawn (grey, dotted, crosses) until it is given a look of its own.
_OTHER_LOOK = ("#555555", ":", "x")


def strategy_style(key: str) -> StrategyStyle:
    """The style of the strategy ``key``; raise :class:`~rejuv.errors.ParameterError` for an unknown key."""
    item = strategy(key)
    return STYLES.get(item.key) or StrategyStyle(item.key, item.label, *_OTHER_LOOK)
