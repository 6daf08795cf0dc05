"""Reading each kind of rejuv result into a :class:`~rejuv.report.results.Result`: its verdict, tables and figures.

One function per kind of file; :func:`~rejuv.report.results.read_result`
decides which. Each verdict says what the result concludes in words: the
winning strategy at each cluster size and the crossovers (compare, Figure 7),
whether model and simulation agree (validate, sweep), the measured parameters
(fit, a trace).
"""

from __future__ import annotations

import csv
import io
import json
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from rejuv.errors import RejuvError
from rejuv.report.results import Image, ReportError, Result, Table, comment_provenance
from rejuv.report.study_result import is_study, study_result

__all__ = ["json_result", "csv_result", "toml_result", "figure_result", "trace_result", "label", "number"]

#: Rows shown of a long table (Figure 7's CSV has hundreds); the file has them all.
MAX_ROWS = 40
#: The cluster sizes at which Figure 7's verdict names the winner (the paper's discussion of it).
FIGURE7_HOSTS = (2, 10, 100, 1_000, 10_000, 100_000)


def label(key: str) -> str:
    """A strategy's name for people (``Warm-VM Reboot``), or the key itself if rejuv does not know it."""
    from rejuv.model import STRATEGIES

    return STRATEGIES[key].label if key in STRATEGIES else key


def number(value: object, digits: int = 6) -> str:
    """A cell: a float to ``digits`` significant figures, an integer with thousands separators."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "-"}[value]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) < 1e15 else f"{value:.{digits}g}"
    return str(value)


def _table(caption: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    shown = rows[:MAX_ROWS]
    if len(rows) > MAX_ROWS:
        caption += f" (the first {MAX_ROWS} of {len(rows)} rows; the file has them all)"
    return Table(caption, tuple(header), tuple(tuple(number(cell) for cell in row) for row in shown))


def _winners(hosts: Sequence[int], best: Sequence[str]) -> list[str]:
    """``Warm-VM Reboot wins at every cluster size here (m = 2 to 1,000)``, or one line per run of sizes."""
    if len(set(best)) == 1:
        return [f"{label(best[0])} wins at every cluster size here (m = {hosts[0]:,} to {hosts[-1]:,})."]
    return [f"At m = {m:,}, {label(key)} wins." for m, key in zip(hosts, best, strict=True)]


def _crossover_lines(crossovers: Sequence[Mapping[str, Any]]) -> list[str]:
    found = [c for c in crossovers if c.get("hosts") is not None]
    lines = [f"{label(c['strategy'])} overtakes {label(c['overtakes'])} at m = {c['hosts']:,}." for c in found]
    return lines or ["No strategy overtakes another as the cluster grows."]


def _parameter_values(values: Mapping[str, Any]) -> Table:
    from rejuv.model import lookup

    rows = []
    for name, value in values.items():
        try:
            symbol = lookup(name)
            rows.append([symbol.symbol, symbol.meaning, number(value), "", symbol.unit])
        except RejuvError:
            rows.append([name, "", number(value), "", ""])
    return Table("parameters", ("symbol", "meaning", "value", "±", "unit"), tuple(map(tuple, rows)))


def _estimates(estimates: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], Table]:
    """Fitted ``symbol: {value, uncertainty, unit}`` as a verdict line each and the parameters' table."""
    from rejuv.model import lookup

    lines, rows = [], []
    for symbol, e in estimates.items():
        value, spread, unit = float(e["value"]), float(e["uncertainty"]), str(e.get("unit", ""))
        meaning = lookup(symbol).meaning if _known(symbol) else str(e.get("name", ""))
        lines.append(f"{symbol} = {value:.4g} ± {spread:.2g} {unit}".rstrip() + f": {meaning}")
        rows.append((symbol, meaning, f"{value:.6g}", f"{spread:.2g}", unit))
    return lines, Table(
        "measured parameters (± one standard error)", ("symbol", "meaning", "value", "±", "unit"), tuple(rows)
    )


def _known(symbol: str) -> bool:
    """Whether ``symbol`` is a parameter of rejuv's symbol table (by paper symbol or name)."""
    from rejuv.model import lookup

    try:
        lookup(symbol)
    except RejuvError:
        return False
    return True


def json_result(source: str, doc: Mapping[str, Any]) -> Result:
    """``rejuv compare --json``, ``validate --json``, ``fit --json``, Figure 7's crossovers or a study's summary, by their keys."""
    made = doc.get("provenance", {})
    try:
        if is_study(doc):
            return study_result(source, doc)
        if {"strategies", "best", "hosts"} <= doc.keys():
            hosts, best = list(doc["hosts"]), list(doc["best"])
            header = ["strategy", *(f"m = {m:,}" for m in hosts)]
            rows = [[entry["label"], *entry["normalized_throughput"]] for entry in doc["strategies"].values()]
            rows.append(["best", *map(label, best)])
            table = _table("P/(m p): total throughput over its maximum", header, rows)
            verdict = _winners(hosts, best) + _crossover_lines(doc.get("crossovers", []))
            parameters = _parameter_values(doc.get("parameters", {}).get("values", {}))
            return Result(
                source, "compare", "Strategy comparison (rejuv compare)", tuple(verdict), (table,), (), parameters, made
            )
        if {"comparisons", "tolerance"} <= doc.keys():
            return _validate(source, doc, made)
        if "estimates" in doc:
            lines, table = _estimates(doc["estimates"])
            traces = ", ".join(map(str, doc.get("traces", [])))
            title = f"Measured parameters (rejuv fit, {doc.get('kind') or 'events'} from {traces})"
            return Result(source, "fit", title, tuple(lines), (), (), table, made)
        if "crossovers" in doc:
            verdict = [
                c.get("label") or _crossover_lines([c])[0] for c in doc["crossovers"] if c.get("hosts") is not None
            ]
            rows = [[label(c["strategy"]), label(c["overtakes"]), c["hosts"] or "never"] for c in doc["crossovers"]]
            table = _table("crossovers", ["strategy", "overtakes", "from m ="], rows)
            return Result(
                source,
                "crossovers",
                "Figure 7's crossovers",
                tuple(verdict or _crossover_lines([])),
                (table,),
                (),
                None,
                made,
            )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ReportError(source, f"a JSON result of rejuv, but {type(err).__name__}: {err}") from None
    raise ReportError(source, f"JSON with keys {sorted(doc)[:6]}: not a result rejuv writes")


def _validate(source: str, doc: Mapping[str, Any], made: Mapping[str, Any]) -> Result:
    checks = doc["comparisons"]
    agree = sum(1 for c in checks if c["agrees"])
    verdict = [
        f"Model and simulation agree within {float(doc['tolerance']):g} relative in {agree} of {len(checks)} comparisons."
    ]
    for c in checks:
        if not c["agrees"]:
            why = "; ".join(c.get("reasons", [])) or "no known reason"
            verdict.append(
                f"{label(c['strategy'])} at m = {c['hosts']:,} differs by {c['relative_difference']:+.2e}: {why}."
            )
    header = ["strategy", "m", "periods", "model loss", "simulated loss", "rel. diff", "agrees"]
    keys = ("hosts", "periods", "model_loss", "simulated_loss", "relative_difference", "agrees")
    rows = [[label(c["strategy"]), *(c[k] for k in keys)] for c in checks]
    table = _table("loss = 1 - P/(m p), closed form and simulated", header, rows)
    return Result(
        source,
        "validate",
        f"Model against simulation (rejuv validate, {doc.get('parameters', '')})",
        tuple(verdict),
        (table,),
        (),
        None,
        made,
    )


def csv_result(source: str, lines: Sequence[str]) -> Result:
    """Figure 7's, Figures 1 and 2's or ``rejuv sweep``'s CSV, by its header."""
    from rejuv.report.sweep_plot import SWEEP_HEADER

    made = comment_provenance(lines)
    rows = list(csv.reader(line for line in lines if line.strip() and not line.startswith("#")))
    header, body = rows[0], rows[1:]
    try:
        if header[0] == "m":
            return _figure7(source, header, body, made)
        if header == ["strategy", "kind", "start_s", "end_s"]:
            name = (
                "Figure 1"
                if "1" in source.rsplit("/", 1)[-1]
                else "Figure 2"
                if "2" in source.rsplit("/", 1)[-1]
                else "A timing diagram"
            )
            cells = [[row[0], row[1], float(row[2]), float(row[3])] for row in body]
            verdict = (
                f"{name}: when each host's VMM and OS are rejuvenated, warm against cold ({len(body)} intervals).",
            )
            return Result(
                source,
                "timeline",
                f"{name}: rejuvenation timeline",
                verdict,
                (_table("intervals, seconds", header, cells),),
                (),
                None,
                made,
            )
        if tuple(header) == SWEEP_HEADER:
            return _sweep(source, header, body, made)
    except (IndexError, ValueError) as err:
        raise ReportError(source, f"a CSV with rejuv's header, but a row is malformed ({err})") from None
    raise ReportError(source, f"a CSV with header {','.join(header)[:80]!r}: not a table rejuv writes")


def _figure7(source: str, header: list[str], body: list[list[str]], made: Mapping[str, Any]) -> Result:
    keys = header[1:]
    values = [[float(cell) for cell in row] for row in body]
    targets = [m for m in FIGURE7_HOSTS if values and values[0][0] <= m <= values[-1][0]]
    chosen = [_nearest(values, m) for m in targets] or values[:MAX_ROWS]
    hosts = [round(row[0]) for row in chosen]
    best = [keys[row[1:].index(max(row[1:]))] for row in chosen]
    cells = [[m, *row[1:], label(b)] for m, row, b in zip(hosts, chosen, best, strict=True)]
    table = _table("P/(m p) at the paper's cluster sizes", ["m", *map(label, keys), "best"], cells)
    return Result(
        source,
        "figure7",
        "Figure 7: total throughput against cluster size",
        tuple(_winners(hosts, best)),
        (table,),
        (),
        None,
        made,
    )


def _nearest(rows: list[list[float]], hosts: int) -> list[float]:
    """The row whose m (first cell) is nearest ``hosts``."""
    return min(rows, key=lambda row: abs(row[0] - hosts))


def _sweep(source: str, header: list[str], body: list[list[str]], made: Mapping[str, Any]) -> Result:
    column = {name: i for i, name in enumerate(header)}
    diffs = [abs(float(row[column["relative_difference"]])) for row in body]
    inside = sum(
        1
        for row in body
        if float(row[column["loss_ci_low"]]) <= float(row[column["model_loss"]]) <= float(row[column["loss_ci_high"]])
    )
    worst = body[max(range(len(body)), key=diffs.__getitem__)] if body else None
    verdict = [
        f"The closed form's loss lies in the simulation's confidence interval at {inside} of {len(body)} points."
    ]
    if worst is not None:
        verdict.append(f"Largest relative difference: {max(diffs):.2e} ({label(worst[0])}, m = {int(worst[1]):,}).")
    cells = [
        [label(row[0]), *(float(c) if re.fullmatch(r"[-+0-9.eE]+|nan|inf", c) else c for c in row[1:])] for row in body
    ]
    return Result(
        source,
        "sweep",
        "Simulator sweep (rejuv sweep)",
        tuple(verdict),
        (_table("sweep", header, cells),),
        (),
        None,
        made,
    )


def toml_result(source: str, table: Mapping[str, Any], lines: Sequence[str]) -> Result:
    """A parameter file of ``rejuv fit --out``: values with their ``# ± ...`` uncertainty comments."""
    estimates: dict[str, dict[str, Any]] = {}
    for line in lines:
        found = re.match(r"\s*([A-Za-z_'][\w']*)\s*=\s*([^#\s]+)\s*#\s*±\s*([0-9.eE+-]+)\s*([^:]*):", line)
        if found and _known(found[1]):
            symbol, value, spread, unit = found.groups()
            estimates[symbol] = {"value": float(value), "uncertainty": float(spread), "unit": unit.strip()}
    values = {key: value for key, value in table.items() if not isinstance(value, dict)}
    if not estimates and not all(_known(key) for key in values):
        raise ReportError(source, "TOML that is not a parameter file of rejuv (its keys are not paper symbols)")
    if estimates:
        verdict, parameters = _estimates(estimates)
    else:
        verdict, parameters = [f"{len(values)} parameter(s) set."], _parameter_values(values)
    return Result(
        source, "fit", "Parameter file (rejuv fit --out)", tuple(verdict), (), (), parameters, comment_provenance(lines)
    )


def figure_result(source: str, png: bytes) -> Result:
    """A PNG figure; rejuv's carry their provenance in the ``Comment`` text chunk."""
    width, height, text = png_facts(source, png)
    try:
        made = json.loads(text.get("Comment", "{}"))
    except json.JSONDecodeError:
        made = {}
    name = source.rsplit("/", 1)[-1]
    alt = f"figure {name} ({width} by {height} pixels), made by {text.get('Source', 'an unknown program')}"
    made = made if isinstance(made, dict) else {}
    return Result(source, "figure", f"Figure {name}", (), (), (Image(alt, png),), None, made)


def png_facts(source: str, png: bytes) -> tuple[int, int, dict[str, str]]:
    """A PNG's width, height and uncompressed text chunks (``tEXt``, ``iTXt``); raises ReportError if it is damaged."""
    if len(png) < 33 or png[12:16] != b"IHDR":
        raise ReportError(source, "a damaged PNG (no IHDR chunk)")
    width, height = struct.unpack(">II", png[16:24])
    text: dict[str, str] = {}
    at = 8
    while at + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[at : at + 8])
        data = png[at + 8 : at + 8 + length]
        if kind == b"tEXt" and b"\0" in data:
            key, value = data.split(b"\0", 1)
            text[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt" and data.count(b"\0") >= 4:
            key, rest = data.split(b"\0", 1)
            if rest[:1] == b"\0":  # not compressed
                value = rest[2:].split(b"\0", 2)[-1]
                text[key.decode("latin-1")] = value.decode("utf-8", "replace")
        at += 12 + length
    return width, height, text


def trace_result(source: str) -> Result:
    """A ``.trace``: drawn with its events shaded, and the parameters measured from them."""
    from rejuv.report.migration_plot import plot_migration_trace
    from rejuv.report.trace_plot import plot_trace
    from rejuv.trace.events import combine, measure
    from rejuv.trace.moves import has_moves
    from rejuv.trace.store import read_trace

    try:
        trace = read_trace(source)
    except RejuvError as err:
        raise ReportError(source, err.why) from None
    alt = f"throughput of {trace.source} over {trace.samples * trace.step:,.0f} s: the host's above, each VM's below"
    buffer = io.BytesIO()
    if has_moves(trace):
        verdict, parameters = _migration_verdict(trace)
        plot_migration_trace(trace).savefig(buffer, format="png", dpi=80)
        alt = alt.replace("the host's above", "the source and destination hosts' above, every move shaded")
    else:
        try:
            measured = measure(trace)
        except RejuvError:
            measured = []
        plot_trace(trace, measured).savefig(buffer, format="png", dpi=80)
        kinds = sorted({m.kind for m in measured})
        lines, parameters = _estimates({s: vars(e) for s, e in combine(measured).items()}) if measured else ([], None)
        verdict = [f"{len(measured)} event(s) measured ({', '.join(kinds) or 'none found'}).", *lines]
    return Result(
        source,
        "trace",
        f"Throughput trace {source.rsplit('/', 1)[-1]}",
        tuple(verdict),
        (),
        (Image(alt, buffer.getvalue()),),
        parameters,
        _trace_provenance(source),
    )


def _migration_verdict(trace: Any) -> tuple[list[str], Table | None]:
    """What a migration trace measured (as ``rejuv fit`` does, for the migration it records), or why nothing."""
    from rejuv.model import STRATEGIES, MigrationStrategy
    from rejuv.trace.migration_fit import fit_migration, migration_parameters
    from rejuv.trace.moves import find_moves, recorded_migration

    moves = find_moves(trace)
    done = sum(not move.cancelled for move in moves)
    head = f"{done} move(s) done, {len(moves) - done} cancelled."
    key = recorded_migration(trace)
    item = STRATEGIES.get(str(key))
    if not isinstance(item, MigrationStrategy):
        return [head, "The trace does not say which migration it holds: rejuv fit --kind measures it."], None
    try:
        fitted = fit_migration([trace], live=item.live)
    except RejuvError as err:
        return [head, f"Table 1 not measured: {err}"], None
    estimates = {s: vars(e) for s, e in migration_parameters(fitted, item).items()}
    lines, parameters = _estimates(estimates)
    return [head, *lines, *(f"Note: {note}" for note in fitted.notes)], parameters


def _trace_provenance(source: str) -> dict[str, Any]:
    import zipfile

    import numpy as np

    with zipfile.ZipFile(source) as archive, archive.open("meta.npy") as stream:
        meta = json.loads(str(np.load(stream, allow_pickle=False)))
    found = meta.get("provenance") or meta.get("metadata") or {}
    return dict(found) if isinstance(found, dict) else {}
