"""``rejuv lab study``: every lab procedure on one configuration, fitted, compared and summarised."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rejuv.cli.lab import _flagged, _image_options, _nice_option, _say, _sweep, experiment_from
from rejuv.cli.options import duration
from rejuv.lab.accel import ACCELERATORS
from rejuv.lab.errors import LabError
from rejuv.lab.experiment import check_room
from rejuv.lab.host import require_root
from rejuv.lab.image import ImageRecipe, build_image
from rejuv.lab.machine import qemu_version
from rejuv.lab.mechanism import MECHANISMS, choose_mechanism
from rejuv.lab.priority import check_nice, set_nice
from rejuv.model import DEFAULT_PRESET, load_preset
from rejuv.study import MEASURED_FILE, StudySettings, report_study, run_study, study_procedures
from rejuv.study.lab_runner import lab_runner
from rejuv.study.plan import DEFAULT_RUN
from rejuv.study.summary import markdown

__all__ = ["add_arguments", "run"]

DEFAULTS = DEFAULT_RUN


def add_arguments(parser: argparse.ArgumentParser) -> None:
    every = ",".join(study_procedures())
    parser.add_argument(
        "--out-dir", type=Path, required=True, help="the study's folder (made if missing; resumed if not empty)"
    )
    parser.add_argument("--procedures", default=every, help="comma-separated (default: %(default)s)")
    parser.add_argument("--vms", type=int, default=DEFAULTS.vms, help="VMs on the host, n (default: %(default)s)")
    parser.add_argument(
        "--rate", type=float, default=DEFAULTS.rate, help="offered load per VM, req/s (default: %(default)s)"
    )
    parser.add_argument(
        "--before", type=duration, default=DEFAULTS.before, help="load before each procedure (default: 20s)"
    )
    parser.add_argument("--after", type=duration, default=DEFAULTS.after, help="load after it (default: 40s)")
    parser.add_argument("--memory", type=int, default=DEFAULTS.memory_mb, help="guest RAM, MB (default: %(default)s)")
    parser.add_argument(
        "--disk-kbps", type=int, default=DEFAULTS.disk_bps // 1024, help="throttled disk, KB/s (default: 512)"
    )
    parser.add_argument(
        "--step", type=duration, default=DEFAULTS.step, help="throughput sampling step (default: 0.25s)"
    )
    parser.add_argument("--link", help="the migration link's rate, e.g. 1gbit or 100mbit (default: 1gbit)")
    parser.add_argument("--accel", choices=ACCELERATORS, default="auto", help="(default: %(default)s, probed)")
    parser.add_argument(
        "--mechanism", choices=MECHANISMS, default="auto", help="Warm-VM Reboot's (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the data files (default: %(default)s)")
    parser.add_argument(
        "--redo", action="store_true", help="run every procedure again, even those whose trace is there"
    )
    _nice_option(parser)
    _image_options(parser)


def _settings(args: argparse.Namespace) -> StudySettings:
    procedures = tuple(name.strip() for name in args.procedures.split(",") if name.strip())
    if not procedures:
        raise LabError("procedures", "names no procedure")
    return StudySettings(procedures, experiment_from(args, "warm", None), args.link)


def _folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise LabError("out", f"{out} is a file; name a folder for the study")
    if not out.parent.is_dir():
        raise LabError("out", f"folder {out.parent} does not exist")
    if not os.access(out if out.exists() else out.parent, os.W_OK):
        raise LabError("out", f"{out if out.exists() else out.parent} is not writable")


def run(args: argparse.Namespace) -> int:
    try:  # every check that needs nothing made, before anything is
        recipe = ImageRecipe(args.files, args.file_kb, args.seed, args.kernel_package)
        settings = _settings(args)
        choose_mechanism(settings.run.mechanism, qemu_version())
        _folder(args.out_dir)
        require_root()
        for name in settings.chosen:
            check_room(settings.experiment(name))
        if args.nice is not None:
            check_nice(args.nice, "--nice")
    except LabError as err:
        raise _flagged(err) from err
    if args.nice is not None:  # before QEMU and the client start: they inherit it
        set_nice(args.nice, "--nice")
    args.out_dir.mkdir(exist_ok=True)
    _sweep()
    image = build_image(recipe, progress=_say)
    try:
        costs = run_study(settings, args.out_dir, lab_runner(image, _say), progress=_say, redo=args.redo)
    except LabError as err:
        raise _flagged(err) from err
    except KeyboardInterrupt:
        _say(f"interrupted: the finished procedures' traces stay in {args.out_dir}; run the same command to resume")
        raise
    document = report_study(settings, args.out_dir, costs, load_preset(DEFAULT_PRESET), DEFAULT_PRESET)
    text = markdown(document | {"provenance": {"command": " ".join(sys.argv)}})
    print(text.split("## Parameters")[0].rstrip())
    print(
        f"\nwrote {args.out_dir / MEASURED_FILE}, {args.out_dir / 'summary.md'}, {args.out_dir / 'summary.json'} and the figures"
    )
    failed = [name for name, cost in costs.items() if cost.status == "failed"]
    return 1 if failed else 0
