"""``rejuv lab``: build the guest image, run a rejuvenation on real QEMU VMs into a trace, run a whole study, reclaim killed runs."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from contextlib import nullcontext
from pathlib import Path

from rejuv.cli.options import duration
from rejuv.lab.accel import ACCELERATORS
from rejuv.lab.cleanup import CLEANUP
from rejuv.lab.errors import LabError
from rejuv.lab.experiment import PROCEDURE_NAMES, Experiment, check_room, run_experiment
from rejuv.lab.host import require_root
from rejuv.lab.image import DEFAULT_FILE_KB, DEFAULT_FILES, ImageRecipe, build_image
from rejuv.lab.load import MAX_CONCURRENCY
from rejuv.lab.machine import qemu_version
from rejuv.lab.mechanism import MECHANISMS, choose_mechanism
from rejuv.lab.metrics import parse_address, serve_metrics
from rejuv.lab.priority import check_nice, set_nice
from rejuv.lab.rate_control import DEFAULT_RATE_CONTROL
from rejuv.lab.reclaim import Leftover, find_leftovers, reclaim
from rejuv.lab.vm import DEFAULT_DOWNTIME_LIMIT, MAX_DOWNTIME_LIMIT
from rejuv.signals import cancelled_on_sigterm
from rejuv.trace.store import write_trace

#: The option behind each field of Experiment and ImageRecipe, so that an error names what the user typed.
_FLAGS = {
    "procedure": "--procedure",
    "vms": "--vms",
    "rate": "--rate",
    "concurrency": "--concurrency",
    "before": "--before",
    "after": "--after",
    "memory_mb": "--memory",
    "disk_bps": "--disk-kbps",
    "accel": "--accel",
    "mechanism": "--mechanism",
    "step": "--step",
    "seed": "--seed",
    "os_vm": "--os-vm",
    "link": "--link",
    "parallel_moves": "--parallel-moves",
    "hosts": "--hosts",
    "rate_control": "--rate-control",
    "downtime_limit": "--downtime-limit",
    "dirty": "--dirty",
    "dirty_buffer": "--dirty-buffer",
    "files": "--files",
    "file_kb": "--file-kb",
    "procedures": "--procedures",
    "out": "--out-dir",
}


def _image_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--files", type=int, default=DEFAULT_FILES, help="data files (default: %(default)s)")
    parser.add_argument("--file-kb", type=int, default=DEFAULT_FILE_KB, help="KB per file (default: %(default)s)")
    parser.add_argument("--kernel-package", help="Debian kernel package (default: the current cloud kernel)")


def _nice_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nice",
        type=int,
        metavar="N",
        help="niceness -20..19 of the run's processes (QEMU, the load client, this one; below 0 gives them more "
        "CPU against other jobs, e.g. -10: ~9x a nice-0 job's weight; default: unchanged)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="lab_command", metavar="SUBCOMMAND", required=True)
    image = commands.add_parser("image", help="build (or find in the cache) the guest image and print its files")
    _image_options(image)
    run = commands.add_parser("run", help="boot VMs, load them, run a procedure, write a .trace")
    run.add_argument(
        "--procedure",
        choices=PROCEDURE_NAMES,
        default="warm",
        help="(default: %(default)s; migration, live and live_rate_control empty each loaded host onto the spare in the lab of --hosts hosts)",
    )
    run.add_argument(
        "--vms", type=int, default=4, help="VMs on the host, or on each loaded host (default: %(default)s)"
    )
    run.add_argument("--rate", type=float, help=f"offered load per VM, req/s, open loop (default: {Experiment.rate:g})")
    run.add_argument(
        "--concurrency",
        type=int,
        metavar="C",
        help=f"closed loop instead of --rate: C requests in flight per VM, each sent when one ends, so the "
        f"replies/s are the VMs' capacity (1 to {MAX_CONCURRENCY}; default: open loop)",
    )
    run.add_argument("--before", type=duration, default=30.0, help="load before the procedure (default: 30s)")
    run.add_argument("--after", type=duration, default=60.0, help="load after it (default: 60s)")
    run.add_argument("--memory", type=int, default=128, help="guest RAM, MB (default: %(default)s)")
    run.add_argument("--disk-kbps", type=int, default=512, help="throttled disk bandwidth, KB/s (default: 512)")
    run.add_argument("--accel", choices=ACCELERATORS, default="auto", help="(default: %(default)s, probed)")
    run.add_argument(
        "--mechanism",
        choices=MECHANISMS,
        default="auto",
        help="how warm reboots restart QEMU (default: %(default)s, the best the installed QEMU has)",
    )
    run.add_argument(
        "--link",
        help="each host's up-link rate, shared by its VMs' traffic and its migrations, e.g. 1gbit or 100mbit "
        "(default: 1gbit; migration procedures)",
    )
    run.add_argument(
        "--hosts",
        type=int,
        default=2,
        help="hosts of the lab, the spare included: each host in turn is emptied onto the spare, rejuvenated, "
        "and becomes the next spare (default: 2; migration procedures)",
    )
    run.add_argument(
        "--parallel-moves",
        type=int,
        default=1,
        help="VMs that migrate at once (default: 1, the paper's; migration procedures)",
    )
    run.add_argument(
        "--rate-control",
        metavar="INITIAL,INCREMENT,MAXIMUM",
        help="live_rate_control's rates: the first round's, the increment over the measured dirtying rate, "
        f"the maximum (default: {DEFAULT_RATE_CONTROL}, the paper's)",
    )
    run.add_argument(
        "--downtime-limit",
        type=duration,
        metavar="D",
        help="live's downtime limit: QEMU switches a move over once the rest can be sent within D "
        f"(whole ms, 1ms to {MAX_DOWNTIME_LIMIT // 1000}s; default: QEMU's {DEFAULT_DOWNTIME_LIMIT}ms; live only)",
    )
    run.add_argument(
        "--dirty",
        type=float,
        default=0.0,
        metavar="MIB_PER_S",
        help="MiB/s each guest rewrites in a buffer (default: 0, the web workload alone, as in the paper)",
    )
    run.add_argument(
        "--dirty-buffer",
        type=int,
        metavar="MIB",
        help="MiB of that buffer, filled with random bytes at boot (default with --dirty: half the guest RAM)",
    )
    run.add_argument("--os-vm", type=int, default=0, help="the VM the os procedure reboots (default: 0)")
    run.add_argument("--step", type=duration, default=1.0, help="throughput sampling step (default: 1s)")
    _nice_option(run)
    run.add_argument("--seed", type=int, default=0, help="seed of the data files (default: %(default)s)")
    run.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve the client's replies per VM for Prometheus at http://HOST:PORT/metrics while the run lasts "
        "(rejuv_lab_replies_total, rejuv_lab_errors_total; default: off)",
    )
    _image_options(run)
    run.add_argument("--out", type=Path, required=True, help="the .trace file to write")
    from rejuv.cli import lab_study  # it builds on this module's helpers

    lab_study.add_arguments(
        commands.add_parser("study", help="run every procedure on one configuration, fit them, compare, summarise")
    )
    clean = commands.add_parser(
        "clean", help="remove the namespaces, run directories and memory files of runs whose process is gone"
    )
    clean.add_argument("--dry-run", action="store_true", help="only say what would be removed")


def experiment_from(args: argparse.Namespace, procedure: str, link: str | None) -> Experiment:
    """The :class:`Experiment` the options describe (``rejuv lab run``'s or ``lab study``'s); raises LabError."""
    concurrency = getattr(args, "concurrency", None)
    if concurrency is not None and args.rate is not None:
        raise LabError("--rate", "closed loop (--concurrency) sends as fast as the VMs reply: give one of the two")
    return Experiment(
        procedure=procedure,
        vms=args.vms,
        rate=args.rate if args.rate is not None else Experiment.rate,
        concurrency=concurrency,
        before=args.before,
        after=args.after,
        memory_mb=args.memory,
        disk_bps=args.disk_kbps * 1024,
        accel=args.accel,
        mechanism=args.mechanism,
        step=args.step,
        seed=args.seed,
        os_vm=getattr(args, "os_vm", 0),
        link=link,
        parallel_moves=getattr(args, "parallel_moves", 1),
        hosts=getattr(args, "hosts", 2),
        rate_control=getattr(args, "rate_control", None),
        downtime_limit=getattr(args, "downtime_limit", None),
        dirty=getattr(args, "dirty", 0.0),
        dirty_buffer=getattr(args, "dirty_buffer", None),
    )


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _flagged(err: LabError) -> LabError:
    """``err`` naming the command-line option rather than the field."""
    return LabError(_FLAGS[err.what], err.why) if err.what in _FLAGS else err


def clean(dry_run: bool) -> int:
    """``rejuv lab clean``: list every lab resource, remove the stale ones (not with ``dry_run``)."""
    if os.geteuid() != 0:
        raise LabError("rejuv lab clean", "needs root: lab runs' namespaces and run directories belong to root")
    found = find_leftovers()
    stale = [leftover for leftover in found if leftover.stale]
    for leftover in found:
        verb = ("would remove" if dry_run else "removing") if leftover.stale else "leaving"
        print(f"{verb} {leftover.describe()}")
    failed = [] if dry_run else reclaim(stale)
    if failed:
        raise LabError("rejuv lab clean", "could not remove " + "; ".join(failed))
    print(f"{'would reclaim' if dry_run else 'reclaimed'} {_summary(stale)}" if stale else "nothing to reclaim")
    return 0


def _summary(stale: list[Leftover]) -> str:
    namespaces = sum(1 for leftover in stale if leftover.kind == "network namespace")
    directories = len(stale) - namespaces
    size = sum(leftover.size for leftover in stale) / 2**20
    return (
        f"{namespaces} network namespace{'' if namespaces == 1 else 's'}, "
        f"{directories} run director{'y' if directories == 1 else 'ies'} holding {size:.1f} MB"
    )


def _sweep() -> None:
    """Reclaim what killed runs left before making more, saying so on stderr."""
    stale = [leftover for leftover in find_leftovers() if leftover.stale]
    if not stale:
        return
    failed = reclaim(stale)
    _say(f"warning: reclaimed what killed runs left ({_summary(stale)}):")
    for leftover in stale:
        _say(f"warning:   {leftover.describe()}")
    for failure in failed:
        _say(f"warning: could not remove {failure}")


def run(args: argparse.Namespace) -> int:
    if args.lab_command == "clean":
        return clean(args.dry_run)
    if args.lab_command == "study":
        from rejuv.cli import lab_study

        return lab_study.run(args)
    try:
        recipe = ImageRecipe(args.files, args.file_kb, args.seed if "seed" in args else 0, args.kernel_package)
    except LabError as err:
        raise _flagged(err) from err
    if args.lab_command == "image":
        image = build_image(recipe, progress=_say)
        for name in ("kernel", "initrd", "disk"):
            print(f"{name}: {getattr(image, name)}")
        print(f"kernel release: {image.kernel_release}; {image.files} files of {image.file_kb} KB; key {image.key}")
        return 0
    try:  # every check that needs nothing made, before anything is
        experiment = experiment_from(args, args.procedure, args.link)
        choose_mechanism(experiment.mechanism, qemu_version())  # one the installed QEMU has
        if args.nice is not None:
            check_nice(args.nice, "--nice")
    except LabError as err:
        raise _flagged(err) from err
    address = None if args.metrics is None else parse_address(args.metrics)
    if args.out.is_dir():
        raise LabError("--out", f"{args.out} is a folder; name the .trace file to write")
    if not args.out.parent.is_dir():
        raise LabError("--out", f"folder {args.out.parent} does not exist")
    if not os.access(args.out.parent, os.W_OK):
        raise LabError("--out", f"folder {args.out.parent} is not writable")
    require_root()
    if args.nice is not None:  # before QEMU and the client start: they inherit it
        set_nice(args.nice, "--nice")
    _sweep()
    try:
        check_room(experiment)
    except LabError as err:
        raise _flagged(err) from err
    image = build_image(recipe, progress=_say)
    try:  # the command line turns SIGTERM into KeyboardInterrupt too
        with nullcontext(None) if address is None else serve_metrics(address, experiment.total_vms) as count:
            if address is not None:
                _say(f"metrics: http://{args.metrics}/metrics")
            result = asyncio.run(
                cancelled_on_sigterm(run_experiment(experiment, image, progress=_say, on_request=count))
            )
    except KeyboardInterrupt:
        failed = CLEANUP.run_all()
        if failed:
            raise LabError("cleanup after the interruption", "; ".join(failed)) from None
        _say("interrupted: no VM, namespace or run directory left; no trace written")
        raise
    write_trace(result.trace, args.out)
    print(
        f"wrote {args.out}: {result.trace.samples} samples of {experiment.total_vms} VMs, {args.procedure} ({result.accel})"
    )
    return 0
