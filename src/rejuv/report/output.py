"""Atomic writers: a figure, a CSV table or a JSON document appears whole or not at all.

Each goes through :func:`rejuv.files.atomic_write`; the folder must exist. Each
says how it was made (:mod:`rejuv.provenance`): a CSV in ``#`` comment lines
before its header (``pandas.read_csv(path, comment="#")`` skips them), a JSON
object in its ``provenance`` key, a PNG in its ``Comment`` and ``Source`` text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from rejuv.files import atomic_write
from rejuv.jsontext import to_json
from rejuv.provenance import current, stamp
from rejuv.report.style import DPI

__all__ = ["write_csv", "write_figure", "write_json"]


def write_figure(figure: Figure, path: Path, dpi: int = DPI) -> Path:
    """Save ``figure`` as a PNG at ``path`` (``dpi`` dots per inch), atomically; return the path."""
    with atomic_write(path, "wb") as stream:
        made = current()
        metadata = {"Software": None, "Source": f"rejuv {made.rejuv}", "Comment": made.as_json()}
        figure.savefig(stream, format="png", dpi=dpi, metadata=metadata)
    return Path(path)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write a CSV table (one header row, then ``rows``), atomically; return the path.

    Floats are written with :func:`repr`, which reads back to the same number.
    """
    with atomic_write(path, "w") as stream:
        stream.writelines(line + "\n" for line in current().comment_lines())
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([repr(float(cell)) if isinstance(cell, float) else cell for cell in row])
    return Path(path)


def write_json(path: Path, document: Mapping[str, Any]) -> Path:
    """Write ``document`` (an object) as indented JSON with its provenance and a final newline, atomically."""
    text = to_json(stamp(document)) + "\n"
    with atomic_write(path, "w") as stream:
        stream.write(text)
    return Path(path)
