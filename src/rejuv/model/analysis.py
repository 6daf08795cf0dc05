"""What the paper concludes, computed: crossovers, the best strategy, phase maps, grids.

All functions broadcast over parameter arrays. A strategy with a spare host
scales as (m - 1) / m, the others not at all, so where one strategy overtakes
another follows in closed form from the two limits (P / (m p) as m grows):
a spare-host strategy with limit a overtakes a strategy with limit b < a at
the smallest whole m > a / (a - b).

Where a function takes strategy ``keys``, None means every registered
strategy (:data:`~rejuv.model.STRATEGIES`, as it is at the call).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rejuv.model.parameters import Parameters
from rejuv.model.strategies import STRATEGIES, Evaluation, MigrationStrategy, Strategy, check_hosts, strategy
from rejuv.model.strategies.base import SharedTerms
from rejuv.model.symbols import lookup

__all__ = [
    "Crossover",
    "best_strategy",
    "crossovers",
    "degradation_rates",
    "evaluate_all",
    "iter_grid",
    "normalized_throughputs",
    "overtaking_hosts",
]

Array = NDArray[np.float64]
SMALLEST_CLUSTER = 2  # every strategy applies from two hosts on
# Points per block of a long 1-D parameter set: the temporaries of one block (128 KiB
# each) stay in the CPU cache and are reused, where whole-array temporaries cost a
# trip to memory and fresh pages each.
BLOCK_POINTS = 1 << 14


def evaluate_all(params: Parameters, hosts: ArrayLike, keys: Sequence[str] | None = None) -> dict[str, Evaluation]:
    """Every strategy in ``keys`` evaluated on ``params`` and ``hosts``."""
    keys = tuple(STRATEGIES) if keys is None else keys
    return {key: strategy(key).evaluate(params, hosts) for key in keys}


def normalized_throughputs(params: Parameters, hosts: ArrayLike, keys: Sequence[str] | None = None) -> dict[str, Array]:
    """P / (m p) of every strategy in ``keys``: ``evaluate(params, hosts).normalized_throughput``, faster.

    Equal to the :meth:`Strategy.evaluate` path up to rounding (a relative
    1e-12): the terms all strategies share (:class:`SharedTerms`) and γ, γ'
    are computed once, no :class:`Evaluation` is built, and a long 1-D
    parameter set (as :func:`iter_grid` yields) with one host count is
    walked in blocks of ``BLOCK_POINTS``. Raises :class:`ParameterError` as
    :meth:`Strategy.evaluate` does.
    """
    keys = tuple(STRATEGIES) if keys is None else keys
    items = {key: strategy(key) for key in keys}
    for item in items.values():
        item.check_hosts(hosts)
        item.check(params)
    m = check_hosts(hosts)
    shape = params.shape
    if m.ndim or len(shape) != 1 or shape[0] <= BLOCK_POINTS:
        shared = SharedTerms.of(params)
        return {key: item.normalized_throughput(params, m, shared) for key, item in items.items()}
    # γ, γ' once for the whole set, not once per block.
    rates = {
        item.rate_field: item.degradation_rate(params) for item in items.values() if isinstance(item, MigrationStrategy)
    }
    resolved = params._with_checked_values(**rates)
    fields = dict(resolved._numeric())
    cut = [name for name, value in fields.items() if value.ndim]
    spare = (m - 1.0) / m
    results = {key: np.empty(shape) for key in items}
    for start in range(0, shape[0], BLOCK_POINTS):
        block = slice(start, start + BLOCK_POINTS)
        part = resolved._with_checked_values(**{name: fields[name][block] for name in cut})
        shared = SharedTerms.of(part)
        for key, item in items.items():
            if item.needs_spare_host:
                np.multiply(item.limit(part, shared), spare, out=results[key][block])
            else:
                results[key][block] = item.limit(part, shared)
    return results


def degradation_rates(params: Parameters) -> dict[str, Array]:
    """γ, γ' and γ' with rate control, keyed by the strategy they belong to."""
    rates: dict[str, Array] = {}
    for key, item in STRATEGIES.items():
        if isinstance(item, MigrationStrategy):
            rates[key] = item.degradation_rate(params)
    return rates


def _normalized(item: Strategy, params: Parameters, hosts: Array) -> Array:
    # The general path: where two strategies tie up to rounding, the answer is the one evaluate() gives.
    return item.evaluate(params, hosts).normalized_throughput


def overtaking_hosts(params: Parameters, challenger: str, incumbent: str) -> Array:
    """The smallest whole m >= 2 at which ``challenger`` has a higher P / (m p) than ``incumbent``.

    Returns a float array over the parameters' shape: 2 where the challenger
    is ahead from the smallest cluster on, NaN where it never gets ahead.
    """
    ahead, behind = strategy(challenger), strategy(incumbent)
    a = ahead.evaluate(params, SMALLEST_CLUSTER).limit
    b = behind.evaluate(params, SMALLEST_CLUSTER).limit
    a, b = np.broadcast_arrays(a, b)
    start = np.full(a.shape, float(SMALLEST_CLUSTER))
    if ahead.needs_spare_host == behind.needs_spare_host:
        return np.where(a > b, start, np.nan)
    if behind.needs_spare_host:  # the incumbent only gains with m: ahead at m = 2 or never
        return np.where(a > b * (SMALLEST_CLUSTER - 1) / SMALLEST_CLUSTER, start, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        hosts = np.where(a > b, np.floor(a / (a - b)) + 1.0, np.nan)
    hosts = np.maximum(hosts, start)
    # The closed form can be one off where a / (a - b) is a whole number up to rounding.
    found = ~np.isnan(hosts)
    probe = np.where(found, hosts, SMALLEST_CLUSTER)
    late = found & ~(_normalized(ahead, params, probe) > _normalized(behind, params, probe))
    hosts = np.where(late, hosts + 1.0, hosts)
    earlier = np.maximum(probe - 1.0, SMALLEST_CLUSTER)
    early = (
        found
        & ~late
        & (probe > SMALLEST_CLUSTER)
        & (_normalized(ahead, params, earlier) > _normalized(behind, params, earlier))
    )
    result: Array = np.where(early, hosts - 1.0, hosts)
    return result


@dataclass(frozen=True)
class Crossover:
    """``strategy`` overtakes ``overtakes`` from ``hosts`` hosts on (None: never)."""

    strategy: str
    overtakes: str
    hosts: int | None


def crossovers(params: Parameters, keys: Sequence[str] | None = None) -> list[Crossover]:
    """For one parameter set: each pair where a strategy starts behind another at m = 2, and where it overtakes.

    Raises :class:`~rejuv.errors.ParameterError` (a ValueError) if ``params`` is a grid rather than one set.
    """
    keys = tuple(STRATEGIES) if keys is None else keys
    params.scalar("crossovers()", "; use overtaking_hosts() for grids")
    result = []
    at_two = {
        key: float(value.normalized_throughput) for key, value in evaluate_all(params, SMALLEST_CLUSTER, keys).items()
    }
    for challenger in keys:
        for incumbent in keys:
            if challenger == incumbent or at_two[challenger] > at_two[incumbent]:
                continue
            hosts = float(overtaking_hosts(params, challenger, incumbent))
            result.append(Crossover(challenger, incumbent, None if np.isnan(hosts) else int(hosts)))
    return result


def best_strategy(params: Parameters, hosts: ArrayLike, keys: Sequence[str] | None = None) -> NDArray[np.intp]:
    """Index into ``keys`` of the strategy with the highest P / (m p); ties go to the earlier key."""
    keys = tuple(STRATEGIES) if keys is None else keys
    m = check_hosts(hosts, SMALLEST_CLUSTER)
    values = list(normalized_throughputs(params, m, keys).values())
    shape = np.broadcast_shapes(*(np.shape(value) for value in values))
    # A running maximum: a few arrays of one result's size, not all of them stacked.
    winner = np.zeros(shape, dtype=np.intp)
    best = np.broadcast_to(values[0], shape)
    for index, value in enumerate(values[1:], start=1):
        ahead = value > best  # strictly: a tie stays with the earlier key
        np.copyto(winner, index, where=ahead)
        best = np.maximum(best, value)
    return winner


def iter_grid(
    params: Parameters, axes: Mapping[str, ArrayLike], chunk_points: int = 1 << 20
) -> Iterator[tuple[slice, Parameters]]:
    """The Cartesian product of ``axes`` over ``params``, flattened, in chunks of at most ``chunk_points``.

    Yields ``(positions, parameters)``: the positions of the chunk in the
    flattened grid (C order of ``axes``) and a 1-D parameter set for them, so a
    grid of any size is evaluated in bounded memory. Over a single parameter
    set the whole grid is checked once, before the first chunk
    (:meth:`Parameters.check_grid`), and the chunks are not checked again.
    Raises :class:`ParameterError` naming the field if a point is invalid.
    """
    if chunk_points < 1:
        raise ValueError("chunk_points must be >= 1")
    names = [lookup(name).name for name in axes]
    values = [np.asarray(axes[key], dtype=np.float64).ravel() for key in axes]
    sizes = tuple(len(v) for v in values)
    total = int(np.prod(sizes)) if sizes else 1
    if params.shape != ():  # a grid of sets: each chunk is built and checked whole
        for start in range(0, total, chunk_points):
            stop = min(total, start + chunk_points)
            coords = np.unravel_index(np.arange(start, stop), sizes)
            chunk = params.replace(**{name: v[c] for name, v, c in zip(names, values, coords, strict=True)})
            yield slice(start, stop), chunk
        return
    params.check_grid(dict(zip(names, values, strict=True)))
    columns = [_Column(v, math.prod(sizes[k + 1 :]), chunk_points) for k, v in enumerate(values)]
    for start in range(0, total, chunk_points):
        stop = min(total, start + chunk_points)
        cut = {name: c.cut(start, stop) for name, c in zip(names, columns, strict=True)}
        chunk = params._with_checked_values(**cut, **params._follow_n(cut))  # D_w(n), D_c(n) follow an n axis
        yield slice(start, stop), chunk


class _Column:
    """The values one grid axis takes along the flattened grid: each value ``repeat`` times, over and over."""

    def __init__(self, values: Array, repeat: int, chunk_points: int) -> None:
        self.values, self.repeat = values, repeat
        self.period = len(values) * repeat
        # A short period: a pattern long enough that every chunk is a slice of it (a view).
        self.pattern: Array | None = None
        if self.period <= chunk_points:
            copies = -(-(self.period + chunk_points) // self.period)
            self.pattern = np.tile(np.repeat(values, repeat), copies)
            self.pattern.flags.writeable = False

    def cut(self, start: int, stop: int) -> Array:
        """The values at flattened positions ``start`` to ``stop`` (exclusive)."""
        offset = start % self.period
        if self.pattern is not None:
            return self.pattern[offset : offset + stop - start]
        # A long period: few runs of one value each in a chunk.
        first, last = start // self.repeat, (stop - 1) // self.repeat
        runs = np.full(last - first + 1, self.repeat)
        runs[0] -= start - first * self.repeat
        runs[-1] -= (last + 1) * self.repeat - stop
        return np.repeat(self.values[np.arange(first, last + 1) % len(self.values)], runs)
