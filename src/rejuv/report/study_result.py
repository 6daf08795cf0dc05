"""The verdict of a ``rejuv lab study``, in sentences, and its ``summary.json`` as a report's result.

The sentences are shared by the study's own summary (:mod:`rejuv.study.summary`)
and the HTML report, so both say the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rejuv.report.results import Result, Table

__all__ = ["best_sentence", "crossover_sentence", "where", "study_result", "is_study"]


def _label(key: str) -> str:
    from rejuv.model import STRATEGIES

    return STRATEGIES[key].label if key in STRATEGIES else key


def where(hosts: int | None) -> str:
    """``m = 11,249``, or ``never``."""
    return "never" if hosts is None else f"m = {hosts:,}"


def best_sentence(found: Mapping[str, Any]) -> str:
    """Whether Warm-VM Reboot is best at every m, from a study's verdict object."""
    if found["warm_best_everywhere"]:
        return "Warm-VM Reboot is best at every m from 2 to 10^6"
    losing = found["warm_loses"]
    return (
        f"Warm-VM Reboot is not best at every m: from m = {losing['from_hosts']:,}, {_label(losing['best_there'])} is"
    )


def crossover_sentence(found: Mapping[str, Any]) -> str:
    """Where each migration overtakes Cold-VM Reboot, from a study's verdict object."""
    parts = [
        f"{_label(key)} {'never' if hosts is None else f'at m = {hosts:,}'}"
        for key, hosts in found["migration_overtakes_cold"].items()
    ]
    return "migration overtakes Cold-VM Reboot: " + ("; ".join(parts) or "no migration strategy compared")


def is_study(doc: Mapping[str, Any]) -> bool:
    """Whether a JSON document is a study's ``summary.json``."""
    return {"study", "verdict", "comparison", "parameters"} <= doc.keys()


def study_result(source: str, doc: Mapping[str, Any]) -> Result:
    """A study's summary: both verdicts first, then its parameters (measured or the paper's) and its cost."""
    mine, paper = doc["verdict"]["measured"], doc["verdict"]["paper"]
    verdict = (
        f"Here: {best_sentence(mine)}. The paper: {best_sentence(paper)}.",
        f"Here: {crossover_sentence(mine)}. The paper: {crossover_sentence(paper)}.",
        *(f"Note: {note}" for note in doc.get("notes", [])),
    )
    rows = []
    for symbol, entry in doc["parameters"].items():
        spread = "" if entry["uncertainty"] is None else f"{entry['uncertainty']:.2g}"
        shown = f"{entry['value']:.6g}" if entry["measured"] else "not measured"
        rows.append((symbol, entry["name"], shown, spread, f"{entry['paper']:.6g}", entry["procedure"] or "preset"))
    parameters = Table(
        "parameters: measured here, else the paper's", ("symbol", "name", "here", "±", "paper", "from"), tuple(rows)
    )
    costs = tuple(
        (name, cost["status"], "?" if cost["seconds"] is None else f"{cost['seconds']:.0f} s", cost["error"] or "")
        for name, cost in doc["costs"].items()
    )
    cost_table = Table("what each procedure cost (wall time)", ("procedure", "status", "time", "error"), costs)
    title = f"rejuv lab study: {', '.join(doc['study']['procedures'])} on {doc['study']['vms']} VMs"
    return Result(source, "study", title, verdict, (cost_table,), (), parameters, doc.get("provenance", {}))
