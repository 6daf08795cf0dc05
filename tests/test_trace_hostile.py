"""What a hostile but fair user types at fit, synth and plot-trace: each is a clear error, never a crash or a flood.

Every case runs the command line on a small input and must end with exit status 2, a first
line on stderr of the form ``error: <what>: <why>`` naming the field or flag, nothing written
or left behind, in well under 30 s and without allocating much: inputs that would ask for
gigabytes are refused from an estimate before anything is allocated. A few cases run as real
processes, with the default memory limit, to check for tracebacks and peak memory.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rejuv
from rejuv.cli import main
from rejuv.trace import read_any, read_csv

SECONDS = 30.0  #: each case ends well within this
IN_PROCESS_BYTES = 100 * 2**20  #: peak Python allocations of one refused case (tracemalloc)
PROCESS_BYTES = 2**30  #: peak resident memory of one refused command run as a process

CSV = "time,vm0,vm1\n" + "".join(f"{t},10,10\n" for t in range(60))


def meta(**changes: Any) -> dict[str, Any]:
    """A valid .trace meta document (2 VMs, 1 s step, one warm marker) with ``changes``; None removes a key."""
    document: dict[str, Any] = {
        "format": "rejuv-trace",
        "version": 1,
        "step": 1.0,
        "vm_names": ["vm0", "vm1"],
        "markers": [{"time": 40.0, "kind": "suspend-started", "subject": None, "note": ""}],
        "metadata": {"seed": 0},
    }
    document.update(changes)
    return {key: value for key, value in document.items() if value is not None}


def archive(document: Any = None, values: Any = None, **arrays: Any) -> bytes:
    """A .trace archive holding ``document`` as its meta (default: :func:`meta`) and 60 samples of 2 VMs."""
    stream = io.BytesIO()
    if isinstance(document, np.ndarray):
        entry = document
    else:
        entry = np.array(
            document if isinstance(document, str) else json.dumps(meta() if document is None else document)
        )
    throughput = np.full((60, 2), 10.0) if values is None else values
    np.savez_compressed(stream, meta=entry, vm_throughput=throughput, **arrays)
    return stream.getvalue()


def huge_archive(shape: tuple[int, ...]) -> bytes:
    """A .trace archive whose vm_throughput header claims ``shape`` (its data is absent: never allocated)."""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as bundle:
        with bundle.open("meta.npy", "w") as entry:
            np.lib.format.write_array(entry, np.array(json.dumps(meta(markers=[], vm_names=["vm0"]))))
        with bundle.open("vm_throughput.npy", "w") as entry:
            header = {"descr": "<f8", "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(entry, header)
    return stream.getvalue()


def prometheus(*series: list[Any], **document: Any) -> str:
    """A range-query response holding one series per argument (VMs a, b, ...)."""
    result = [{"metric": {"vm": chr(ord("a") + i)}, "values": values} for i, values in enumerate(series)]
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    body.update(document)
    return json.dumps(body)


def points(count: int = 40) -> list[Any]:
    return [[1700000000 + t, "10"] for t in range(count)]


@dataclass(frozen=True)
class Case:
    """``argv`` run in a folder holding ``files`` must fail naming ``what`` and saying ``why``."""

    argv: tuple[str, ...]
    what: str
    why: str
    files: dict[str, str | bytes | Callable[[Path], None]] = field(default_factory=dict)


def link_to(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def make_folder(path: Path) -> None:
    path.mkdir()


FIT = ("fit", "t.csv")
SYNTH = ("synth", "--out", "s.trace")
TRACE = {"t.csv": CSV}

CASES: dict[str, Case] = {
    # fit's and plot-trace's flags
    "fit --tolerance 0": Case((*FIT, "--tolerance", "0"), "--tolerance", "between 0 and 1", TRACE),
    "fit --tolerance -1": Case((*FIT, "--tolerance", "-1"), "--tolerance", "between 0 and 1", TRACE),
    "fit --tolerance 1": Case((*FIT, "--tolerance", "1"), "--tolerance", "between 0 and 1", TRACE),
    "fit --tolerance nan": Case((*FIT, "--tolerance", "nan"), "--tolerance", "finite", TRACE),
    "fit --tolerance text": Case((*FIT, "--tolerance", "tight"), "--tolerance", "expected a number", TRACE),
    "fit --baseline nan": Case((*FIT, "--baseline", "nan"), "--baseline", "nan", TRACE),
    "fit --baseline inf": Case((*FIT, "--baseline", "1e400"), "--baseline", "finite", TRACE),
    "fit --baseline 0": Case((*FIT, "--baseline", "0"), "--baseline", "> 0 s", TRACE),
    "fit --baseline -5s": Case((*FIT, "--baseline=-5s"), "--baseline", "> 0 s", TRACE),
    "fit --out is the input": Case((*FIT, "--out", "t.csv"), "--out", "is an input", TRACE),
    "fit --out is the markers": Case(
        (*FIT, "--markers", "m.csv", "--out", "m.csv"), "--out", "is an input", {**TRACE, "m.csv": "time,kind\n"}
    ),
    "plot-trace --baseline 0": Case(("plot-trace", "t.csv", "--baseline", "0"), "--baseline", "> 0 s", TRACE),
    "plot-trace --out is the input": Case(("plot-trace", "t.csv", "--out", "t.csv"), "--out", "is an input", TRACE),
    # synth's flags
    "synth --vms 0": Case((*SYNTH, "--vms", "0"), "--vms", ">= 1"),
    "synth --vms -3": Case((*SYNTH, "--vms=-3"), "--vms", ">= 1"),
    "synth --vms 2.5": Case((*SYNTH, "--vms", "2.5"), "--vms", "whole number"),
    "synth --seed -1": Case((*SYNTH, "--seed=-1"), "--seed", ">= 0"),
    "synth --seed text": Case((*SYNTH, "--seed", "lucky"), "--seed", "whole number"),
    "synth --step 0": Case((*SYNTH, "--step", "0"), "--step", "> 0 s"),
    "synth --step -1s": Case((*SYNTH, "--step=-1s"), "--step", "> 0 s"),
    "synth --step inf": Case((*SYNTH, "--step", "1e400s"), "--step", "finite"),
    "synth --load 0": Case((*SYNTH, "--load", "0"), "--load", "> 0"),
    "synth --load nan": Case((*SYNTH, "--load", "nan"), "--load", "finite"),
    "synth --noise 2": Case((*SYNTH, "--noise", "2"), "--noise", "[0, 1]"),
    "synth --noise nan": Case((*SYNTH, "--noise", "nan"), "--noise", "finite"),
    "synth --jitter 0.6": Case((*SYNTH, "--jitter", "0.6"), "--jitter", "[0, 0.5]"),
    "synth --before -1s": Case((*SYNTH, "--before=-1s"), "--before", ">= 0 s"),
    "synth --after nan": Case((*SYNTH, "--after", "nan"), "--after", "nan"),
    # inputs that would exhaust memory: refused from the estimate
    "synth --step 1e-6s": Case((*SYNTH, "--step", "1e-6s"), "--step", "needs about"),
    "synth --after 1e12s": Case((*SYNTH, "--after", "1e12s"), "--after", "needs about"),
    "synth a 1e15 s event": Case(
        (*SYNTH, "--set", "T_vmm=1e20s", "--set", "D_w=1e15s"), "the event's duration (--set, --params)", "needs about"
    ),
    "synth --step 1e6s": Case((*SYNTH, "--step", "1e6s"), "--step", "at most the trace's length"),
    "CSV times ±1e308": Case(FIT, "t.csv", "too many samples to count", {"t.csv": "time,vm0\n-1e308,1\n1e308,1\n"}),
    "CSV a 5e-324 s step": Case(FIT, "t.csv", "too many samples to count", {"t.csv": "time,vm0\n0,1\n5e-324,1\n1,1\n"}),
    "synth --vms 1e9": Case((*SYNTH, "--vms", "1000000000"), "--vms", "needs about"),
    "CSV spanning 1e9 s": Case(
        ("fit", "g.csv", "--kind", "warm"), "g.csv", "needs about", {"g.csv": "time,vm0\n0,1\n1,1\n1e9,1\n"}
    ),
    "Prometheus spanning 1e9 s": Case(
        ("fit", "q.json", "--kind", "warm"),
        "q.json",
        "needs about",
        {"q.json": prometheus([[0, "1"], [1, "1"], [1e9, "1"]])},
    ),
    ".trace with 1e10 samples": Case(
        ("plot-trace", "h.trace"), "h.trace", "needs about", {"h.trace": huge_archive((10**10, 1))}
    ),
    # the .trace file's meta document
    ".trace version '1'": Case(
        ("fit", "x.trace"), "meta.version", "'1' (a string)", {"x.trace": archive(meta(version="1"))}
    ),
    ".trace version true": Case(
        ("fit", "x.trace"), "meta.version", "a boolean", {"x.trace": archive(meta(version=True))}
    ),
    ".trace version 3": Case(
        ("fit", "x.trace"), "x.trace", "version 3 is not supported", {"x.trace": archive(meta(version=3))}
    ),
    ".trace outages not a list": Case(
        ("fit", "x.trace"), "meta.outages", "a list of outages", {"x.trace": archive(meta(version=2, outages=7))}
    ),
    ".trace outage end before start": Case(
        ("fit", "x.trace"),
        "outages[0].end",
        "must not be before its start",
        {"x.trace": archive(meta(version=2, outages=[{"vm": "vm0", "start": 5.0, "end": 4.0}]))},
    ),
    ".trace outage of an unknown VM": Case(
        ("fit", "x.trace"),
        "x.trace",
        "names unknown VM 'nobody'",
        {"x.trace": archive(meta(version=2, outages=[{"vm": "nobody", "start": 4.0, "end": 5.0}]))},
    ),
    ".trace format other": Case(
        ("fit", "x.trace"), "x.trace", "format 'other'", {"x.trace": archive(meta(format="other"))}
    ),
    ".trace meta a list": Case(("fit", "x.trace"), "x.trace", "not a rejuv trace file", {"x.trace": archive([1, 2])}),
    ".trace meta not JSON": Case(("fit", "x.trace"), "meta", "not valid JSON", {"x.trace": archive("{nope")}),
    ".trace meta a number array": Case(
        ("fit", "x.trace"), "meta", "must be one string", {"x.trace": archive(np.zeros(1))}
    ),
    ".trace step '1'": Case(("fit", "x.trace"), "meta.step", "'1' (a string)", {"x.trace": archive(meta(step="1"))}),
    ".trace step NaN": Case(("fit", "x.trace"), "meta.step", "finite", {"x.trace": archive(meta(step=float("nan")))}),
    ".trace step 0": Case(("fit", "x.trace"), "meta.step", "> 0", {"x.trace": archive(meta(step=0))}),
    ".trace step -1": Case(("fit", "x.trace"), "meta.step", "> 0", {"x.trace": archive(meta(step=-1))}),
    ".trace step missing": Case(("fit", "x.trace"), "meta", "missing 'step'", {"x.trace": archive(meta(step=None))}),
    ".trace vm_names a string": Case(
        ("fit", "x.trace"), "meta.vm_names", "a list of VM names", {"x.trace": archive(meta(vm_names="vm0"))}
    ),
    ".trace vm_names of numbers": Case(
        ("fit", "x.trace"), "meta.vm_names[0]", "must be a string", {"x.trace": archive(meta(vm_names=[0, 1]))}
    ),
    ".trace vm_names repeated": Case(
        ("fit", "x.trace"), "x.trace", "must be unique", {"x.trace": archive(meta(vm_names=["a", "a"]))}
    ),
    ".trace vm_names too few": Case(
        ("fit", "x.trace"), "x.trace", "one column per VM", {"x.trace": archive(meta(vm_names=["vm0"]))}
    ),
    ".trace markers an object": Case(
        ("fit", "x.trace"), "meta.markers", "a list of markers", {"x.trace": archive(meta(markers={}))}
    ),
    ".trace marker a string": Case(
        ("fit", "x.trace"), "markers[0]", "must be an object", {"x.trace": archive(meta(markers=["warm"]))}
    ),
    ".trace marker time NaN": Case(
        ("fit", "x.trace"),
        "markers[0].time",
        "finite",
        {"x.trace": archive(meta(markers=[{"time": float("nan"), "kind": "suspend-started"}]))},
    ),
    ".trace marker time '40'": Case(
        ("fit", "x.trace"),
        "markers[0].time",
        "'40' (a string)",
        {"x.trace": archive(meta(markers=[{"time": "40", "kind": "suspend-started"}]))},
    ),
    ".trace marker time negative": Case(
        ("fit", "x.trace"),
        "markers[0].time",
        ">= 0",
        {"x.trace": archive(meta(markers=[{"time": -1, "kind": "suspend-started"}]))},
    ),
    ".trace marker time missing": Case(
        ("fit", "x.trace"),
        "markers[0]",
        "'time' is missing",
        {"x.trace": archive(meta(markers=[{"kind": "all-resumed"}]))},
    ),
    ".trace marker past the end": Case(
        ("fit", "x.trace"),
        "x.trace",
        "past the end of the trace",
        {"x.trace": archive(meta(markers=[{"time": 1e6, "kind": "suspend-started"}]))},
    ),
    ".trace marker kind a number": Case(
        ("fit", "x.trace"),
        "markers[0].kind",
        "must be a string",
        {"x.trace": archive(meta(markers=[{"time": 1, "kind": 5}]))},
    ),
    ".trace marker kind unknown": Case(
        ("fit", "x.trace"),
        "markers[0]",
        "unknown marker 'boom'",
        {"x.trace": archive(meta(markers=[{"time": 1, "kind": "boom"}]))},
    ),
    ".trace marker subject a number": Case(
        ("fit", "x.trace"),
        "markers[0].subject",
        "a VM name",
        {"x.trace": archive(meta(markers=[{"time": 1, "kind": "os-reboot-started", "subject": 0}]))},
    ),
    ".trace marker subject unknown": Case(
        ("fit", "x.trace"),
        "x.trace",
        "unknown VM 'vm9'",
        {"x.trace": archive(meta(markers=[{"time": 1, "kind": "os-reboot-started", "subject": "vm9"}]))},
    ),
    ".trace marker note a number": Case(
        ("fit", "x.trace"),
        "markers[0].note",
        "must be a string",
        {"x.trace": archive(meta(markers=[{"time": 1, "kind": "all-resumed", "note": 3}]))},
    ),
    ".trace metadata a list": Case(
        ("fit", "x.trace"), "meta.metadata", "must be an object", {"x.trace": archive(meta(metadata=[1, 2]))}
    ),
    # the .trace file's arrays
    ".trace throughput text": Case(
        ("fit", "x.trace"), "vm_throughput", "must hold numbers", {"x.trace": archive(values=np.full((60, 2), "ten"))}
    ),
    ".trace throughput infinite": Case(
        ("fit", "x.trace"), "x.trace", "finite or NaN", {"x.trace": archive(values=np.full((60, 2), np.inf))}
    ),
    ".trace throughput negative": Case(
        ("fit", "x.trace"), "x.trace", ">= 0", {"x.trace": archive(values=np.full((60, 2), -1.0))}
    ),
    ".trace throughput all missing": Case(
        ("fit", "x.trace", "--kind", "warm"),
        "x.trace",
        "no valid samples",
        {"x.trace": archive(meta(markers=[]), values=np.full((60, 2), np.nan))},
    ),
    ".trace no samples": Case(
        ("fit", "x.trace", "--kind", "warm"),
        "x.trace",
        "no valid samples",
        {"x.trace": archive(meta(markers=[]), values=np.zeros((0, 2)))},
    ),
    ".trace host of another length": Case(
        ("fit", "x.trace"), "x.trace", "host must have 60 samples", {"x.trace": archive(host=np.ones(3))}
    ),
    ".trace a CSV inside": Case(("fit", "x.trace"), "x.trace", "not a rejuv trace file", {"x.trace": CSV}),
    ".trace a folder": Case(("fit", "x.trace"), "x.trace", "is a folder", {"x.trace": make_folder}),
    ".trace a device": Case(("fit", "x.trace"), "x.trace", "not a regular file", {"x.trace": link_to("/dev/zero")}),
    # CSV
    "CSV empty": Case(FIT, "t.csv", "empty file", {"t.csv": ""}),
    "CSV header only": Case(FIT, "t.csv", "at least 2 samples, got 0", {"t.csv": "time,vm0\n"}),
    "CSV one row": Case(FIT, "t.csv", "at least 2 samples, got 1", {"t.csv": "time,vm0\n0,1\n"}),
    "CSV no time column": Case(FIT, "t.csv, row 1", "the first column must be the time", {"t.csv": "a,b\n1,2\n"}),
    "CSV time only": Case(FIT, "t.csv, row 1", "at least one throughput column", {"t.csv": "time\n0\n1\n"}),
    "CSV unnamed column": Case(FIT, "t.csv, row 1", "column 2 has no name", {"t.csv": "time,,b\n0,1,1\n"}),
    "CSV repeated column": Case(FIT, "t.csv", "must be unique", {"t.csv": "time,a,a\n0,1,1\n1,1,1\n"}),
    "CSV text cell": Case(
        FIT, "t.csv, row 3, column 'vm0'", "not a number: 'ten'", {"t.csv": "time,vm0\n0,1\n1,ten\n"}
    ),
    "CSV NaN cell": Case(FIT, "t.csv, row 3, column 'vm0'", "throughput is NaN", {"t.csv": "time,vm0\n0,1\n1,nan\n"}),
    "CSV inf cell": Case(FIT, "t.csv, row 3, column 'vm0'", "infinite", {"t.csv": "time,vm0\n0,1\n1,inf\n"}),
    "CSV negative cell": Case(FIT, "t.csv, row 3, column 'vm0'", ">= 0", {"t.csv": "time,vm0\n0,1\n1,-1\n"}),
    "CSV NaN time": Case(FIT, "t.csv, row 3", "time must be a finite number", {"t.csv": "time,vm0\n0,1\nnan,1\n2,1\n"}),
    "CSV inf time": Case(FIT, "t.csv, row 4", "time must be a finite number", {"t.csv": "time,vm0\n0,1\n1,1\ninf,1\n"}),
    "CSV text time": Case(FIT, "t.csv, row 3", "time is not a number", {"t.csv": "time,vm0\n0,1\nnoon,1\n"}),
    "CSV repeated time": Case(FIT, "t.csv, row 4", "times must increase", {"t.csv": "time,vm0\n0,1\n1,1\n1,1\n"}),
    "CSV reversed times": Case(FIT, "t.csv, row 3", "times must increase", {"t.csv": "time,vm0\n2,1\n1,1\n0,1\n"}),
    "CSV off the grid": Case(FIT, "t.csv, row 4", "sampling grid", {"t.csv": "time,vm0\n0,1\n1,1\n2.5,1\n"}),
    "CSV ragged row": Case(FIT, "t.csv, row 3", "has 1 columns", {"t.csv": "time,vm0\n0,1\n1\n"}),
    "CSV not UTF-8": Case(FIT, "t.csv", "not UTF-8 text (byte 0xff", {"t.csv": b"time,vm0\n0,1\n1,\xff\n"}),
    "CSV a folder": Case(FIT, "t.csv", "is a folder", {"t.csv": make_folder}),
    "CSV missing": Case(FIT, "t.csv", "no such file"),
    "CSV /dev/null": Case(FIT, "t.csv", "empty file", {"t.csv": link_to("/dev/null")}),
    "CSV without markers, no --kind": Case(FIT, "t.csv", "has no event markers", TRACE),
    # markers CSV
    "markers NaN time": Case(
        (*FIT, "--markers", "m.csv"), "m.csv, row 2", "finite", {**TRACE, "m.csv": "time,kind\nnan,suspend-started\n"}
    ),
    "markers text time": Case(
        (*FIT, "--markers", "m.csv"),
        "m.csv, row 2",
        "time is not a number",
        {**TRACE, "m.csv": "time,kind\nx,all-booted\n"},
    ),
    "markers before the trace": Case(
        (*FIT, "--markers", "m.csv"),
        "m.csv, row 2",
        "not before the trace's first sample",
        {**TRACE, "m.csv": "time,kind\n-5,all-booted\n"},
    ),
    "markers unknown kind": Case(
        (*FIT, "--markers", "m.csv"), "m.csv, row 2", "unknown marker 'boom'", {**TRACE, "m.csv": "time,kind\n5,boom\n"}
    ),
    "markers no kind": Case(
        (*FIT, "--markers", "m.csv"), "m.csv, row 2", "needs time and kind", {**TRACE, "m.csv": "time,kind\n5\n"}
    ),
    "markers wrong header": Case(
        (*FIT, "--markers", "m.csv"), "m.csv, row 1", "expected a header", {**TRACE, "m.csv": "when,what\n"}
    ),
    "markers unknown VM": Case(
        (*FIT, "--markers", "m.csv"),
        "t.csv",
        "unknown VM 'vm9'",
        {**TRACE, "m.csv": "time,kind,subject\n40,os-reboot-started,vm9\n"},
    ),
    "markers with a .json trace": Case(
        ("fit", "q.json", "--markers", "m.csv"),
        "m.csv",
        "CSV traces only",
        {"q.json": prometheus(points()), "m.csv": "time,kind\n"},
    ),
    # Prometheus
    "Prometheus not JSON": Case(("fit", "q.json"), "q.json, line 1", "not valid JSON", {"q.json": "<html>"}),
    "Prometheus a JSON list": Case(("fit", "q.json"), "q.json", "not a Prometheus query response", {"q.json": "[]"}),
    "Prometheus nested too deeply": Case(("fit", "q.json"), "q.json", "nested too deeply", {"q.json": "[" * 200_000}),
    "Prometheus error response": Case(
        ("fit", "q.json"),
        "q.json",
        'Prometheus said: bad_data: invalid parameter "query": 1:5: parse error',
        {
            "q.json": json.dumps(
                {"status": "error", "errorType": "bad_data", "error": 'invalid parameter "query": 1:5: parse error'}
            )
        },
    ),
    "Prometheus vector": Case(
        ("fit", "q.json"),
        "q.json: data.resultType",
        "got 'vector'",
        {"q.json": prometheus(points(), data={"resultType": "vector", "result": []})},
    ),
    "Prometheus no resultType": Case(
        ("fit", "q.json"), "q.json: data.resultType", "got None", {"q.json": prometheus(points(), data={"result": []})}
    ),
    "Prometheus empty result": Case(
        ("fit", "q.json"), "q.json: data.result", "holds no series", {"q.json": prometheus()}
    ),
    "Prometheus one sample": Case(
        ("fit", "q.json"), "q.json", "at least 2 samples, got 1", {"q.json": prometheus(points(1))}
    ),
    "Prometheus '-Inf' value": Case(
        ("fit", "q.json"),
        "series 'a' at 1",
        "throughput is infinite ('-Inf')",
        {"q.json": prometheus([[0, "1"], [1, "-Inf"]])},
    ),
    "Prometheus '+Inf' value": Case(
        ("fit", "q.json"),
        "series 'a' at 1",
        "throughput is infinite ('+Inf')",
        {"q.json": prometheus([[0, "1"], [1, "+Inf"]])},
    ),
    "Prometheus object value": Case(
        ("fit", "q.json"), "series 'a' at 1", "a number in a string", {"q.json": prometheus([[0, "1"], [1, {}]])}
    ),
    "Prometheus repeated timestamp": Case(
        ("fit", "q.json"),
        "series 'a' at 1",
        "timestamps must increase",
        {"q.json": prometheus([[0, "1"], [1, "2"], [1, "3"]])},
    ),
    "Prometheus reversed timestamps": Case(
        ("fit", "q.json"),
        "series 'b' at 0",
        "timestamps must increase",
        {"q.json": prometheus(points(3), [[1, "1"], [0, "1"]])},
    ),
    "Prometheus NaN timestamp": Case(
        ("fit", "q.json"),
        "series 'a' at NaN",
        "timestamp must be a finite number",
        {"q.json": prometheus([[0, "1"], ["NaN", "1"]])},
    ),
    "Prometheus not UTF-8": Case(("fit", "q.json"), "q.json", "not UTF-8 text", {"q.json": b'{"data": "\xfe"}'}),
    "Prometheus /dev/zero": Case(("fit", "q.json"), "q.json", "needs about", {"q.json": link_to("/dev/zero")}),
}


def make(folder: Path, files: dict[str, str | bytes | Callable[[Path], None]]) -> None:
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            content(path)


def listing(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_a_hostile_input_is_a_named_error_that_writes_nothing(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 2; stderr's first line is 'error: <what>: <why>' naming the field; no file or temporary left; fast and small."""
    make(tmp_path, case.files)
    before = listing(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REJUV_MEMORY_LIMIT", "200M")  # a device is read only up to what this allows
    tracemalloc.start()
    began = time.monotonic()
    try:
        status = main(list(case.argv))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - began
    first = capsys.readouterr().err.splitlines()[0]
    assert status == 2, first
    assert first.startswith("error: "), first
    assert case.what in first and case.why in first, first
    assert first.index(case.what) < first.index(case.why), first  # what is wrong, then why
    assert listing(tmp_path) == before
    assert elapsed < SECONDS
    assert peak < IN_PROCESS_BYTES


# Real processes with the default memory limit (a quarter of RAM): the three inputs that
# exhausted the machine before, a list of metadata and a NaN marker that raised tracebacks.
PROCESS_CASES = [
    "CSV spanning 1e9 s",
    "synth --step 1e-6s",
    "synth --after 1e12s",
    ".trace with 1e10 samples",
]
PROCESS_FILES = {
    ".trace metadata a list": CASES[".trace metadata a list"],
    ".trace marker time NaN": CASES[".trace marker time NaN"],
}


def run_process(argv: tuple[str, ...], folder: Path) -> tuple[int, str, int]:
    """``python -m rejuv ARGV`` in ``folder`` with the default limit: exit status, stderr, peak RSS in bytes."""
    env = {key: value for key, value in os.environ.items() if key != "REJUV_MEMORY_LIMIT"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(rejuv.__file__).parents[1]), env.get("PYTHONPATH", "")])
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "rejuv", *argv], cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return child.returncode, err.read().decode(), usage.ru_maxrss * 1024


@pytest.mark.parametrize("name", PROCESS_CASES + list(PROCESS_FILES))
def test_a_hostile_input_in_a_real_process_ends_without_traceback_and_small(name: str, tmp_path: Path) -> None:
    """As a real process with the default limit: exit 2, 'error: ...' and no traceback on stderr, under 1 GB and 30 s."""
    case = CASES[name]
    make(tmp_path, case.files)
    before = listing(tmp_path)
    began = time.monotonic()
    status, err, peak = run_process(case.argv, tmp_path)
    assert status == 2, err
    assert err.startswith("error: ") and case.why in err.splitlines()[0], err
    assert "Traceback" not in err
    assert peak < PROCESS_BYTES
    assert time.monotonic() - began < SECONDS
    assert listing(tmp_path) == before


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    """A CSV saved with a UTF-8 byte-order mark (as spreadsheets do) reads as without it."""
    path = tmp_path / "bom.csv"
    path.write_text("\ufeff" + CSV, encoding="utf-8")
    assert read_csv(path).vm_names == ("vm0", "vm1")


def test_markers_out_of_order_in_a_trace_file_are_read_in_time_order(tmp_path: Path) -> None:
    """Unsorted markers are not an error: the trace holds them sorted by time."""
    later, earlier = {"time": 50.0, "kind": "all-resumed"}, {"time": 40.0, "kind": "suspend-started"}
    path = tmp_path / "x.trace"
    path.write_bytes(archive(meta(markers=[later, earlier])))
    assert [marker.time for marker in read_any(path).markers] == [40.0, 50.0]


def test_prometheus_timestamps_missing_from_one_series_are_still_missing_samples(tmp_path: Path) -> None:
    """Increasing timestamps with a gap stay allowed: only repeated or earlier ones are refused."""
    path = tmp_path / "q.json"
    path.write_text(prometheus([[0, "1"], [1, "1"], [3, "1"]]))
    np.testing.assert_array_equal(read_any(path).vm_throughput[:, 0], [1, 1, np.nan, 1])


def test_a_memory_limit_raised_by_the_user_lets_a_large_input_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV refused at a 1M limit is read at the default one: the estimate, not a fixed cap, decides."""
    path = tmp_path / "g.csv"
    path.write_text("time,vm0\n" + "".join(f"{t},10\n" for t in (0, 1, 20_000)))
    monkeypatch.setenv("REJUV_MEMORY_LIMIT", "1M")
    assert main(["fit", str(path), "--kind", "warm"]) == 2
    assert "needs about 2.9 MiB of memory, more than the limit of 1 MiB" in capsys.readouterr().err
    monkeypatch.delenv("REJUV_MEMORY_LIMIT")
    assert read_csv(path).samples == 20_001


def test_entries_other_than_the_three_arrays_are_never_loaded(tmp_path: Path) -> None:
    """A .trace archive with an extra entry (here one claiming 10^10 samples, with no data) reads as without it."""
    stream = io.BytesIO(archive())
    with zipfile.ZipFile(stream, "a") as bundle, bundle.open("junk.npy", "w") as entry:
        np.lib.format.write_array_header_1_0(entry, {"descr": "<f8", "fortran_order": False, "shape": (10**10,)})
    path = tmp_path / "x.trace"
    path.write_bytes(stream.getvalue())
    assert read_any(path).samples == 60
