"""Writing the paper's figures and their numbers to a folder: what ``rejuv reproduce`` produces.

Every file is written atomically (see :mod:`rejuv.report.output`); each
function returns the paths it wrote, in the order written.
"""

from __future__ import annotations

import errno
from pathlib import Path

from rejuv.model import Parameters, PhaseMap
from rejuv.report.figure7 import figure7_data, plot_figure7
from rejuv.report.output import write_csv, write_figure, write_json
from rejuv.report.phase_map import phase_map_table, plot_phase_map
from rejuv.report.timelines import FIGURE1, FIGURE2, Schematic, plot_timelines, timeline_data

__all__ = ["write_figure7", "write_phase_map", "write_reproduction", "write_timelines"]

FIGURE7_STEM = "figure7"


def _folder(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder", str(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def write_figure7(params: Parameters, out_dir: Path, figure_format: str = "png") -> list[Path]:
    """Figure 7 for ``params``: ``figure7.png`` (or ``.pdf``, ``.svg``), ``figure7.csv`` (the curves), ``figure7-crossovers.json``."""
    out_dir = _folder(out_dir)
    data = figure7_data(params)
    header, rows = data.table()
    return [
        write_figure(plot_figure7(data), out_dir / f"{FIGURE7_STEM}.{figure_format}"),
        write_csv(out_dir / f"{FIGURE7_STEM}.csv", header, rows),
        write_json(out_dir / f"{FIGURE7_STEM}-crossovers.json", data.document()),
    ]


def write_timelines(
    params: Parameters,
    out_dir: Path,
    schematics: tuple[Schematic, ...] = (FIGURE1, FIGURE2),
    figure_format: str = "png",
) -> list[Path]:
    """Figures 1 and 2 with ``params``'s downtimes: ``figure1.png``, ``figure1.csv`` (the intervals), and so on.

    Raises :class:`~rejuv.errors.ParameterError` if a schematic's T_vmm and
    T_os do not fit ``params``.
    """
    out_dir = _folder(out_dir)
    written = []
    for schematic in schematics:
        data = timeline_data(params, schematic)
        header, rows = data.table()
        written.append(write_figure(plot_timelines(data), out_dir / f"{schematic.name}.{figure_format}"))
        written.append(write_csv(out_dir / f"{schematic.name}.csv", header, rows))
    return written


def write_reproduction(params: Parameters, out_dir: Path, figure_format: str = "png") -> list[Path]:
    """The paper's figures for ``params`` in ``out_dir`` (created if missing): Figure 7, then Figures 1 and 2.

    Writes ``figure7.png``, ``figure7.csv``, ``figure7-crossovers.json``,
    ``figure1.png``, ``figure1.csv``, ``figure2.png`` and ``figure2.csv``
    (figures as ``.pdf`` or ``.svg`` for that ``figure_format``); returns their paths. Raises :class:`~rejuv.errors.ParameterError` for
    parameters a figure cannot use, and :class:`OSError` if a file cannot be
    written (no partial file is left).
    """
    return write_figure7(params, out_dir, figure_format) + write_timelines(params, out_dir, figure_format=figure_format)


def write_phase_map(
    pm: PhaseMap,
    out_dir: Path,
    stem: str,
    reference: Parameters | None = None,
    reference_label: str = "parameters",
    figure_format: str = "png",
) -> list[Path]:
    """``<stem>.png`` (the map; or ``.pdf``, ``.svg``) and ``<stem>.csv`` (x, y, winner, lead) in ``out_dir``, created if missing.

    ``reference``, if given, is marked on the map with ``reference_label``.
    """
    out_dir = _folder(out_dir)
    header, rows = phase_map_table(pm)
    return [
        write_figure(plot_phase_map(pm, reference, reference_label), out_dir / f"{stem}.{figure_format}"),
        write_csv(out_dir / f"{stem}.csv", header, rows),
    ]
