"""Whatever a user types, rejuv answers with a result or one clear error line, never a traceback.

A property test in the spirit of a hostile but fair user: random commands with
random options (drawn from each command's own parser, so a new flag is fuzzed
as soon as it exists), random parameter files and random trace files.
``rejuv lab`` (root and QEMU) and ``rejuv sweep`` (a Dask cluster per run) have
their own hostile-input tests.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rejuv.cli.main import build_parser, main
from rejuv.limits import MEMORY_LIMIT_VARIABLE

FUZZED_COMMANDS = ("compare", "params", "phase-map", "fit", "synth", "plot-trace", "validate")

HOSTILE = ["", "nan", "inf", "-inf", "-1", "0", "1e308", "-1e308", "1e-308", "abc", "1,,2", ",", "2**70", " ", "é"]
DURATIONS = ["30s", "0.5s", "1e-6s", "1e12s", "0s", "-1s", "nans", "5min", "1h30m", "28d", "10", "1e9"]
SYMBOLS = ["D_w", "omega", "R_vmm", "D_c", "omega_c", "R_vmm_c", "D_os", "delta", "R_os", "D_m", "M_l", "M_l_rc"]
SYMBOLS += ["T_vmm", "T_os", "n", "p", "warm_reboot_downtime", "D_ww", "gamma"]

#: Plausible values for each option's destination, beside the hostile ones, so that runs get past the parser.
PLAUSIBLE: dict[str, list[str]] = {
    "hosts": ["2", "2,10", "1000", "1e7", "0", "-3", "1.5", "3,2"],
    "x": ["T_vmm=1d:90d", "D_w=1s:10min", "T_os=0:1", "bogus=1:2", "D_w=5s:1s", "T_vmm"],
    "y": ["T_os=1d:90d", "D_c=10s:10min", "omega=0:1", "n=1:20"],
    "points": ["2", "5", "0", "-1", "100000", "1.5"],
    "strategies": ["all", "warm,cold", "bogus", "migration", "stop_and_copy"],
    "vms": ["1", "2", "4", "0", "-1", "1000000"],
    "seed": ["0", "7", "-1", "1180591620717411303424"],
    "periods": ["1", "2", "100000000", "0"],
    "tolerance": ["0.05", "0.5", "0", "-1", "1e-12", "2"],
    "durations": ["fixed", "lognormal:0.3", "lognormal:-1", "gamma:0", "gamma:0.2", "weird:1"],
    "aging": ["2:60d:15min", "0:1d:1s", "2:1s:1s", "x"],
    "load_fraction": ["1", "0.5", "10", "0", "-1", "1e9"],  # validate's (was --load)
    "rate": ["1", "0.5", "10", "0", "-1", "1e9"],  # synth's, req/s per VM (was --load)
    "noise": ["0.05", "0", "-1", "10"],
    "jitter": ["0.1", "0", "-1", "2"],
    "baseline": ["30", "5", "0", "-5", "5min"],
    "preset": ["kourai2008", "bogus", "../../etc/passwd"],
    "spares": ["1", "2", "0", "-1", "1000000"],
    "parallel_moves": ["1", "3", "0", "-2"],
    "spare_reboot": ["60s", "-1s", "0s"],
    "max_events": ["1e9", "100000", "0"],
    "before": DURATIONS,
    "after": DURATIONS,
    "step": DURATIONS,
    # fit --prometheus: only loopback, where nothing listens on port 1 (refused at once), and URLs that are none
    "prometheus": ["http://127.0.0.1:1", "http://[::1]:1", "ftp://127.0.0.1/", "http://[::1", "127.0.0.1:9090", ""],
    "query": ["up", "rate(x[1m])", ""],
    "markers_query": ["up", ""],
    "start": ["0", "now-1h", "2026-11-30T00:00:00Z", "2026-11-30T00:00:00", "now+1h"],
    "end": ["60", "now", "1e300"],
    "timeout": ["1", "0.5s", "0", "-1"],
}

PARAMETER_VALUES = ["59", "59s", "0.61", "61%", "-3", "0", "1e308", "nan", "inf", '"text"', "[1, 2]", "{ a = 1 }"]
PARAMETER_VALUES += ["1979-05-27T07:32:00Z", "true", '"28d"', '"1h30m"', "[]", "{ linear = [4.4, 21] }"]
CURVES = ["stop_and_copy", "live", "live_rate_control", "bogus"]
COLUMNS = ["V_s", "V_m", "V_d", "M", "X"]


def _parameter_file(lines: list[tuple[str, str]], sections: list[tuple[str, str, str]]) -> str:
    text = "".join(f"{name} = {value}\n" for name, value in lines)
    for section, column, value in sections:
        text += f"[{section}]\n{column} = {value}\n"
    return text


parameter_files = st.builds(
    _parameter_file,
    st.lists(st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(PARAMETER_VALUES)), max_size=4),
    st.lists(
        st.tuples(st.sampled_from(CURVES), st.sampled_from(COLUMNS), st.sampled_from(PARAMETER_VALUES)), max_size=2
    ),
) | st.sampled_from(["", "[[[", "D_w = \n", "\xff\xfe not utf-8", "x" * 1000])

CELLS = ["0", "1", "10.5", "", "nan", "inf", "-5", "1e9", "abc", "1e308"]


@st.composite
def csv_traces(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from(["time,vm0", "time,vm0,vm1", "time,host", "t;x", "", "time"]))
    width = header.count(",") + 1
    rows = draw(st.lists(st.lists(st.sampled_from(CELLS), min_size=width, max_size=width), max_size=40))
    times = draw(st.sampled_from(["increasing", "as drawn"]))
    lines = [header]
    for number, row in enumerate(rows):
        if times == "increasing" and row:
            row = [str(number), *row[1:]]
        lines.append(",".join(row))
    return ("\n".join(lines) + "\n").encode()


@st.composite
def prometheus_traces(draw: st.DrawFn) -> bytes:
    values = draw(st.lists(st.tuples(st.sampled_from([0, 1, 2, 3, 1e9, -1]), st.sampled_from(CELLS)), max_size=20))
    document: Any = {
        "status": draw(st.sampled_from(["success", "error"])),
        "data": {
            "resultType": draw(st.sampled_from(["matrix", "vector", "scalar"])),
            "result": [{"metric": {"instance": "vm0"}, "values": [[t, v] for t, v in values]}],
        },
        "error": "bad_data: parse error",
    }
    return json.dumps(document).encode()


@st.composite
def rejuv_traces(draw: st.DrawFn) -> bytes:
    meta: dict[str, Any] = {
        "format": draw(st.sampled_from(["rejuv-trace", "other"])),
        "version": draw(st.sampled_from([1, "1", 2, None])),
        "step": draw(st.sampled_from([1.0, 0.1, 0, -1, "x", None, 1e-9])),
        "vm_names": draw(st.sampled_from([["vm0"], ["vm0", "vm1"], "vm0", [], None])),
        "markers": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "time": st.sampled_from([0.0, 5.0, float("nan"), -3.0, "x", None]),
                        "kind": st.sampled_from(["reboot-started", "reboot-ended", "bogus", 3]),
                    }
                ),
                max_size=3,
            )
            | st.sampled_from([None, "x", [1, 2]])
        ),
        "metadata": draw(st.sampled_from([{}, [], "x", {"seed": 1}])),
    }
    meta = {key: value for key, value in meta.items() if value is not None}
    samples = draw(st.sampled_from([0, 1, 5, 60]))
    vms = draw(st.sampled_from([1, 2]))
    throughput = np.full((samples, vms), draw(st.sampled_from([10.0, 0.0, np.nan, -1.0, np.inf])))
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        for name, array in (("meta", np.array(json.dumps(meta))), ("vm_throughput", throughput)):
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return stream.getvalue()


@st.composite
def dipping_csv_traces(draw: st.DrawFn) -> bytes:
    """A plausible trace: a steady load, a dip to zero, a degraded stretch, the load again."""
    level = draw(st.sampled_from([10.0, 50.0]))
    before, down, degraded, after = (draw(st.integers(0, 80)) for _ in range(4))
    rate = draw(st.sampled_from([0.0, 0.3, 0.6]))
    series = [level] * before + [0.0] * down + [level * (1 - rate)] * degraded + [level] * after
    lines = ["time,vm0,vm1", *(f"{t},{v},{v}" for t, v in enumerate(series))]
    return ("\n".join(lines) + "\n").encode()


trace_files = st.one_of(
    dipping_csv_traces().map(lambda data: ("csv", data)),
    csv_traces().map(lambda data: ("csv", data)),
    prometheus_traces().map(lambda data: ("json", data)),
    rejuv_traces().map(lambda data: ("trace", data)),
)


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[command]
            return found
    raise AssertionError("rejuv has no subcommands")


@st.composite
def invocations(draw: st.DrawFn, folder: Path) -> list[str]:
    """A command line of one fuzzed command, with its files written into ``folder``."""
    command = draw(st.sampled_from(FUZZED_COMMANDS))
    argv = [command]
    made = iter(range(1000))

    def write(suffix: str, data: bytes) -> str:
        path = folder / f"input{next(made)}.{suffix}"
        path.write_bytes(data)
        return str(path)

    def value_for(action: argparse.Action) -> str:
        hostile = draw(st.integers(0, 4)) == 0  # one value in five is hostile
        if hostile and action.dest not in ("params", "markers", "out"):
            return draw(st.sampled_from(HOSTILE))
        if action.choices:
            return draw(st.sampled_from(list(map(str, action.choices))))
        if action.dest == "params":
            return write("toml", draw(parameter_files).encode("utf-8", "surrogateescape"))
        if action.dest == "markers":
            return write("csv", draw(st.sampled_from([b"time,kind,subject\n5,reboot-started,\n", b"x\n", b""])))
        if action.dest == "out":
            return str(folder / draw(st.sampled_from(["out", "out.png", "out.toml", "missing/out", "."])))
        if action.dest == "set":
            return f"{draw(st.sampled_from(SYMBOLS))}={draw(st.sampled_from(PARAMETER_VALUES + DURATIONS))}"
        return draw(st.sampled_from(PLAUSIBLE[action.dest]))

    for action in _subparser(command)._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue  # help, and an old spelling of an option drawn under its new name (tests/test_cli_flags.py)
        if not action.option_strings:  # a positional: trace files
            count = 1 if action.nargs is None else draw(st.integers(1, 2))
            argv += [write(*draw(trace_files)) for _ in range(count)]
            continue
        required = action.dest == "hosts" and command == "validate"  # its default simulates for seconds
        if not (required or action.required or draw(st.integers(0, 2)) == 0):  # a third of the options
            continue
        if action.nargs == 0:
            argv.append(action.option_strings[-1])
        else:
            argv += [action.option_strings[-1], value_for(action)]
    return argv


def _no_infinity(constant: str) -> None:
    raise AssertionError(f"--json printed {constant}, which is not JSON")


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_command_line_ends_in_a_result_or_one_clear_error(tmp_path_factory: Any, data: st.DataObject) -> None:
    """Exit status 0, 1 or 2; on failure the first stderr line starts `error:` or `usage:`; no temporary file stays."""
    folder = tmp_path_factory.mktemp("fuzz")
    argv = data.draw(invocations(folder))
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, {MEMORY_LIMIT_VARIABLE: "512M"}),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        status = main(argv)
    message = err.getvalue()
    event(f"{argv[0]} exits {status}")
    assert status in (0, 1, 2), (argv, status, message)
    assert "Traceback" not in message, (argv, message)
    if status != 0:
        assert message.startswith(("error: ", "usage: ")), (argv, message)
    if status == 0 and "--json" in argv:
        json.loads(out.getvalue(), parse_constant=_no_infinity)
    assert [p.name for p in folder.rglob("*.tmp")] == [], argv
