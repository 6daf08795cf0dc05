"""One self-contained HTML page from rejuv's results: the verdict first, then tables, figures, parameters, provenance.

The page needs nothing from the network: figures are PNG ``data:`` URIs, the
style is a small inline sheet, there is no script, and a Content-Security-Policy
forbids loading anything else. It is plain HTML written with the standard
library (:func:`html.escape`); every image has alt text, every table a
caption and header cells, the page a title and a language. The provenance of
the page itself is in ``<meta name="rejuv-provenance">``; each input's is in
its own section.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from rejuv.files import atomic_write
from rejuv.provenance import current
from rejuv.report.results import Image, Result, Table

__all__ = ["build_report", "write_report"]

#: Nothing but inline styles and data-URI images may load.
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_NUMBER = re.compile(r"[-+]?[0-9][0-9,]*(\.[0-9]*)?(e[-+]?[0-9]+)?|[-+]?(nan|inf)")

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; color: #1a1a1a; margin: 0 auto; max-width: 72rem; padding: 1rem 2rem; }
h1 { border-bottom: 2px solid #0072B2; }
.verdict { background: #eef6fb; border-left: 6px solid #0072B2; padding: 0.5rem 1rem; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { border: 1px solid #c8c8c8; padding: 0.2rem 0.6rem; text-align: left; }
th { background: #f0f0f0; } td.num { text-align: right; }
img { max-width: 100%; height: auto; border: 1px solid #e0e0e0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
.source, .note { color: #555; font-size: 0.9rem; }
"""


def build_report(results: Sequence[Result], notes: Sequence[str] = (), title: str = "rejuv report") -> str:
    """The page as text: ``title``, the verdicts of ``results``, their tables and figures, parameters, provenance.

    ``notes`` (files skipped, say) are listed under the verdict.
    """
    made = current().as_dict()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="rejuv {escape(str(made["rejuv"]))}">',
        f'<meta name="rejuv-provenance" content="{escape(json.dumps(made, sort_keys=True))}">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="source">{len(results)} result(s), made by <code>{escape(str(made["command"]))}</code> '
        f"on {escape(str(made['created']))}.</p>",
        _verdicts(results, notes),
        *(_evidence(index, result) for index, result in enumerate(results, 1)),
        _parameters(results),
        _provenance(results),
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def write_report(path: Path | str, results: Sequence[Result], notes: Sequence[str] = ()) -> Path:
    """Write :func:`build_report`'s page to ``path`` atomically; return the path."""
    with atomic_write(path, "w") as stream:
        stream.write(build_report(results, notes))
    return Path(path)


def _verdicts(results: Sequence[Result], notes: Sequence[str]) -> str:
    items = []
    for result in results:
        lines = "".join(f"<li>{escape(line)}</li>" for line in result.verdict) or "<li>a figure (below)</li>"
        items.append(f"<h3>{escape(result.title)}</h3>\n<ul>{lines}</ul>")
    skipped = "".join(f"<li>skipped {escape(note)}</li>" for note in notes)
    tail = f'\n<ul class="note">{skipped}</ul>' if skipped else ""
    return '<section class="verdict" id="verdict">\n<h2>Verdict</h2>\n' + "\n".join(items) + tail + "\n</section>"


def _evidence(index: int, result: Result) -> str:
    if not result.tables and not result.images:
        return ""
    body = [_table(table) for table in result.tables] + [_image(image) for image in result.images]
    heading = f'<h2>{escape(result.title)}</h2>\n<p class="source">from <code>{escape(result.source)}</code></p>'
    return f'<section id="result-{index}">\n{heading}\n' + "\n".join(body) + "\n</section>"


def _table(table: Table) -> str:
    head = "".join(f'<th scope="col">{escape(cell)}</th>' for cell in table.header)
    rows = "\n".join("<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in table.rows)
    return (
        f'<div class="wide"><table>\n<caption>{escape(table.caption)}</caption>\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table></div>"
    )


def _cell(text: str) -> str:
    """A table cell; a number is set right, to line up its digits."""
    numeric = _NUMBER.fullmatch(text) is not None
    return f'<td class="num">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _image(image: Image) -> str:
    data = base64.b64encode(image.png).decode("ascii")
    alt = escape(image.alt)
    return f'<figure>\n<img src="data:image/png;base64,{data}" alt="{alt}">\n<figcaption>{alt}</figcaption>\n</figure>'


def _parameters(results: Sequence[Result]) -> str:
    tables = [
        f'<h3>{escape(r.title)}</h3>\n<p class="source">from <code>{escape(r.source)}</code></p>\n{_table(r.parameters)}'
        for r in results
        if r.parameters is not None
    ]
    if not tables:
        return ""
    return '<section id="parameters">\n<h2>Parameters</h2>\n' + "\n".join(tables) + "\n</section>"


def _provenance(results: Sequence[Result]) -> str:
    blocks = []
    for result in results:
        facts = _facts(result.provenance) or "<dt>provenance</dt><dd>none recorded in the file</dd>"
        blocks.append(f"<h3><code>{escape(result.source)}</code></h3>\n<dl>{facts}</dl>")
    return '<section id="provenance">\n<h2>Provenance</h2>\n' + "\n".join(blocks) + "\n</section>"


def _facts(provenance: Mapping[str, Any]) -> str:
    items = []
    for key, value in provenance.items():
        text = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)
        items.append(f"<dt>{escape(str(key))}</dt><dd>{escape(text)}</dd>")
    return "".join(items)
