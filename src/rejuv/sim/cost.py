"""What a simulation will cost before it runs: events, memory and time.

A few characters of input (``--hosts 1e7``, ``--periods 1e8``, a tolerance
of ``1e-12``) can ask for billions of events and hours of work.
:func:`estimate_cost` counts what :func:`~rejuv.sim.simulate` will do from
the parameters alone, and :func:`check_cost` refuses a run past the work
limit (:data:`DEFAULT_EVENT_LIMIT` events, ``REJUV_EVENT_LIMIT`` or the
caller's) or past the memory limit of :mod:`rejuv.limits`, with the estimate
and what to change.

Memory stays bounded by the chunked sweep (about 250,000 events at a time)
except for what is drawn for the whole cluster at once: the schedule, one
row per VMM rejuvenation (m' x K), the random phase durations (m' x K x
phases) and the aging failures (m' x K x rounds).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from rejuv.errors import ParameterError, ResourceLimitError
from rejuv.limits import check_memory
from rejuv.model import Parameters
from rejuv.sim.config import SimConfig
from rejuv.sim.engine import chunk_hosts
from rejuv.sim.failures import MOST_ROUNDS
from rejuv.sim.phases import vmm_profile

__all__ = [
    "PARAMETERS_REMEDY",
    "parameters_too_costly",
    "DEFAULT_EVENT_LIMIT",
    "EVENT_LIMIT_VARIABLE",
    "EVENTS_PER_SECOND",
    "SimCost",
    "check_cost",
    "event_limit",
]

#: The most simulated events one command may ask for: about 5 minutes at :data:`EVENTS_PER_SECOND`.
DEFAULT_EVENT_LIMIT = 1_000_000_000
#: The environment variable that sets the event limit (a whole number).
EVENT_LIMIT_VARIABLE = "REJUV_EVENT_LIMIT"
#: A cautious simulation speed for time estimates (measured 2.4 to 4.2 M events/s under tracemalloc on a loaded 2-core machine).
EVENTS_PER_SECOND = 3e6

# Bytes per unit of each array, calibrated with tracemalloc (peaks on a loaded 2-core machine, 2026-11-30):
# warm m = 20,000 x 13 T_vmm peaked at 19.4 MiB, m = 200 x 2,000 at 22.6 MiB, m = 200,000 x 13 at 105 MiB;
# migration m = 2,000 x 400 at 54.9 MiB; live with lognormal durations m = 200 x 2,000 at 75.9 MiB; cold with
# aging 2:2d:15min m = 100 x 2,000 at 124 MiB, with 1:1h:1min m = 1,000 x 13 at 345 MiB. With the factors
# below the estimates were 1.06x to 2.4x those peaks: a margin, never an underestimate.
_CHUNK_BYTES_PER_EVENT = 96  # a chunk of about 250,000 events: times, changes, their order and spans
_BYTES_PER_REJUVENATION = 48  # offsets, due, start, wait and their sort, per m' x K row
_BYTES_PER_DRAWN_PHASE = 24  # random durations: factors, durations and sums per phase and rejuvenation
_BYTES_PER_FAILURE_SLOT = 16  # aging failures: the starts and masks of every round of every interval


@dataclass(frozen=True)
class SimCost:
    """What one run of :func:`~rejuv.sim.simulate` will cost, estimated before it runs."""

    events: int  #: state changes of hosts and VMs
    memory: int  #: peak bytes, Python's heap (tracemalloc), not counting the interpreter and numpy
    rejuvenations: int  #: VMM rejuvenations in the horizon, m' K

    @property
    def seconds(self) -> float:
        """Wall-clock time at :data:`EVENTS_PER_SECOND`."""
        return self.events / EVENTS_PER_SECOND

    @classmethod
    def of(cls, params: Parameters, config: SimConfig) -> SimCost:
        """The cost of simulating ``config`` with ``params``; raises :class:`ParameterError` as ``simulate`` would."""
        phases = vmm_profile(params, config).durations.size
        slots, periods = config.serving_hosts, config.periods
        point = params.scalar("the simulator")
        os_per_period = point.vmm_interval / point.os_interval
        n = int(point.vms_per_host)
        per_host = periods * (phases + 3) + 3 * n * (periods * os_per_period + 2)
        rejuvenations = slots * periods
        memory = float(_BYTES_PER_REJUVENATION * rejuvenations)
        if config.durations.random:
            memory += _BYTES_PER_DRAWN_PHASE * rejuvenations * (phases + 1)
        aging = config.aging
        if aging is not None:
            # each interval fails about T_vmm / (MTTF + downtime) times, four events each (down, degraded)
            rounds = min(MOST_ROUNDS, 1.0 + point.vmm_interval / (aging.mean_time_to_failure + aging.downtime))
            per_host += 4 * (periods + 1) * rounds
            memory += _BYTES_PER_FAILURE_SLOT * slots * (periods + 1) * math.ceil(2 * rounds)
        events = slots * per_host
        chunk = min(events, chunk_hosts(params, config, phases) * per_host)
        memory += _CHUNK_BYTES_PER_EVENT * chunk
        return cls(int(min(events, 2**62)), int(min(memory, 2**62)), rejuvenations)


def parameters_too_costly(params: Parameters, config: SimConfig, limit: int) -> bool:
    """Whether the parameters alone are past ``limit``: one serving host over 13 T_vmm (OS rejuvenations T_vmm/T_os)."""
    least = config.spares + 1 if config.uses_spares else 1
    return SimCost.of(params, config.replace(hosts=least, periods=min(config.periods, 13))).events > limit


#: What to say when the parameters alone are past the event limit.
PARAMETERS_REMEDY = (
    "each of a host's n VMs rejuvenates its OS T_vmm / T_os times per T_vmm; "
    "use a longer T_os or a shorter T_vmm (--set)"
)


def event_limit() -> int:
    """The most simulated events one command may ask for (``REJUV_EVENT_LIMIT``, else :data:`DEFAULT_EVENT_LIMIT`)."""
    text = os.environ.get(EVENT_LIMIT_VARIABLE)
    if not text:
        return DEFAULT_EVENT_LIMIT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1):
        raise ParameterError(EVENT_LIMIT_VARIABLE, f"expected a whole number of events >= 1, got {text!r}")
    return int(value)


def check_cost(what: str, events: float, memory: float, remedy: str, limit: int | None = None) -> None:
    """Refuse work of ``events`` simulated events or ``memory`` bytes past the limits.

    ``what`` names the input (``hosts``, ``tolerance``), ``remedy`` says what
    to change; ``limit`` is the event limit (default :func:`event_limit`).
    Raises :class:`ResourceLimitError`.
    """
    most = event_limit() if limit is None else limit
    if events > most:
        hours = events / EVENTS_PER_SECOND / 3600
        took = f"{hours:.3g} h" if hours >= 1 else f"{hours * 60:.2g} min"
        raise ResourceLimitError(
            what,
            f"about {events:.3g} simulated events (some {took} at {EVENTS_PER_SECOND / 1e6:g} M events/s), "
            f"more than the limit of {most:.3g}; {remedy}, or raise the limit with --max-events N",
        )
    check_memory(what, memory, remedy)
