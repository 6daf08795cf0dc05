"""Every strategy on given host counts, as plain data: what ``rejuv compare`` reports.

For each strategy its Evaluation (P / (m p), A, both degradation terms, P,
lost requests) at each host count m, and its limit as m grows; then the best
strategy at each m, the migration degradation rates (γ, γ') and the
crossovers. Lists are plain floats, ready for JSON or a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np
from numpy.typing import NDArray

from rejuv.model.analysis import best_strategy, crossovers, degradation_rates, evaluate_all
from rejuv.model.parameters import Parameters
from rejuv.model.strategies import STRATEGIES

__all__ = ["CrossoverResult", "StrategyComparison", "StrategyResult", "compare_strategies"]


class StrategyResult(TypedDict):
    """One strategy; lists are aligned with the host counts."""

    label: str
    symbol: str
    needs_spare_host: bool
    normalized_throughput: list[float]  # P / (m p)
    availability: list[float]  # A
    vmm_degradation: list[float]  # VMM degradation term, fraction of T_vmm
    os_degradation: list[float]  # OS degradation term, fraction of T_vmm
    total_throughput: list[float]  # P, req/s
    lost_requests_per_interval: list[float]  # per T_vmm
    lost_requests_per_year: list[float]
    limit: float  # P / (m p) as m grows without bound


class CrossoverResult(TypedDict):
    """``strategy`` overtakes ``overtakes`` from ``hosts`` hosts on (None: never)."""

    strategy: str
    overtakes: str
    hosts: int | None


class StrategyComparison(TypedDict):
    """Every strategy at every host count, the best one, γ and γ', and the crossovers."""

    hosts: list[int]
    strategies: dict[str, StrategyResult]
    best: list[str]
    degradation_rates: dict[str, float]
    crossovers: list[CrossoverResult]


def compare_strategies(params: Parameters, hosts: Sequence[int]) -> StrategyComparison:
    """Every registered strategy on one parameter set at each of ``hosts``, as plain data.

    A result past a float (p = 1e308 req/s) is ``inf``. Raises
    :class:`~rejuv.errors.ParameterError` for host counts a strategy cannot use.
    """
    with np.errstate(over="ignore"):
        return _compare(params, hosts)


def _compare(params: Parameters, hosts: Sequence[int]) -> StrategyComparison:
    m = np.asarray(hosts, dtype=np.float64)
    keys = tuple(STRATEGIES)

    def aligned(values: NDArray[np.float64]) -> list[float]:
        return [float(v) for v in np.broadcast_to(values, m.shape)]

    strategies: dict[str, StrategyResult] = {}
    for key, result in evaluate_all(params, m, keys).items():
        strategies[key] = StrategyResult(
            label=STRATEGIES[key].label,
            symbol=STRATEGIES[key].symbol,
            needs_spare_host=STRATEGIES[key].needs_spare_host,
            normalized_throughput=aligned(result.normalized_throughput),
            availability=aligned(result.availability),
            vmm_degradation=aligned(result.vmm_degradation),
            os_degradation=aligned(result.os_degradation),
            total_throughput=aligned(result.total_throughput),
            lost_requests_per_interval=aligned(result.lost_requests_per_interval),
            lost_requests_per_year=aligned(result.lost_requests_per_year),
            limit=float(result.limit),
        )
    return StrategyComparison(
        hosts=[int(h) for h in hosts],
        strategies=strategies,
        best=[keys[int(i)] for i in best_strategy(params, m, keys)],
        degradation_rates={key: float(rate) for key, rate in degradation_rates(params).items()},
        crossovers=[
            CrossoverResult(strategy=c.strategy, overtakes=c.overtakes, hosts=c.hosts) for c in crossovers(params, keys)
        ],
    )
