"""``rejuv synth``: a realistic synthetic trace from model parameters."""

from __future__ import annotations

import argparse
from pathlib import Path

from rejuv.cli.options import add_parameter_options, duration, parameters_from
from rejuv.errors import ParameterError
from rejuv.trace.store import write_trace
from rejuv.trace.synth import Migration, event_from_parameters, synthesize

#: Migration kinds and the parameter field holding their Table 1 profile.
PROFILES = {
    "migration": "stop_and_copy_profile",
    "live": "live_migration_profile",
    "live_rate_control": "live_migration_profile_rate_control",
}

HELP = "make a synthetic throughput trace of a rejuvenation or a migration, from model parameters"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kind", choices=("warm", "cold", "os", *PROFILES), default="warm", help="the event (default: %(default)s)"
    )
    parser.add_argument("--vms", type=int, help="VMs on the host (default: the parameters' n)")
    parser.add_argument(
        "--load", type=float, help="offered load per VM, req/s (default: the parameters' p / n, as Table 1 assumes)"
    )
    parser.add_argument("--before", type=duration, default=120.0, help="baseline before the event (default: 120s)")
    parser.add_argument("--after", type=duration, default=300.0, help="time after the degraded period (default: 300s)")
    parser.add_argument("--step", type=duration, default=1.0, help="sampling step (default: 1s)")
    parser.add_argument(
        "--noise", type=float, default=0.05, help="sample noise, fraction of the load (default: %(default)s)"
    )
    parser.add_argument(
        "--jitter", type=float, default=0.1, help="sampling jitter, fraction of a step (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    add_parameter_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="the .trace file to write")


def run(args: argparse.Namespace) -> int:
    params = parameters_from(args)
    # Table 1's throughputs are absolute: a migration trace is consistent only with the parameters' n and p.
    if args.vms is None:
        args.vms = round(float(params.vms_per_host))
    if args.load is None:
        args.load = float(params.host_throughput) / args.vms
    if args.vms < 1 or (args.kind == "os" and args.vms < 2):
        raise ParameterError(
            "--vms", f"needs at least {2 if args.kind == 'os' else 1} VMs for {args.kind}, got {args.vms}"
        )
    if args.load <= 0:
        raise ParameterError("--load", f"must be > 0 req/s, got {args.load:g}")
    common = {
        "vms": args.vms,
        "load": args.load,
        "step": args.step,
        "noise": args.noise,
        "jitter": args.jitter,
        "seed": args.seed,
    }
    if args.kind in PROFILES:
        profile = getattr(params, PROFILES[args.kind])
        length = args.before + profile.total_time(args.vms) + args.after
        trace = synthesize(length, migrations=[Migration(args.before, profile)], **common)
    else:
        event = event_from_parameters(params, args.kind, args.before)
        length = args.before + event.downtime + event.degraded_period + args.after
        trace = synthesize(length, events=[event], **common)
    write_trace(trace, args.out)
    print(f"wrote {args.out}: {trace.samples} samples of {args.vms} VMs, one {args.kind} event at {args.before:g} s")
    return 0
