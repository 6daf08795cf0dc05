"""What to simulate: the cluster, its schedule and the policies the paper leaves open.

A :class:`SimConfig` holds everything a run needs besides the model's
:class:`~rejuv.model.Parameters`: the strategy, the number of hosts m, the
horizon in whole VMM rejuvenation intervals T_vmm, how host schedules are
staggered, the spare-host pool and its policies, the offered load, and what
goes beyond the closed form: random phase durations, software-aging
failures and how many VMs a migration moves at once. Every field is checked
when the config is built; a wrong one raises
:class:`~rejuv.errors.ParameterError` naming it.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from typing import Any

from rejuv.errors import ParameterError
from rejuv.model import STRATEGIES
from rejuv.sim.stochastic import AgingModel, DurationModel

__all__ = ["SimConfig", "SparePolicy", "Stagger", "WaitPolicy"]


class Stagger(enum.Enum):
    """How the hosts' VMM rejuvenations are placed within T_vmm."""

    EVEN = "even"  #: host h starts at h T_vmm / m' (the closed form's assumption)
    ALIGNED = "aligned"  #: every host at the same time
    RANDOM = "random"  #: uniformly at random, from the run's seed


class SparePolicy(enum.Enum):
    """What happens after a host's VMs have moved to a spare and its VMM rebooted."""

    SWAP = "swap"  #: the VMs stay; the rebooted host becomes the spare (one migration per T_vmm)
    RETURN = "return"  #: the VMs move back; the spare is free once they have (two migrations)


class WaitPolicy(enum.Enum):
    """What a host does while its VMM rejuvenation is due and no spare is free."""

    DRAIN = "drain"  #: it leaves service until a spare is free (T_vmm is a deadline)
    SERVE = "serve"  #: it keeps serving and rejuvenates late


def _enum(kind: type[enum.Enum], field: str, value: Any) -> Any:
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(item.value for item in kind)
        raise ParameterError(field, f"expected one of {choices}, got {value!r}") from None


@dataclass(frozen=True)
class SimConfig:
    """One simulated cluster (durations in seconds).

    ``spare_reboot_time`` is how long the VMM of a host emptied by migration
    takes to reboot before that host can serve as the spare; None uses the
    cold reboot downtime D_c, the paper's only measured full VMM reboot (an
    upper bound for a host without VMs). ``offered_load`` is the load as a
    fraction of what the serving hosts can serve when all are up; the closed
    form assumes 1 (every host saturated). ``durations`` says how each phase
    of a VMM rejuvenation varies around its mean (fixed: deterministic mode),
    ``aging`` adds software-aging failures (None: none), and
    ``parallel_moves`` is how many VMs of a host migrate at once. ``seed``
    seeds every random draw of a run (random stagger, durations, failures).
    """

    strategy: str = "warm"
    hosts: int = 100
    periods: int = 13
    stagger: Stagger = Stagger.EVEN
    spares: int = 1
    spare_policy: SparePolicy = SparePolicy.SWAP
    wait_policy: WaitPolicy = WaitPolicy.DRAIN
    spare_reboot_time: float | None = None
    offered_load: float = 1.0
    seed: int = 0
    durations: DurationModel = field(default_factory=DurationModel)
    aging: AgingModel | None = None
    parallel_moves: int = 1

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ParameterError("strategy", f"unknown; expected one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        object.__setattr__(self, "stagger", _enum(Stagger, "stagger", self.stagger))
        object.__setattr__(self, "spare_policy", _enum(SparePolicy, "spare_policy", self.spare_policy))
        object.__setattr__(self, "wait_policy", _enum(WaitPolicy, "wait_policy", self.wait_policy))
        if not isinstance(self.durations, DurationModel):
            raise ParameterError("durations", f"expected a DurationModel, got {self.durations!r}")
        if self.aging is not None and not isinstance(self.aging, AgingModel):
            raise ParameterError("aging", f"expected an AgingModel or None, got {self.aging!r}")
        for name in ("hosts", "periods", "spares", "seed", "parallel_moves"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ParameterError(name, f"must be a whole number, got {value!r}")
        if self.periods < 1:
            raise ParameterError("periods", f"must be >= 1 whole T_vmm, got {self.periods}")
        if self.spares < 1:
            raise ParameterError("spares", f"must be >= 1, got {self.spares}")
        if self.parallel_moves < 1:
            raise ParameterError("parallel_moves", f"must be >= 1 VM at a time, got {self.parallel_moves}")
        if self.seed < 0:
            raise ParameterError("seed", f"must be >= 0, got {self.seed}")
        least = self.spares + 1 if self.uses_spares else 1
        if self.hosts < least:
            why = f" ({self.spares} spare host(s) and at least one that serves)" if self.uses_spares else ""
            raise ParameterError("hosts", f"must be >= {least}{why}, got {self.hosts}")
        reboot = self.spare_reboot_time
        if reboot is not None and not (math.isfinite(reboot) and reboot >= 0):
            raise ParameterError("spare_reboot_time", f"must be a finite time >= 0 s, got {reboot!r}")
        if not (math.isfinite(self.offered_load) and 0 < self.offered_load <= 1):
            raise ParameterError("offered_load", f"must be in (0, 1], got {self.offered_load!r}")

    @property
    def uses_spares(self) -> bool:
        """Whether the strategy migrates VMs to spare hosts."""
        return STRATEGIES[self.strategy].needs_spare_host

    @property
    def random(self) -> bool:
        """Whether a run draws anything at random (else one run is the whole answer)."""
        return self.stagger is Stagger.RANDOM or self.durations.random or self.aging is not None

    @property
    def serving_hosts(self) -> int:
        """m': the hosts whose VMs serve (m less the spares)."""
        return self.hosts - self.spares if self.uses_spares else self.hosts

    def replace(self, **changes: Any) -> SimConfig:
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)
