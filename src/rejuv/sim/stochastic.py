"""What varies from one rejuvenation to the next: phase durations, and software-aging failures.

Durations. The closed form charges every rejuvenation the same measured
means (D_w, R_vmm, D_c, n D_m, M_l, ...). A :class:`DurationModel` lets each
phase of each VMM rejuvenation last ``mean × X`` instead, with X drawn
independently with E[X] = 1 and coefficient of variation c:

- lognormal: X = exp(σ Z - σ²/2) with σ² = ln(1 + c²);
- gamma: shape 1/c², scale c².

The means stay the model's parameters (as measured, or fitted from traces by
``rejuv fit``), so the expected loss of a rejuvenation is the model's; what
changes is the spread, and through it the spare-host queue and the overlaps.

Failures. Software aging makes a VMM more likely to fail the longer it has
run since its last rejuvenation. An :class:`AgingModel` draws the time to
failure T from a Weibull distribution with shape k and scale λ (mean
λ Γ(1 + 1/k)); its hazard h(t) = (k/λ)(t/λ)^(k-1) grows with t for k > 1
(k = 1 is the memoryless exponential: no aging). A failure is an unplanned
cold reboot of the host: its own downtime (detection and reboot, longer than
a planned D_c), then Cold-VM Reboot's degraded period R'_vmm at ω'. Both a
rejuvenation and a failure reset the aging clock.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import ParameterError
from rejuv.model import format_duration, parse_duration

__all__ = ["AgingModel", "Distribution", "DurationModel"]

Array = NDArray[np.float64]

#: A coefficient of variation beyond this is no measured duration any more.
MOST_VARIATION = 10.0


class Distribution(enum.Enum):
    """The law of a phase duration around its mean."""

    FIXED = "fixed"  #: always the mean (the closed form's assumption)
    LOGNORMAL = "lognormal"  #: right-skewed, every duration > 0
    GAMMA = "gamma"  #: right-skewed, exponential at c = 1


@dataclass(frozen=True)
class DurationModel:
    """How each phase of a VMM rejuvenation varies around its mean: a law and a coefficient of variation."""

    distribution: Distribution = Distribution.FIXED
    variation: float = 0.0  #: c = standard deviation / mean; 0 for FIXED

    def __post_init__(self) -> None:
        if not isinstance(self.distribution, Distribution):
            try:
                object.__setattr__(self, "distribution", Distribution(self.distribution))
            except ValueError:
                choices = ", ".join(d.value for d in Distribution)
                raise ParameterError("durations", f"expected one of {choices}, got {self.distribution!r}") from None
        c = self.variation
        if self.distribution is Distribution.FIXED:
            if c != 0:
                raise ParameterError("durations", f"fixed durations have no variation, got {c!r}")
        elif not (math.isfinite(c) and 0 < c <= MOST_VARIATION):
            raise ParameterError(
                "durations", f"the coefficient of variation must be in (0, {MOST_VARIATION:g}], got {c!r}"
            )

    @classmethod
    def parse(cls, text: str) -> DurationModel:
        """``fixed``, ``lognormal:0.3`` or ``gamma:0.5`` (law and coefficient of variation)."""
        law, _, value = text.partition(":")
        if law == Distribution.FIXED.value and not value:
            return cls()
        try:
            variation = float(value)
        except ValueError:
            raise ParameterError(
                "--durations", f"expected fixed, lognormal:CV or gamma:CV (e.g. lognormal:0.3), got {text!r}"
            ) from None
        try:
            distribution = Distribution(law)
        except ValueError:
            choices = ", ".join(d.value for d in Distribution)
            raise ParameterError("--durations", f"unknown law {law!r}; expected one of {choices}") from None
        return cls(distribution, variation)  # checks the coefficient of variation, naming it

    @property
    def random(self) -> bool:
        """Whether durations vary at all."""
        return self.distribution is not Distribution.FIXED

    def factors(self, shape: tuple[int, ...], rng: np.random.Generator) -> Array:
        """Independent multipliers X of the means, E[X] = 1, std(X) = c; ones when fixed."""
        if self.distribution is Distribution.FIXED:
            return np.ones(shape)
        c2 = self.variation**2
        if self.distribution is Distribution.LOGNORMAL:
            sigma2 = math.log1p(c2)
            result: Array = rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), size=shape)
            return result
        gamma: Array = rng.gamma(1.0 / c2, c2, size=shape)
        return gamma

    def __str__(self) -> str:
        return "fixed" if not self.random else f"{self.distribution.value}:{self.variation:g}"


@dataclass(frozen=True)
class AgingModel:
    """Software-aging failures: a Weibull time to failure since the last rejuvenation, and the failure's downtime."""

    shape: float  #: k; the hazard grows with the VMM's age for k > 1
    mean_time_to_failure: float  #: E[T] from a freshly rejuvenated VMM, s
    downtime: float  #: of the unplanned cold reboot a failure causes (detection and reboot), s

    def __post_init__(self) -> None:
        if not (math.isfinite(self.shape) and 0 < self.shape <= 20):
            raise ParameterError("aging.shape", f"the Weibull shape must be in (0, 20], got {self.shape!r}")
        if not (math.isfinite(self.mean_time_to_failure) and self.mean_time_to_failure > 0):
            raise ParameterError(
                "aging.mean_time_to_failure", f"must be a finite time > 0 s, got {self.mean_time_to_failure!r}"
            )
        if not (math.isfinite(self.downtime) and self.downtime > 0):
            raise ParameterError("aging.downtime", f"must be a finite time > 0 s, got {self.downtime!r}")

    @classmethod
    def parse(cls, text: str) -> AgingModel:
        """``SHAPE:MTTF:DOWNTIME``, e.g. ``2:60d:15min`` (Weibull shape, mean time to failure, failure downtime)."""
        parts = text.split(":")
        if len(parts) != 3:
            raise ParameterError("--aging", f"expected SHAPE:MTTF:DOWNTIME (e.g. 2:60d:15min), got {text!r}")
        try:
            shape = float(parts[0])
            mttf, downtime = parse_duration(parts[1]), parse_duration(parts[2])
        except ValueError as err:
            raise ParameterError("--aging", f"{err} (expected SHAPE:MTTF:DOWNTIME, e.g. 2:60d:15min)") from None
        return cls(shape, mttf, downtime)

    @property
    def scale(self) -> float:
        """λ = E[T] / Γ(1 + 1/k), s."""
        return self.mean_time_to_failure / math.gamma(1.0 + 1.0 / self.shape)

    def hazard(self, age: Array | float) -> Array:
        """h(t) = (k/λ)(t/λ)^(k-1): failures per second of a VMM that has run ``age`` seconds since rejuvenation."""
        k, scale = self.shape, self.scale
        result: Array = (k / scale) * (np.asarray(age, dtype=np.float64) / scale) ** (k - 1)
        return result

    def failure_probability(self, age: Array | float) -> Array:
        """P(T <= t) = 1 - exp(-(t/λ)^k): that a VMM fails within ``age`` seconds of its rejuvenation."""
        result: Array = -np.expm1(-((np.asarray(age, dtype=np.float64) / self.scale) ** self.shape))
        return result

    def times_to_failure(self, shape: tuple[int, ...], rng: np.random.Generator) -> Array:
        """Independent draws of T, s."""
        result: Array = self.scale * rng.weibull(self.shape, size=shape)
        return result

    def __str__(self) -> str:
        mttf, downtime = format_duration(self.mean_time_to_failure), format_duration(self.downtime)
        return f"Weibull k = {self.shape:g}, mean time to failure {mttf}, failure downtime {downtime}"
