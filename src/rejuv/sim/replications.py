"""Independent replications of one random cluster, and Student-t confidence intervals of their means.

Replication i draws everything from child i of the run's seed sequence
(``SeedSequence(config.seed)``, or the one a sweep hands over): the children
are statistically independent streams, and the i-th is the same however
many replications run and wherever they run. With R replications of a
quantity x, the interval is

    mean(x) ± t_{1-α/2, R-1} s / √R,

s the sample standard deviation, α = 1 - confidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import ParameterError
from rejuv.model import Parameters
from rejuv.sim.config import SimConfig
from rejuv.sim.run import SimResult, simulate

__all__ = ["MeanInterval", "Replications", "replicate", "replication_seeds"]

#: Confidence level of the intervals unless asked otherwise.
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class MeanInterval:
    """A sample mean with its Student-t confidence interval."""

    mean: float
    half_width: float  #: t_{1-α/2, R-1} s / √R; 0 for one replication of a deterministic run, NaN for one random run
    replications: int
    confidence: float

    @property
    def low(self) -> float:
        """Lower end of the interval."""
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        """Upper end of the interval."""
        return self.mean + self.half_width

    @classmethod
    def of(cls, values: Sequence[float] | NDArray[np.float64], confidence: float = DEFAULT_CONFIDENCE) -> MeanInterval:
        """The mean of ``values`` and its interval (NaN half-width for fewer than two)."""
        sample = np.asarray(values, dtype=np.float64)
        if sample.size == 0:
            raise ParameterError("replications", "need at least one value")
        if not 0 < confidence < 1:
            raise ParameterError("confidence", f"must be in (0, 1), got {confidence!r}")
        if sample.size < 2:
            return cls(float(sample[0]), math.nan, 1, confidence)
        from scipy import stats  # 0.5 s to import: only where an interval is computed

        quantile = float(stats.t.ppf(0.5 + confidence / 2, sample.size - 1))
        spread = float(sample.std(ddof=1)) / math.sqrt(sample.size)
        return cls(float(sample.mean()), quantile * spread, int(sample.size), confidence)

    def __str__(self) -> str:
        return f"{self.mean:.6e} ± {self.half_width:.2e}"


@dataclass(frozen=True)
class Replications:
    """The results of R independent runs of one configuration."""

    results: tuple[SimResult, ...]
    confidence: float = DEFAULT_CONFIDENCE

    def interval(self, measure: Callable[[SimResult], float]) -> MeanInterval:
        """The mean of ``measure`` over the runs, with its confidence interval."""
        return MeanInterval.of([measure(r) for r in self.results], self.confidence)

    @property
    def loss(self) -> MeanInterval:
        """1 - P / (m p), mean and interval."""
        return self.interval(lambda r: r.loss)

    @property
    def normalized_throughput(self) -> MeanInterval:
        """P / (m p), mean and interval."""
        return self.interval(lambda r: r.normalized_throughput)

    @property
    def failures(self) -> MeanInterval:
        """Software-aging failures per run, mean and interval."""
        return self.interval(lambda r: float(r.failures))


def replication_seeds(seed: np.random.SeedSequence, replications: int) -> list[np.random.SeedSequence]:
    """The seed of each replication: children 0..R-1 of ``seed`` (without changing ``seed``'s spawn count)."""
    return [np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i)) for i in range(replications)]


def replicate(
    params: Parameters,
    config: SimConfig,
    replications: int,
    seed: np.random.SeedSequence | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Replications:
    """Run ``config`` ``replications`` times, each from its own child of ``seed`` (default ``SeedSequence(config.seed)``).

    Raises :class:`ParameterError` for fewer than one replication, and
    whatever :func:`~rejuv.sim.simulate` raises.
    """
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ParameterError("replications", f"must be a whole number >= 1, got {replications!r}")
    root = seed if seed is not None else np.random.SeedSequence(config.seed)
    results = tuple(simulate(params, config, seed=child) for child in replication_seeds(root, replications))
    return Replications(results, confidence)
