"""``rejuv lab``: build the guest image, and run a rejuvenation on real QEMU VMs into a trace."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from rejuv.cli.options import duration
from rejuv.lab.accel import ACCELERATORS
from rejuv.lab.cleanup import CLEANUP, interrupt_on_sigterm
from rejuv.lab.errors import LabError
from rejuv.lab.experiment import Experiment, run_experiment
from rejuv.lab.image import DEFAULT_FILE_KB, DEFAULT_FILES, ImageRecipe, build_image
from rejuv.lab.procedures import PROCEDURES
from rejuv.trace.store import write_trace

HELP = "real QEMU VMs: build the guest image (image), or measure a rejuvenation into a trace (run)"


def _image_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--files", type=int, default=DEFAULT_FILES, help="data files (default: %(default)s)")
    parser.add_argument("--file-kb", type=int, default=DEFAULT_FILE_KB, help="KB per file (default: %(default)s)")
    parser.add_argument("--kernel-package", help="Debian kernel package (default: the current cloud kernel)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="lab_command", metavar="SUBCOMMAND", required=True)
    image = commands.add_parser("image", help="build (or find in the cache) the guest image and print its files")
    _image_options(image)
    run = commands.add_parser("run", help="boot VMs, load them, run a procedure, write a .trace")
    run.add_argument("--procedure", choices=tuple(PROCEDURES), default="warm", help="(default: %(default)s)")
    run.add_argument("--vms", type=int, default=4, help="VMs on the host (default: %(default)s)")
    run.add_argument("--rate", type=float, default=10.0, help="offered load per VM, req/s (default: %(default)s)")
    run.add_argument("--before", type=duration, default=30.0, help="load before the procedure (default: 30s)")
    run.add_argument("--after", type=duration, default=60.0, help="load after it (default: 60s)")
    run.add_argument("--memory", type=int, default=128, help="guest RAM, MB (default: %(default)s)")
    run.add_argument("--disk-kbps", type=int, default=512, help="throttled disk bandwidth, KB/s (default: 512)")
    run.add_argument("--accel", choices=ACCELERATORS, default="auto", help="(default: %(default)s, probed)")
    run.add_argument("--os-vm", type=int, default=0, help="the VM the os procedure reboots (default: 0)")
    run.add_argument("--step", type=duration, default=1.0, help="throughput sampling step (default: 1s)")
    run.add_argument("--seed", type=int, default=0, help="seed of the data files (default: %(default)s)")
    _image_options(run)
    run.add_argument("--out", type=Path, required=True, help="the .trace file to write")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    recipe = ImageRecipe(args.files, args.file_kb, args.seed if "seed" in args else 0, args.kernel_package)
    if args.lab_command == "image":
        image = build_image(recipe, progress=_say)
        for name in ("kernel", "initrd", "disk"):
            print(f"{name}: {getattr(image, name)}")
        print(f"kernel release: {image.kernel_release}; {image.files} files of {image.file_kb} KB; key {image.key}")
        return 0
    if not args.out.parent.is_dir():
        raise LabError("--out", f"folder {args.out.parent} does not exist")
    experiment = Experiment(
        procedure=args.procedure,
        vms=args.vms,
        rate=args.rate,
        before=args.before,
        after=args.after,
        memory_mb=args.memory,
        disk_bps=args.disk_kbps * 1024,
        accel=args.accel,
        step=args.step,
        seed=args.seed,
        os_vm=args.os_vm,
    )
    image = build_image(recipe, progress=_say)
    with interrupt_on_sigterm():
        try:
            result = asyncio.run(run_experiment(experiment, image, progress=_say))
        except KeyboardInterrupt:
            failed = CLEANUP.run_all()
            if failed:
                raise LabError("cleanup after the interruption", "; ".join(failed)) from None
            _say("interrupted: no VM, namespace or run directory left; no trace written")
            raise
    write_trace(result.trace, args.out)
    print(f"wrote {args.out}: {result.trace.samples} samples of {args.vms} VMs, {args.procedure} ({result.accel})")
    return 0
