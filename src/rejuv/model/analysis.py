"""What the paper concludes, computed: crossovers, the best strategy, phase maps, grids.

All functions broadcast over parameter arrays. A strategy with a spare host
scales as (m - 1) / m, the others not at all, so where one strategy overtakes
another follows in closed form from the two limits (P / (m p) as m grows):
a spare-host strategy with limit a overtakes a strategy with limit b < a at
the smallest whole m > a / (a - b).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rejuv.model.parameters import Parameters
from rejuv.model.strategies import STRATEGIES, Evaluation, Strategy, check_hosts, strategy
from rejuv.model.strategies.live import LiveMigration
from rejuv.model.strategies.stop_and_copy import StopAndCopyMigration

__all__ = [
    "Crossover",
    "best_strategy",
    "crossovers",
    "degradation_rates",
    "evaluate_all",
    "iter_grid",
    "overtaking_hosts",
]

Array = NDArray[np.float64]
SMALLEST_CLUSTER = 2  # every strategy applies from two hosts on


def evaluate_all(
    params: Parameters, hosts: ArrayLike, keys: Sequence[str] = tuple(STRATEGIES)
) -> dict[str, Evaluation]:
    """Every strategy in ``keys`` evaluated on ``params`` and ``hosts``."""
    return {key: strategy(key).evaluate(params, hosts) for key in keys}


def degradation_rates(params: Parameters) -> dict[str, Array]:
    """γ, γ' and γ' with rate control, keyed by the strategy they belong to."""
    rates: dict[str, Array] = {}
    for key, item in STRATEGIES.items():
        if isinstance(item, StopAndCopyMigration | LiveMigration):
            rates[key] = item.degradation_rate(params)
    return rates


def _normalized(item: Strategy, params: Parameters, hosts: Array) -> Array:
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


def crossovers(params: Parameters, keys: Sequence[str] = tuple(STRATEGIES)) -> list[Crossover]:
    """For one parameter set: each pair where a strategy starts behind another at m = 2, and where it overtakes.

    Raises ValueError if ``params`` is a grid rather than one set.
    """
    if params.shape != ():
        raise ValueError("crossovers() takes one parameter set; use overtaking_hosts() for grids")
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


def best_strategy(params: Parameters, hosts: ArrayLike, keys: Sequence[str] = tuple(STRATEGIES)) -> NDArray[np.intp]:
    """Index into ``keys`` of the strategy with the highest P / (m p); ties go to the earlier key."""
    m = check_hosts(hosts, SMALLEST_CLUSTER)
    values = [value.normalized_throughput for value in evaluate_all(params, m, keys).values()]
    winner: NDArray[np.intp] = np.argmax(np.stack(np.broadcast_arrays(*values)), axis=0)
    return winner


def iter_grid(
    params: Parameters, axes: Mapping[str, ArrayLike], chunk_points: int = 1 << 20
) -> Iterator[tuple[slice, Parameters]]:
    """The Cartesian product of ``axes`` over ``params``, flattened, in chunks of at most ``chunk_points``.

    Yields ``(positions, parameters)``: the positions of the chunk in the
    flattened grid (C order of ``axes``) and a 1-D parameter set for them, so a
    grid of any size is evaluated in bounded memory.
    """
    if chunk_points < 1:
        raise ValueError("chunk_points must be >= 1")
    names = list(axes)
    values = [np.asarray(axes[name], dtype=np.float64).ravel() for name in names]
    sizes = tuple(len(v) for v in values)
    total = int(np.prod(sizes)) if sizes else 1
    for start in range(0, total, chunk_points):
        stop = min(total, start + chunk_points)
        coords = np.unravel_index(np.arange(start, stop), sizes)
        chunk = params.replace(**{name: v[c] for name, v, c in zip(names, values, coords, strict=True)})
        yield slice(start, stop), chunk
