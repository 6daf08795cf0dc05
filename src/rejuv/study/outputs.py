"""A study's results from its traces: measured.toml, the figures, summary.json and summary.md."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rejuv.files import atomic_write
from rejuv.lab.experiment import Experiment
from rejuv.model import NUMERIC_FIELDS, STRATEGIES, MigrationStrategy, Parameters, compare_strategies, lookup
from rejuv.provenance import current, machine
from rejuv.report import figure7_data, write_figure7, write_json
from rejuv.study.figures import write_trace_figures
from rejuv.study.measure import StudyFit, fit_study
from rejuv.study.plan import StudySettings
from rejuv.study.run import Cost, trace_path
from rejuv.study.summary import HOSTS, markdown
from rejuv.study.verdict import verdict
from rejuv.trace.data import Trace
from rejuv.trace.events import event_kinds
from rejuv.trace.params_file import parameter_file_text
from rejuv.trace.segment import Settings
from rejuv.trace.store import read_trace

__all__ = ["report_study", "measured_symbols", "MEASURED_FILE", "BASELINE_SHARE"]

MEASURED_FILE = "measured.toml"
BASELINE_SHARE = 0.75  #: of the load before a procedure, read as its baseline (the rest: the load settling)


def measured_symbols(procedure: str) -> tuple[str, ...]:
    """The paper symbols ``procedure``'s trace measures (whether or not a run managed to)."""
    item = STRATEGIES.get(procedure)
    if isinstance(item, MigrationStrategy):
        return (item.time_symbol, lookup(item.rate_field).symbol)
    return event_kinds()[procedure]


def _measured_text(fit: StudyFit, base: Parameters, sources: list[str], preset: str) -> str:
    """The parameter file: the measured values (``rejuv fit``'s form), then the preset's, marked so."""
    text = parameter_file_text(fit.estimates, sources, fit.profiles)
    values = base.as_dict()
    lines = ["", f"# Not measured here: the paper's values (preset {preset}), so that the file is complete"]
    for name in NUMERIC_FIELDS:
        entry = lookup(name)
        if entry.symbol in fit.estimates or values.get(name) is None:
            continue
        lines.append(
            f"{entry.symbol} = {float(values[name]):.6g}  # preset {preset}, not measured here: {entry.meaning}"
        )
    for symbol, rate in fit.paper_rates.items():
        lines.append(
            f"{symbol} = {rate:.6g}  # preset {preset} at its own n and p, not measured here: {lookup(symbol).meaning}"
        )
    return text + "\n".join(lines) + "\n"


def _parameters(fit: StudyFit, base: Parameters) -> dict[str, Any]:
    values = base.as_dict()
    table: dict[str, Any] = {}
    for name in NUMERIC_FIELDS:
        entry = lookup(name)
        paper = fit.paper_rates.get(entry.symbol, values.get(name))
        if paper is None:
            continue
        found = fit.estimates.get(entry.symbol)
        table[entry.symbol] = {
            "name": name,
            "measured": found is not None,
            "value": float(paper) if found is None else found.value,
            "uncertainty": None if found is None else found.uncertainty,
            "procedure": fit.source.get(entry.symbol),
            "paper": float(paper),
        }
    return table


def _configuration(run: Experiment) -> dict[str, Any]:
    """What every procedure shared (without what each procedure sets for itself)."""
    return {
        key: value for key, value in asdict(run).items() if key not in ("procedure", "link", "os_vm", "parallel_moves")
    }


def _comparison(params: Parameters, base: Parameters) -> dict[str, Any]:
    mine, paper = compare_strategies(params, HOSTS), compare_strategies(base, HOSTS)
    return {
        "hosts": list(HOSTS),
        "measured": {key: entry["normalized_throughput"] for key, entry in mine["strategies"].items()},
        "paper": {key: entry["normalized_throughput"] for key, entry in paper["strategies"].items()},
        "best": mine["best"],
        "paper_best": paper["best"],
    }


def report_study(
    settings: StudySettings, out: Path, costs: Mapping[str, Cost], base: Parameters, preset: str
) -> dict[str, Any]:
    """Fit the traces in ``out`` onto ``base`` (the preset named ``preset``) and write every result; return summary.json's document."""
    traces: dict[str, Trace] = {
        name: read_trace(trace_path(out, name)) for name in settings.chosen if trace_path(out, name).exists()
    }
    window = BASELINE_SHARE * settings.run.before
    fit = fit_study(traces, base, Settings(baseline_window=window), settings.run.vms)
    with atomic_write(out / MEASURED_FILE) as stream:
        stream.write(_measured_text(fit, base, [str(trace_path(out, name)) for name in traces], preset))
    figures, figure_notes = write_trace_figures(out, traces, fit.events, window)
    write_figure7(fit.parameters, out)
    total = sum(cost.seconds for cost in costs.values() if not math.isnan(cost.seconds))
    document: dict[str, Any] = {
        "study": {**_configuration(settings.run), "procedures": list(settings.chosen), "link": settings.link},
        "verdict": {"measured": verdict(figure7_data(fit.parameters)), "paper": verdict(figure7_data(base))},
        "parameters": _parameters(fit, base),
        "measured_by": {name: list(measured_symbols(name)) for name in settings.chosen},
        "comparison": _comparison(fit.parameters, base),
        "crossovers": {
            "measured": [dict(asdict(c)) for c in figure7_data(fit.parameters).crossovers],
            "paper": [dict(asdict(c)) for c in figure7_data(base).crossovers],
        },
        "figures": figures,
        "notes": fit.notes + figure_notes,
        "costs": {name: asdict(cost) for name, cost in costs.items()},
        "total_seconds": total,
        "machine": machine(),
        "load_average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "preset": preset,
    }
    write_json(out / "summary.json", document)
    with atomic_write(out / "summary.md") as stream:
        stream.write(markdown({**document, "provenance": current().as_dict()}))
    return document
