"""Atomic writers: a figure, a CSV table or a JSON document appears whole or not at all.

Each writer writes to a temporary file in the destination's folder and then
renames it over the destination (:func:`os.replace`, atomic on POSIX), so a
failure half-way leaves neither a partial file nor a stray temporary one,
and an existing file is kept until the new one is complete. The folder
must exist.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from matplotlib.figure import Figure

from rejuv.report.style import DPI

__all__ = ["write_csv", "write_figure", "write_json"]

_MODE = 0o644  # what a plain open() would give under the usual umask


@contextlib.contextmanager
def _atomic(path: Path, mode: str) -> Iterator[IO[Any]]:
    """A temporary file beside ``path`` that replaces it on success and vanishes on failure."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, _MODE)  # mkstemp's 0o600 would be kept by the rename
        newline = "" if "b" not in mode else None
        with os.fdopen(handle, mode, newline=newline, encoding=None if "b" in mode else "utf-8") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_figure(figure: Figure, path: Path, dpi: int = DPI) -> Path:
    """Save ``figure`` as a PNG at ``path`` (``dpi`` dots per inch), atomically; return the path."""
    with _atomic(path, "wb") as stream:
        figure.savefig(stream, format="png", dpi=dpi, metadata={"Software": None})
    return Path(path)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write a CSV table (one header row, then ``rows``), atomically; return the path.

    Floats are written with :func:`repr`, which reads back to the same number.
    """
    with _atomic(path, "w") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([repr(float(cell)) if isinstance(cell, float) else cell for cell in row])
    return Path(path)


def write_json(path: Path, document: Any) -> Path:
    """Write ``document`` as indented JSON with a final newline, atomically; return the path."""
    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    with _atomic(path, "w") as stream:
        stream.write(text)
    return Path(path)
