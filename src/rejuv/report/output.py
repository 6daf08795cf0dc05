"""Atomic writers: a figure, a CSV table or a JSON document appears whole or not at all.

Each goes through :func:`rejuv.files.atomic_write`; the folder must exist. Each
says how it was made (:mod:`rejuv.provenance`): a CSV in ``#`` comment lines
before its header (``pandas.read_csv(path, comment="#")`` skips them), a JSON
object in its ``provenance`` key, a figure in its metadata: a PNG in its
``Comment`` and ``Source`` text, a PDF in its ``Subject`` (the provenance) and
``Keywords`` (``rejuv <version>``), an SVG in its ``<metadata>`` (Dublin Core
``description`` and ``source``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from rejuv.files import FIGURE_FORMATS, atomic_write
from rejuv.jsontext import to_json
from rejuv.provenance import current, stamp
from rejuv.report.style import DPI

__all__ = ["FIGURE_FORMATS", "write_csv", "write_figure", "write_json"]


def write_figure(figure: Figure, path: Path, dpi: int = DPI, figure_format: str | None = None) -> Path:
    """Save ``figure`` at ``path`` atomically; return the path.

    The format is ``figure_format`` if given, else the one ``path``'s suffix
    names (:data:`~rejuv.files.FIGURE_FORMATS`), else PNG. ``dpi`` (dots per
    inch) sets a PNG's resolution.
    """
    suffix = Path(path).suffix.lstrip(".").lower()
    kind = figure_format or (suffix if suffix in FIGURE_FORMATS else "png")
    made = current()
    source = f"rejuv {made.rejuv}"
    metadata: dict[str, str | None] = {
        "png": {"Software": None, "Source": source, "Comment": made.as_json()},
        "pdf": {"Creator": source, "Producer": None, "Subject": made.as_json(), "Keywords": source},
        "svg": {"Creator": source, "Description": made.as_json(), "Source": source, "Date": None},
    }[kind]
    with atomic_write(path, "wb") as stream:
        figure.savefig(stream, format=kind, dpi=dpi, metadata=metadata)
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
