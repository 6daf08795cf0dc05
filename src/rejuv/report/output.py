"""Atomic writers: a figure, a CSV table or a JSON document appears whole or not at all.

Each goes through :func:`rejuv.files.atomic_write`; the folder must exist.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from rejuv.files import atomic_write
from rejuv.report.style import DPI

__all__ = ["write_csv", "write_figure", "write_json"]


def write_figure(figure: Figure, path: Path, dpi: int = DPI) -> Path:
    """Save ``figure`` as a PNG at ``path`` (``dpi`` dots per inch), atomically; return the path."""
    with atomic_write(path, "wb") as stream:
        figure.savefig(stream, format="png", dpi=dpi, metadata={"Software": None})
    return Path(path)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write a CSV table (one header row, then ``rows``), atomically; return the path.

    Floats are written with :func:`repr`, which reads back to the same number.
    """
    with atomic_write(path, "w") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([repr(float(cell)) if isinstance(cell, float) else cell for cell in row])
    return Path(path)


def write_json(path: Path, document: Any) -> Path:
    """Write ``document`` as indented JSON with a final newline, atomically; return the path."""
    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    with atomic_write(path, "w") as stream:
        stream.write(text)
    return Path(path)
