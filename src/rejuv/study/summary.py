"""The study's summary: the verdict first, then the parameters, the comparison, the figures and the cost,
each measured value beside the paper's; as a JSON document and as Markdown for a person."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rejuv.model import STRATEGIES, lookup
from rejuv.report.study_result import best_sentence, crossover_sentence, where
from rejuv.study.figures import figure_name

__all__ = ["markdown", "HOSTS"]

HOSTS = (2, 10, 100, 1000, 10000, 100000)  #: the host counts of the comparison table, as ``rejuv compare``'s


def _crossover_rows(found: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[list[str]]:
    """One row per pair of strategies that crosses here or in the paper."""
    here = {(c["strategy"], c["overtakes"]): c["hosts"] for c in found["measured"]}
    paper = {(c["strategy"], c["overtakes"]): c["hosts"] for c in found["paper"]}
    return [
        [f"{STRATEGIES[a].label} overtakes {STRATEGIES[b].label}", where(here.get((a, b))), where(paper.get((a, b)))]
        for a, b in dict.fromkeys([*here, *paper])
    ]


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(row) for row in rows), ""]


def _value(symbol: str, value: float) -> str:
    unit = lookup(symbol).kind.value
    return f"{value:.4g}" + (f" {unit}" if unit == "s" else "")


def _parameter_rows(document: Mapping[str, Any], symbols: Sequence[str] | None = None) -> list[list[str]]:
    rows = []
    for symbol, entry in document["parameters"].items():
        if symbols is not None and symbol not in symbols:
            continue
        if entry["measured"]:
            here = f"{_value(symbol, entry['value'])} ± {entry['uncertainty']:.2g}"
            where = entry["procedure"]
        else:
            here, where = "not measured", "preset"
        rows.append([symbol, lookup(symbol).name, here, _value(symbol, entry["paper"]), where])
    return rows


def markdown(document: Mapping[str, Any]) -> str:
    """The summary as Markdown: the verdict, then the evidence and what it cost."""
    mine, paper = document["verdict"]["measured"], document["verdict"]["paper"]
    study = document["study"]
    lines = [
        "# rejuv lab study: the paper's comparison from this machine's measurements",
        "",
        f"{study['vms']} VMs of {study['memory_mb']} MB at {study['rate']:g} req/s each, {study['before']:g} s of load "
        f"before and {study['after']:g} s after each procedure, sampled every {study['step']:g} s; "
        f"machine {document['machine']['host']} ({document['machine']['cores']} cores), "
        f"load average {document['load_average']}.",
        "",
        "## Verdict",
        "",
        f"- **Here:** {best_sentence(mine)}. The paper: {best_sentence(paper)}.",
        f"- **Here:** {crossover_sentence(mine)}. The paper: {crossover_sentence(paper)}.",
    ]
    if document["notes"]:
        lines.append(f"- {len(document['notes'])} value(s) could not be measured and are the paper's (Notes below).")
    failed = [name for name, cost in document["costs"].items() if cost["status"] == "failed"]
    if failed:
        lines.append(f"- Failed procedures (their parameters are the paper's): {', '.join(failed)}.")
    lines += ["", "## Parameters (measured.toml)", ""]
    lines += _table(["symbol", "name", "measured here", "paper", "from"], _parameter_rows(document))
    lines += ["## P/(m p) at each cluster size: here (paper)", ""]
    comparison = document["comparison"]
    header = ["strategy", *(f"m = {m:,}" for m in comparison["hosts"])]
    rows = [
        [STRATEGIES[key].label, *(f"{a:.6f} ({b:.6f})" for a, b in zip(here, comparison["paper"][key], strict=True))]
        for key, here in comparison["measured"].items()
    ]
    rows.append(["best", *(f"{a} ({b})" for a, b in zip(comparison["best"], comparison["paper_best"], strict=True))])
    lines += _table(header, rows)
    lines += ["## Figure 7 from these parameters", "", "![Figure 7](figure7.png)", ""]
    lines += _table(["crossover", "here", "paper"], _crossover_rows(document["crossovers"]))
    lines += ["## Figures 3 to 6 from this machine's traces", ""]
    for procedure, symbols in document["measured_by"].items():
        _, caption = figure_name(procedure)
        lines += [f"### {caption}: {procedure}", ""]
        figure = document["figures"].get(procedure)
        lines += [f"![{caption}]({figure})" if figure else "(no figure: the procedure has no trace)", ""]
        lines += _table(["symbol", "name", "measured here", "paper", "from"], _parameter_rows(document, symbols))
    if document["notes"]:
        lines += ["## Notes: what could not be measured", "", *(f"- {note}" for note in document["notes"]), ""]
    lines += ["## What it cost", ""]
    cost_rows = [
        [
            name,
            cost["status"],
            "?" if math.isnan(cost["seconds"]) else f"{cost['seconds']:.0f} s",
            f"{cost['planned']:.0f} s",
            cost["error"] or "",
        ]
        for name, cost in document["costs"].items()
    ]
    lines += _table(["procedure", "status", "wall time", "planned", "error"], cost_rows)
    lines += [
        f"Total wall time of the runs: {document['total_seconds']:.0f} s ({document['total_seconds'] / 60:.1f} min).",
        "",
    ]
    lines += ["Made by: `" + document["provenance"]["command"] + "`", ""]
    return "\n".join(lines)
