"""Options of the simulator shared by ``rejuv validate`` and ``rejuv sweep``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from rejuv.cli.option_types import event_count, nonnegative_duration, renamed
from rejuv.errors import ParameterError
from rejuv.model import STRATEGIES, canonical_key
from rejuv.sim import AgingModel, DurationModel, SimConfig, SparePolicy, Stagger, WaitPolicy
from rejuv.sim.cost import DEFAULT_EVENT_LIMIT, EVENT_LIMIT_VARIABLE, EVENTS_PER_SECOND

if TYPE_CHECKING:
    from tqdm import tqdm

#: Work below this many events ends within seconds: no progress bar.
QUIET_EVENTS = 20_000_000

__all__ = ["add_sim_options", "config_from", "parse_strategies", "Progress"]


def add_sim_options(parser: argparse.ArgumentParser, spares: bool = True) -> None:
    """How the simulated cluster is run, beyond the model's parameters (``--spares K`` too unless ``spares`` is False)."""
    group = parser.add_argument_group("simulated cluster")
    group.add_argument(
        "--stagger", choices=[s.value for s in Stagger], default="even", help="host schedules (default: %(default)s)"
    )
    if spares:
        group.add_argument("--spares", type=int, default=1, help="spare hosts for migration (default: %(default)s)")
    group.add_argument(
        "--spare-policy",
        choices=[s.value for s in SparePolicy],
        default="swap",
        help="after the reboot (default: %(default)s)",
    )
    group.add_argument(
        "--wait-policy",
        choices=[s.value for s in WaitPolicy],
        default="drain",
        help="while no spare is free (default: %(default)s)",
    )
    group.add_argument(
        "--spare-reboot",
        metavar="TIME",
        type=nonnegative_duration,
        help="reboot time of an emptied host (default: D_c), e.g. 60s",
    )
    load = group.add_argument(
        "--load-fraction",
        metavar="FRACTION",
        type=float,
        default=1.0,
        help="offered load as a fraction of each host's capacity (default: 1)",
    )
    renamed(group, "--load", load)
    group.add_argument("--seed", type=int, default=0, help="seed of random staggering and draws (default: 0)")
    group.add_argument(
        "--durations",
        metavar="LAW[:CV]",
        default="fixed",
        help="phase durations around the parameters' means: fixed, lognormal:CV or gamma:CV (default: fixed)",
    )
    group.add_argument(
        "--aging",
        metavar="SHAPE:MTTF:DOWNTIME",
        help="software-aging failures: Weibull shape, mean time to failure, failure downtime, e.g. 2:60d:15min",
    )
    group.add_argument(
        "--parallel-moves", type=int, default=1, help="VMs a host migrates at once (default: %(default)s)"
    )
    group.add_argument(
        "--max-events",
        metavar="N",
        type=event_count,
        help=f"refuse work of more simulated events than this (default: ${EVENT_LIMIT_VARIABLE}, else "
        f"{DEFAULT_EVENT_LIMIT:.0e}, some {DEFAULT_EVENT_LIMIT / EVENTS_PER_SECOND / 60:.0f} min)",
    )
    group.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def config_from(args: argparse.Namespace) -> SimConfig:
    """The simulator settings the options describe (strategy and hosts are set per run)."""
    return SimConfig(
        stagger=args.stagger,
        spares=getattr(args, "spares", 1),  # rejuv sweep sets the spares of each point
        spare_policy=args.spare_policy,
        wait_policy=args.wait_policy,
        spare_reboot_time=args.spare_reboot,
        offered_load=args.load_fraction,
        seed=args.seed,
        durations=DurationModel.parse(args.durations),
        aging=None if args.aging is None else AgingModel.parse(args.aging),
        parallel_moves=args.parallel_moves,
    )


def parse_strategies(text: str) -> list[str]:
    """``"warm,cold"`` (or ``all``) as strategy keys, aliases made canonical; raises ParameterError for an unknown one."""
    if text == "all":
        return list(STRATEGIES)
    keys = [item.strip() for item in text.split(",") if item.strip()]
    if not keys:
        raise ParameterError("--strategies", f"expected all or some of {', '.join(STRATEGIES)}, got {text!r}")
    canonical = []
    for key in keys:
        try:
            canonical.append(canonical_key(key))
        except ParameterError:
            raise ParameterError(
                "--strategies", f"unknown strategy {key!r}; expected all or some of {', '.join(STRATEGIES)}"
            ) from None
    return canonical


class Progress:
    """A tqdm bar of simulated events on stderr, shown only for work of more than :data:`QUIET_EVENTS`."""

    def __init__(self, disabled: bool) -> None:
        self.disabled = disabled
        self.bar: tqdm[None] | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.disabled or total < QUIET_EVENTS:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="event", unit_scale=True, file=sys.stderr, desc="simulating")
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
