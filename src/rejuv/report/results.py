"""rejuv's result files, recognised by their content and read into one shape a report can show.

:func:`read_results` takes files and folders. A file is recognised by what it
holds, not by its name: a JSON object by its keys (``rejuv compare --json``,
``rejuv validate --json``, ``rejuv fit --json``, Figure 7's crossovers, ``rejuv lab study``'s ``summary.json``), a CSV
by its header after the ``#`` provenance lines (Figure 7, Figures 1 and 2,
``rejuv sweep``), a TOML file of paper symbols (``rejuv fit --out``), a PNG
(a figure, with its provenance in its text chunks) or a ``.trace`` archive. A
PNG with the same stem as a CSV read with it (``figure7.png`` beside
``figure7.csv``) is that table's figure.

A file named on its own that is none of these raises :class:`ReportError`;
in a folder it is skipped with a note (a folder may hold logs and the like).
Each kind's reading lives in :mod:`rejuv.report.result_kinds`.
"""

from __future__ import annotations

import json
import tomllib
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rejuv.errors import RejuvError

__all__ = ["Result", "Table", "Image", "ReportError", "read_results", "read_result"]

#: The largest text or image file read (a report is for people; bigger files are not rejuv's results).
MAX_BYTES = 64 * 2**20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ReportError(RejuvError):
    """A file given to the report is not one of rejuv's results (names the file and why)."""


@dataclass(frozen=True)
class Table:
    """A table as text cells: a caption, one header row, then the rows."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Image:
    """A PNG figure with the text that replaces it for a reader who cannot see it."""

    alt: str
    png: bytes


@dataclass(frozen=True)
class Result:
    """One result file as a report shows it: what it says first (``verdict``), then its evidence."""

    source: str  #: the file it was read from
    kind: str  #: ``compare``, ``validate``, ``fit``, ``crossovers``, ``study``, ``figure7``, ``timeline``, ``sweep``, ``trace``, ``figure``
    title: str
    verdict: tuple[str, ...]
    tables: tuple[Table, ...] = ()
    images: tuple[Image, ...] = ()
    parameters: Table | None = None  #: the parameters used or measured, with uncertainties where known
    provenance: Mapping[str, Any] = field(default_factory=dict)  #: how the file was made, as it says


def read_results(paths: Iterable[Path | str]) -> tuple[list[Result], list[str]]:
    """The results in ``paths`` (files, or folders whose files are read in name order) and notes of what was skipped.

    Raises :class:`ReportError` for a named file that is not a result, a
    missing path, or no result at all.
    """
    results: list[Result] = []
    skipped: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            for child in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
                try:
                    results.append(read_result(child))
                except ReportError as err:
                    skipped.append(str(err))
        elif path.exists():
            results.append(read_result(path))
        else:
            raise ReportError(str(path), "no such file or folder")
    if not results:
        raise ReportError(", ".join(map(str, paths)) or "RESULTS", "no rejuv results found")
    return _attach_figures(results), skipped


def read_result(path: Path | str) -> Result:
    """The result in the file ``path``, recognised by its content; raises :class:`ReportError` if it is none."""
    from rejuv.report import result_kinds as kinds

    source = str(path)
    if not Path(path).is_file():
        raise ReportError(source, "not a regular file (a device or a pipe?): rejuv's results are files")
    if Path(path).stat().st_size > MAX_BYTES:
        raise ReportError(source, f"larger than {MAX_BYTES // 2**20} MiB: not a result rejuv writes")
    if zipfile.is_zipfile(path):
        return kinds.trace_result(source)
    data = Path(path).read_bytes()
    if data.startswith(PNG_MAGIC):
        return kinds.figure_result(source, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ReportError(source, "a binary file that is not a PNG or a .trace: not one of rejuv's results") from None
    document = _json(text)
    if isinstance(document, dict):
        return kinds.json_result(source, document)
    lines = text.splitlines()
    header = next((line for line in lines if line.strip() and not line.startswith("#")), "")
    if header.split(",")[0] in ("m", "strategy") and "," in header:
        return kinds.csv_result(source, lines)
    try:
        table = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        table = {}
    if table:
        return kinds.toml_result(source, table, lines)
    raise ReportError(source, "not a result rejuv writes (expected JSON, CSV, TOML, PNG or .trace output of rejuv)")


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None


def comment_provenance(lines: Sequence[str]) -> dict[str, Any]:
    """The provenance in a CSV's or TOML's ``#`` lines (:meth:`rejuv.provenance.Provenance.comment_lines`)."""
    found: dict[str, Any] = {}
    for line in lines:
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        text = line.lstrip("#").strip()
        if text.startswith("made by rejuv ") and " on " in text:
            found["rejuv"], found["created"] = text.removeprefix("made by rejuv ").split(" on ", 1)
        for key in ("command", "parameters", "seed", "machine"):
            if text.startswith(f"{key}: "):
                value = text.removeprefix(f"{key}: ")
                found[key] = _json(value) if key == "machine" else value
    return found


def _attach_figures(results: list[Result]) -> list[Result]:
    """Each PNG figure that has a table of its stem beside it becomes that table's figure."""
    by_stem = {str(Path(r.source).with_suffix("")): i for i, r in enumerate(results) if r.kind != "figure"}
    kept: list[Result | None] = list(results)
    for index, result in enumerate(results):
        owner = by_stem.get(str(Path(result.source).with_suffix("")))
        if result.kind == "figure" and owner is not None and (host := kept[owner]) is not None:
            drawn = tuple(Image(f"{host.title}: {image.alt}", image.png) for image in result.images)
            kept[owner] = replace(host, images=host.images + drawn)
            kept[index] = None
    return [r for r in kept if r is not None]
