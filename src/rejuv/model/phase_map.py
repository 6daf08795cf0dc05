"""Phase maps: which strategy wins over a grid of two parameters.

The paper finds Warm-VM Reboot best at every cluster size for its measured
parameters. A phase map shows how far that holds: it evaluates every
strategy over a 2-D grid of any two parameters (T_vmm against T_os, D_w
against D_c, ...) at a fixed host count and records the winner and its lead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import ParameterError
from rejuv.model.analysis import evaluate_all
from rejuv.model.parameters import Parameters
from rejuv.model.presets import parse_value
from rejuv.model.strategies import STRATEGIES, check_hosts
from rejuv.model.symbols import lookup

__all__ = ["Axis", "PhaseMap", "phase_map", "phase_map_memory"]

# Measured with tracemalloc (2026-11-30): phase_map over 100^2 to 600^2 points and five strategies
# peaked at 128-134 B per point, and the whole `rejuv phase-map` command (table and figure too) at
# 128 B per point above a fixed 39 MB (matplotlib). 32 B per point and strategy plus 64 B for the
# table is 1.7x that: a margin, never an underestimate.
_BYTES_PER_POINT_AND_STRATEGY = 32
_BYTES_PER_POINT = 64
_FIXED_BYTES = 48 * 2**20


@dataclass(frozen=True)
class Axis:
    """One axis of a phase map: a parameter and the values it takes (base units)."""

    name: str
    values: NDArray[np.float64]
    log: bool = False

    @classmethod
    def parse(cls, text: str, points: int = 61, log: bool = False) -> Axis:
        """Read ``"T_vmm=1d:90d"``: a parameter and a range, split into ``points`` values.

        Raises :class:`ParameterError` naming the axis for a malformed range.
        """
        key, sep, span = text.partition("=")
        start_text, colon, stop_text = span.partition(":")
        if not sep or not colon or not start_text.strip() or not stop_text.strip():
            raise ParameterError(f"axis {text!r}", "expected NAME=START:STOP, for example T_vmm=1d:90d")
        name, start = parse_value(key.strip(), start_text.strip())
        _, stop = parse_value(key.strip(), stop_text.strip())
        if points < 2:
            raise ParameterError(f"axis {key.strip()}", f"needs at least 2 points, got {points}")
        if not start < stop:
            raise ParameterError(f"axis {key.strip()}", f"START must be below STOP, got {start_text}:{stop_text}")
        if log and start <= 0:
            raise ParameterError(f"axis {key.strip()}", "a logarithmic axis must start above 0")
        values = np.geomspace(start, stop, points) if log else np.linspace(start, stop, points)
        if lookup(name).symbol == "n":
            values = np.unique(np.round(values))
        return cls(name, values, log)

    @property
    def symbol(self) -> str:
        return lookup(self.name).symbol


@dataclass(frozen=True)
class PhaseMap:
    """The winner at each grid point: ``winner[j, i]`` for ``y.values[j]``, ``x.values[i]``."""

    x: Axis
    y: Axis
    hosts: int
    strategies: tuple[str, ...]
    winner: NDArray[np.intp]  #: index into ``strategies``
    lead: NDArray[np.float64]  #: P / (m p) of the winner minus that of the runner-up

    def share(self, key: str) -> float:
        """Fraction of grid points that ``key`` wins."""
        return float(np.mean(self.winner == self.strategies.index(key)))


def phase_map_memory(x_points: int, y_points: int, strategies: int) -> int:
    """Bytes a phase map of ``x_points`` by ``y_points`` over ``strategies`` needs, with its table and figure."""
    points = max(x_points, 0) * max(y_points, 0)
    return _FIXED_BYTES + points * (_BYTES_PER_POINT_AND_STRATEGY * max(strategies, 1) + _BYTES_PER_POINT)


def phase_map(params: Parameters, x: Axis, y: Axis, hosts: int, strategies: Sequence[str] | None = None) -> PhaseMap:
    """Evaluate ``strategies`` (None: every registered one) over the grid ``x`` by ``y`` at ``hosts`` hosts.

    Raises :class:`ParameterError` if the axes name the same parameter, or if
    a grid point is not a valid parameter set (the message names the field).
    """
    strategies = tuple(STRATEGIES) if strategies is None else strategies
    if x.name == y.name:
        raise ParameterError(f"axis {x.symbol}", "x and y must be different parameters")
    if len(strategies) < 2:
        raise ParameterError("strategies", "a phase map needs at least two strategies")
    check_hosts(hosts, 2)
    grid = params.replace(**{x.name: x.values[np.newaxis, :], y.name: y.values[:, np.newaxis]})
    shape = (len(y.values), len(x.values))
    values = np.stack(
        [np.broadcast_to(e.normalized_throughput, shape) for e in evaluate_all(grid, hosts, strategies).values()]
    )
    ordered = np.sort(values, axis=0)
    return PhaseMap(x, y, hosts, tuple(strategies), np.argmax(values, axis=0), ordered[-1] - ordered[-2])
