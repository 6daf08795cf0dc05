"""Options shared by the commands: where parameters come from, and host counts (types: :mod:`rejuv.cli.option_types`)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from rejuv.cli.option_types import duration, renamed  # duration: the lab's durations, the one duration type
from rejuv.errors import ParameterError
from rejuv.files import FIGURE_FORMATS
from rejuv.model import (
    DEFAULT_PRESET,
    Parameters,
    apply_overrides,
    load_parameter_file,
    load_preset,
    parse_assignment,
)
from rejuv.provenance import note, parameters_digest

__all__ = [
    "add_parameter_options",
    "add_out_dir",
    "parameters_from",
    "parse_hosts",
    "parse_counts",
    "preset_label",
    "add_figure_format",
    "duration",
]


def add_parameter_options(parser: argparse.ArgumentParser) -> None:
    """``--preset``, ``--params`` and ``--set``, applied in that order."""
    group = parser.add_argument_group("parameters (applied in this order)")
    group.add_argument("--preset", default=DEFAULT_PRESET, help="built-in preset (default: %(default)s)")
    group.add_argument("--params", metavar="FILE", type=Path, help="TOML file overriding any subset of the preset")
    group.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="override one value, by paper symbol or name, with units (D_w=59s, T_vmm=28d); repeatable",
    )


def add_out_dir(parser: argparse.ArgumentParser, what: str) -> None:
    """``--out-dir DIR`` (default ``rejuv-out``) for a command that writes several files; ``--out`` is its old spelling.

    ``--out`` names one file in every other command, so a folder has its own option.
    """
    out = parser.add_argument(
        "--out-dir",
        dest="out",
        metavar="DIR",
        type=Path,
        default=Path("rejuv-out"),
        help=f"folder for {what} (default: %(default)s)",
    )
    renamed(parser, "--out", out)


def add_figure_format(parser: argparse.ArgumentParser, default: str | None = "png", default_text: str = "png") -> None:
    """``--format png|pdf|svg``: the format of the figures a command draws."""
    parser.add_argument(
        "--format",
        dest="figure_format",
        choices=FIGURE_FORMATS,
        default=default,
        help=f"figure format (default: {default_text})",
    )


def parameters_from(args: argparse.Namespace) -> Parameters:
    """The parameter set the options describe; raises RejuvError for any mistake."""
    params = load_preset(args.preset)
    if args.params is not None:
        params = load_parameter_file(args.params, params)
    if args.set:
        params = apply_overrides(params, dict(parse_assignment(text) for text in args.set))
    note(parameters=preset_label(args), parameters_digest=parameters_digest(params))
    return params


def preset_label(args: argparse.Namespace) -> str:
    """``kourai2008`` or ``kourai2008 + mine.toml + D_w=60s``: where the values came from."""
    parts = [args.preset]
    if args.params is not None:
        parts.append(str(args.params))
    parts.extend(args.set)
    return " + ".join(parts)


def parse_hosts(text: str) -> list[int]:
    """``"2,50,20000"`` (or ``"1e6"``) as a list of whole host counts."""
    return parse_counts(text, "--hosts")


def parse_counts(text: str, option: str, minimum: int | None = None) -> list[int]:
    """``"1,2,4"`` (items may be written ``1e6``) as whole numbers, each >= ``minimum`` if given."""
    counts = []
    for item in text.split(","):
        try:
            value = float(item.strip())
        except ValueError:
            raise ParameterError(option, f"expected whole numbers separated by commas, got {item.strip()!r}") from None
        if not math.isfinite(value) or value != round(value):
            raise ParameterError(option, f"expected whole numbers, got {item.strip()!r}")
        if minimum is not None and value < minimum:
            raise ParameterError(option, f"expected counts >= {minimum}, got {item.strip()!r}")
        counts.append(int(value))
    return counts
