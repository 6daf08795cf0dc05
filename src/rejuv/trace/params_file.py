"""Writing fitted parameters as a parameter file that ``rejuv compare --params`` reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from rejuv.files import atomic_write
from rejuv.model import Kind, MigrationProfile, lookup
from rejuv.provenance import current
from rejuv.trace.segment import Estimate

__all__ = ["parameter_file_text", "write_parameter_file"]


def _inline(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return f"{value:.6g}" if "e" not in f"{value:.6g}" else repr(value)
    return str(value)


def _profile_lines(section: str, profile: MigrationProfile) -> list[str]:
    lines = ["", f"[migration.{section}]"]
    for key, pieces in profile.to_data().items():
        tables = ", ".join("{ " + ", ".join(f"{k} = {_inline(v)}" for k, v in piece.items()) + " }" for piece in pieces)
        lines.append(f"{key} = [{tables}]")
    return lines


def parameter_file_text(
    estimates: Mapping[str, Estimate],
    sources: Sequence[str],
    profiles: Mapping[str, MigrationProfile] | None = None,
) -> str:
    """TOML text: one line per paper symbol, in base units, with the uncertainty as a comment.

    ``profiles`` maps a preset section (``stop_and_copy``, ``live``,
    ``live_rate_control``) to fitted Table 1 curves, written as that section.
    """
    lines = [
        *current().comment_lines(),
        "# Model parameters measured by `rejuv fit` from:",
        *(f"#   {source}" for source in sources),
        "# Values are in base units (s, fractions); each comment gives one standard error.",
        "",
    ]
    for symbol, estimate in estimates.items():
        entry = lookup(symbol)
        unit = " s" if entry.kind is Kind.DURATION else ""
        lines.append(f"{symbol} = {estimate.value:.6g}  # ± {estimate.uncertainty:.2g}{unit}: {entry.meaning}")
    for section, profile in (profiles or {}).items():
        lines += _profile_lines(section, profile)
    return "\n".join(lines) + "\n"


def write_parameter_file(
    path: Path | str,
    estimates: Mapping[str, Estimate],
    sources: Sequence[str],
    profiles: Mapping[str, MigrationProfile] | None = None,
) -> Path:
    """Write the parameter file atomically: no partial file is left if writing fails."""
    target = Path(path)
    with atomic_write(target) as stream:
        stream.write(parameter_file_text(estimates, sources, profiles))
    return target
