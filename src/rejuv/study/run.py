"""Running a study's procedures into their traces: progress, time left, resuming, and what each cost.

Each procedure writes ``DIR/<procedure>.trace``. A procedure whose trace is
already there is not run again (unless ``redo``), so a study stopped by Ctrl-C,
SIGTERM or a crash resumes where it stopped; an interrupted procedure leaves
no trace and runs again. What each run cost (wall time, or the error that
stopped it) is kept in ``DIR/costs.json``, written after each procedure.

A procedure that fails (a :class:`~rejuv.errors.RejuvError`: a VM that would
not boot, a guest that stopped answering) is recorded as failed and the
study goes on with the next: the others' measurements stay useful, and the
fit keeps the preset's values for what the failed one would have measured.
An interruption (KeyboardInterrupt) stops the study at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rejuv.errors import RejuvError
from rejuv.files import atomic_write
from rejuv.jsontext import to_json
from rejuv.lab.errors import LabError
from rejuv.lab.experiment import Experiment
from rejuv.provenance import current
from rejuv.study.plan import StudySettings, planned_seconds, time_left
from rejuv.trace.data import Trace
from rejuv.trace.store import read_trace, write_trace

__all__ = ["Cost", "Runner", "run_study", "check_kept", "trace_path", "read_costs", "COSTS_FILE"]

COSTS_FILE = "costs.json"

#: Runs one experiment into its trace (the real lab, or a fake in tests).
Runner = Callable[[Experiment], Trace]


@dataclass(frozen=True)
class Cost:
    """What one procedure cost: ``status`` is ``ran``, ``kept`` (its trace was there) or ``failed``."""

    procedure: str
    status: str
    seconds: float  #: wall time of the run (of the earlier run, for a kept trace; NaN if unknown)
    planned: float  #: s the plan allowed
    error: str | None = None
    made: str | None = None  #: when the run that made the trace ended (UTC, ISO 8601)


def trace_path(out: Path, procedure: str) -> Path:
    """Where a study keeps ``procedure``'s trace."""
    return out / f"{procedure}.trace"


def read_costs(out: Path) -> dict[str, Cost]:
    """The costs a study in ``out`` recorded, by procedure (none if it has not run)."""
    try:
        data = json.loads((out / COSTS_FILE).read_text(encoding="utf-8"))
        return {name: _cost(entry) for name, entry in data["procedures"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


#: The fields of an experiment a kept trace must share with the study to be part of it.
_SAME = ("vms", "rate", "before", "after", "memory_mb", "disk_bps", "step", "seed")


def check_kept(settings: StudySettings, out: Path) -> None:
    """Raise :class:`LabError` (``out``) if a trace in ``out`` was made on another configuration than ``settings``."""
    for name in settings.chosen:
        path = trace_path(out, name)
        if not path.exists():
            continue
        recorded = read_trace(path).metadata
        wanted = asdict(settings.experiment(name))
        for key in _SAME:
            if recorded.get(f"experiment_{key}") != wanted[key]:
                was = recorded.get(f"experiment_{key}")
                raise LabError(
                    "out",
                    f"{path} was made with {key} = {was}, this study has {wanted[key]}: "
                    "give the same options to resume, --redo to run it again, or another folder",
                )


def _cost(entry: dict[str, Any]) -> Cost:
    """A cost as costs.json holds it (JSON has no NaN: an unknown time is null)."""
    return Cost(**{**entry, "seconds": float("nan") if entry["seconds"] is None else entry["seconds"]})


def _write_costs(out: Path, costs: dict[str, Cost]) -> None:
    document = {"procedures": {name: asdict(cost) for name, cost in costs.items()}, "provenance": current().as_dict()}
    with atomic_write(out / COSTS_FILE) as stream:
        stream.write(to_json(document) + "\n")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def run_study(
    settings: StudySettings,
    out: Path,
    runner: Runner,
    progress: Callable[[str], None] = lambda _: None,
    redo: bool = False,
) -> dict[str, Cost]:
    """Run every chosen procedure that has no trace in ``out`` (every one with ``redo``); return the costs.

    Raises KeyboardInterrupt as it comes (the finished procedures' traces and costs are kept).
    """
    earlier = read_costs(out)
    if not redo:
        check_kept(settings, out)
    costs: dict[str, Cost] = {}
    plans = {name: planned_seconds(settings.experiment(name)) for name in settings.chosen}
    to_run = [name for name in plans if redo or not trace_path(out, name).exists()]
    for name in plans:
        if name not in to_run:
            before = earlier.get(name)
            costs[name] = Cost(
                name,
                "kept",
                before.seconds if before else float("nan"),
                plans[name],
                made=before.made if before else None,
            )
            progress(f"{name}: {trace_path(out, name)} is there; not run again (--redo runs it again)")
    done: list[tuple[float, float]] = []
    for number, name in enumerate(to_run, 1):
        left = time_left([plans[n] for n in to_run[number - 1 :]], done)
        progress(
            f"[{number}/{len(to_run)}] {name}: running (planned {_minutes(plans[name])}; study time left ~{_minutes(left)})"
        )
        trace_path(out, name).unlink(missing_ok=True)  # with redo: a run that fails leaves no stale trace to fit
        began = time.monotonic()
        try:
            trace = runner(settings.experiment(name))
            write_trace(trace, trace_path(out, name))
        except RejuvError as err:
            taken = time.monotonic() - began
            costs[name] = Cost(name, "failed", taken, plans[name], error=str(err))
            progress(f"[{number}/{len(to_run)}] {name}: failed after {_minutes(taken)}: {err}; going on")
        else:
            taken = time.monotonic() - began
            made = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            costs[name] = Cost(name, "ran", taken, plans[name], made=made)
            progress(f"[{number}/{len(to_run)}] {name}: done in {_minutes(taken)}")
            done.append((plans[name], taken))  # a failure may come early: it says nothing of the pace
        _write_costs(out, {**earlier, **costs})
    return {name: costs[name] for name in plans}
