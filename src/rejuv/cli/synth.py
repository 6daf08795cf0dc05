"""``rejuv synth``: a realistic synthetic trace from model parameters."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rejuv.cli.option_types import bounded, nonnegative_duration, positive_duration, positive_number, renamed, whole
from rejuv.cli.options import add_parameter_options, parameters_from
from rejuv.errors import ParameterError
from rejuv.limits import check_memory
from rejuv.model import STRATEGIES, MigrationStrategy
from rejuv.trace.events import event_kinds
from rejuv.trace.store import write_trace
from rejuv.trace.synth import Migration, event_from_parameters, synthesis_memory, synthesize

#: Samples times VMs from which synthesis takes more than a few seconds: about 4 s per 10^7 on
#: a busy 2-core machine, and compressing the file as long again.
_SLOW_SAMPLES = 1e7

_DEFAULT_BEFORE, _DEFAULT_AFTER, _DEFAULT_STEP = 120.0, 300.0, 1.0  #: seconds
_TYPICAL_EVENT = 3600.0  #: s; the paper's longest event (a cold reboot's degraded period) is 397 s


def add_arguments(parser: argparse.ArgumentParser) -> None:
    migrations = [key for key, item in STRATEGIES.items() if isinstance(item, MigrationStrategy)]
    parser.add_argument(
        "--kind", choices=(*event_kinds(), *migrations), default="warm", help="the event (default: %(default)s)"
    )
    parser.add_argument("--vms", type=whole(1), help="VMs on the host (default: the parameters' n)")
    rate = parser.add_argument(
        "--rate",
        metavar="REQ_PER_S",
        type=positive_number,
        help="offered load per VM, req/s, as rejuv lab run --rate (default: the parameters' p / n, as Table 1 assumes)",
    )
    renamed(parser, "--load", rate)
    parser.add_argument(
        "--before", type=nonnegative_duration, default=_DEFAULT_BEFORE, help="baseline before the event (default: 120s)"
    )
    parser.add_argument(
        "--after",
        type=nonnegative_duration,
        default=_DEFAULT_AFTER,
        help="time after the degraded period (default: 300s)",
    )
    parser.add_argument("--step", type=positive_duration, default=_DEFAULT_STEP, help="sampling step (default: 1s)")
    parser.add_argument(
        "--noise", type=bounded(0, 1), default=0.05, help="sample noise, fraction of the load (default: %(default)s)"
    )
    parser.add_argument(
        "--jitter", type=bounded(0, 0.5), default=0.1, help="sampling jitter, fraction of a step (default: %(default)s)"
    )
    parser.add_argument("--seed", type=whole(0), default=0, help="random seed (default: %(default)s)")
    add_parameter_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="the .trace file to write")


def run(args: argparse.Namespace) -> int:
    params = parameters_from(args)
    point = params.scalar("a synthetic trace")
    # Table 1's throughputs are absolute: a migration trace is consistent only with the parameters' n and p.
    if args.vms is None:
        args.vms = round(point.vms_per_host)
    if args.rate is None:
        args.rate = point.host_throughput / args.vms
    if args.vms < 1 or (args.kind == "os" and args.vms < 2):
        raise ParameterError(
            "--vms", f"needs at least {2 if args.kind == 'os' else 1} VMs for {args.kind}, got {args.vms}"
        )
    if args.rate <= 0:
        raise ParameterError("--rate", f"must be > 0 req/s, got {args.rate:g}")
    common = {
        "vms": args.vms,
        "load": args.rate,
        "step": args.step,
        "noise": args.noise,
        "jitter": args.jitter,
        "seed": args.seed,
    }
    item = STRATEGIES.get(args.kind)
    if isinstance(item, MigrationStrategy):
        profile = item.profile(params)
        length = args.before + profile.total_time(args.vms) + args.after
        plan: dict[str, Any] = {"migrations": [Migration(args.before, profile)]}
    else:
        event = event_from_parameters(params, args.kind, args.before)
        length = args.before + event.length + args.after
        plan = {"events": [event]}
    if length < args.step:
        raise ParameterError("--step", f"must be at most the trace's length ({length:g} s), got {args.step:g} s")
    samples = length / args.step
    check_memory(
        _culprit(args, length, point.vms_per_host),
        synthesis_memory(samples, args.vms),
        f"{length:g} s at a {args.step:g} s step is {samples:,.0f} samples of {args.vms} VMs; "
        "use a coarser --step, a shorter --before or --after, fewer --vms, or shorter events",
    )
    with _progress(samples * args.vms, args.vms) as advance:
        trace = synthesize(length, progress=advance, **plan, **common)
    if advance is not None:
        print(f"synth: writing {args.out}", file=sys.stderr)
    write_trace(trace, args.out)
    print(f"wrote {args.out}: {trace.samples} samples of {args.vms} VMs, one {args.kind} event at {args.before:g} s")
    return 0


def _culprit(args: argparse.Namespace, length: float, vms_per_host: float) -> str:
    """The option that made the trace big: the one furthest past its default (a finer --step, a longer --after...)."""
    growth = {
        "--step": _DEFAULT_STEP / args.step,
        "--before": args.before / _DEFAULT_BEFORE,
        "--after": args.after / _DEFAULT_AFTER,
        "--vms": args.vms / vms_per_host,
        # the event's own length comes from the parameters (the paper's are minutes long)
        "the event's duration (--set, --params)": (length - args.before - args.after) / _TYPICAL_EVENT,
    }
    return max(growth, key=lambda option: growth[option])


@contextlib.contextmanager
def _progress(work: float, vms: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar over the VMs on stderr, for traces big enough to take more than a few seconds."""
    if work < _SLOW_SAMPLES:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=vms, unit="VM", desc="synth", file=sys.stderr) as bar:
        yield lambda done: bar.update(done - bar.n)
