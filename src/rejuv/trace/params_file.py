"""Writing fitted parameters as a parameter file that ``rejuv compare --params`` reads."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from rejuv.model import Kind, lookup
from rejuv.trace.segment import Estimate

__all__ = ["parameter_file_text", "write_parameter_file"]


def parameter_file_text(estimates: Mapping[str, Estimate], sources: Sequence[str]) -> str:
    """TOML text: one line per paper symbol, in base units, with the uncertainty as a comment."""
    lines = [
        "# Model parameters measured by `rejuv fit` from:",
        *(f"#   {source}" for source in sources),
        "# Values are in base units (s, fractions); each comment gives one standard error.",
        "",
    ]
    for symbol, estimate in estimates.items():
        entry = lookup(symbol)
        unit = " s" if entry.kind is Kind.DURATION else ""
        lines.append(f"{symbol} = {estimate.value:.6g}  # ± {estimate.uncertainty:.2g}{unit}: {entry.meaning}")
    return "\n".join(lines) + "\n"


def write_parameter_file(path: Path | str, estimates: Mapping[str, Estimate], sources: Sequence[str]) -> Path:
    """Write the parameter file atomically: no partial file is left if writing fails."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(parameter_file_text(estimates, sources))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
