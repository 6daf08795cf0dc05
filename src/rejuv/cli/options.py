"""Options shared by the commands: where parameters come from, host counts, and durations."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from rejuv.errors import ParameterError
from rejuv.model import (
    DEFAULT_PRESET,
    Parameters,
    apply_overrides,
    load_parameter_file,
    load_preset,
    parse_assignment,
    parse_duration,
)
from rejuv.provenance import note, parameters_digest

__all__ = ["add_parameter_options", "parameters_from", "parse_hosts", "parse_counts", "preset_label", "duration"]


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


def duration(text: str) -> float:
    """An argparse type: a duration with a unit (``30s``, ``5min``, ``28d``), in seconds."""
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
