"""``rejuv compare``'s JSON document: the model's comparison with the version and parameters that made it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from rejuv import __version__
from rejuv.model import CrossoverResult, Parameters, StrategyResult, compare_strategies

__all__ = ["Comparison", "compare"]


class Comparison(TypedDict):
    """:class:`~rejuv.model.StrategyComparison` after the version and parameters, in that key order."""

    rejuv_version: str
    parameters: dict[str, Any]
    hosts: list[int]
    strategies: dict[str, StrategyResult]
    best: list[str]
    degradation_rates: dict[str, float]
    crossovers: list[CrossoverResult]


def compare(params: Parameters, hosts: Sequence[int], source: str) -> Comparison:
    """:func:`~rejuv.model.compare_strategies` as ``rejuv compare --json`` prints it."""
    result = compare_strategies(params, hosts)
    return Comparison(
        rejuv_version=__version__,
        parameters={"source": source, "values": params.as_dict()},
        hosts=result["hosts"],
        strategies=result["strategies"],
        best=result["best"],
        degradation_rates=result["degradation_rates"],
        crossovers=result["crossovers"],
    )
