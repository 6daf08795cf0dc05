"""Nothing a user types crashes rejuv, exhausts the machine, hangs in silence or writes a file (issue 11).

Each hostile input to compare, reproduce, phase-map, params, validate and
sweep ends in ``error: <what>: <why>`` naming the field, exit status 2, and
no file written. The costly ones (memory, hours of work, Dask at its edges)
run as real ``python -m rejuv`` processes with the default limits, and their
wall time and peak RSS are checked too.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rejuv.cli.main import main

SUBPROCESS_SECONDS = 30.0
SUBPROCESS_BYTES = 1 << 30  # 1 GiB peak RSS

# Parameter files: name -> content (bytes for the non-UTF-8 one).
FILES: dict[str, str | bytes] = {
    "list.toml": "D_w = [1, 2]\n",
    "table.toml": "[D_w]\nx = 1\n",
    "datetime.toml": "D_w = 1979-05-27T07:32:00Z\n",
    "bool.toml": "D_w = true\n",
    "infinite.toml": "D_w = 1e400\n",
    "huge-n.toml": "n = 10000000000000000000000\n",
    "unknown-section.toml": "[foo]\nD_w = 1\n",
    "not-utf8.toml": b"\xff\xfe\x00D_w = 1\n",
    "migration-scalar.toml": "migration = 3\n",
    "section-scalar.toml": "[migration]\nstop_and_copy = 3\n",
    "curve-scalar.toml": "[migration.stop_and_copy]\nsource_throughput = 5\n",
    "curve-list-of-numbers.toml": "[migration.stop_and_copy]\nsource_throughput = [5]\n",
    "curve-text-slope.toml": "[migration.stop_and_copy]\nsource_throughput = [{form = 'linear', slope = 'x', intercept = 1}]\n",
    "curve-nan-slope.toml": "[migration.stop_and_copy]\nsource_throughput = [{form = 'linear', slope = nan, intercept = 1}]\n",
    "curve-infinite-bound.toml": "[migration.stop_and_copy]\nsource_throughput = [{form = 'constant', value = 1, last = inf}]\n",
}

# (id, argv, what the first error line names); {dir} is a folder of FILES, {out} an output folder.
CASES = [
    ("params-list", ["compare", "--params", "{dir}/list.toml"], "D_w"),
    ("params-table", ["compare", "--params", "{dir}/table.toml"], "D_w"),
    ("params-datetime", ["compare", "--params", "{dir}/datetime.toml"], "D_w"),
    ("params-bool", ["compare", "--params", "{dir}/bool.toml"], "D_w"),
    ("params-infinite", ["compare", "--params", "{dir}/infinite.toml"], "D_w"),
    ("params-huge-n", ["compare", "--params", "{dir}/huge-n.toml"], "huge-n.toml"),
    ("params-unknown-section", ["compare", "--params", "{dir}/unknown-section.toml"], "foo"),
    ("params-not-utf8", ["compare", "--params", "{dir}/not-utf8.toml"], "not UTF-8"),
    ("params-migration-scalar", ["compare", "--params", "{dir}/migration-scalar.toml"], "migration"),
    ("params-section-scalar", ["compare", "--params", "{dir}/section-scalar.toml"], "migration.stop_and_copy"),
    ("params-curve-scalar", ["compare", "--params", "{dir}/curve-scalar.toml"], "source_throughput"),
    ("params-curve-numbers", ["compare", "--params", "{dir}/curve-list-of-numbers.toml"], "source_throughput"),
    ("params-curve-text", ["compare", "--params", "{dir}/curve-text-slope.toml"], "source_throughput"),
    ("params-curve-nan", ["compare", "--params", "{dir}/curve-nan-slope.toml"], "source_throughput"),
    ("params-curve-inf-bound", ["compare", "--params", "{dir}/curve-infinite-bound.toml"], "source_throughput"),
    ("params-a-directory", ["compare", "--params", "{dir}"], "cannot read"),
    ("params-missing", ["compare", "--params", "{dir}/absent.toml"], "cannot read"),
    ("set-nan", ["compare", "--set", "D_w=nan"], "D_w"),
    ("set-inf", ["compare", "--set", "D_w=inf"], "D_w"),
    ("set-no-value", ["compare", "--set", "D_w"], "--set D_w"),
    ("set-no-name", ["compare", "--set", "=3"], "--set =3"),
    ("set-unknown", ["compare", "--set", "D_ww=3"], "D_ww"),
    ("set-negative", ["compare", "--set", "D_w=-3"], "D_w"),
    ("hosts-empty-list", ["compare", "--hosts", ","], "--hosts"),
    ("hosts-empty", ["compare", "--hosts", ""], "--hosts"),
    ("hosts-negative", ["compare", "--hosts", "-5"], "hosts"),
    ("hosts-zero", ["compare", "--hosts", "0"], "hosts"),
    ("hosts-nan", ["compare", "--hosts", "nan"], "--hosts"),
    ("hosts-overflow", ["compare", "--hosts", "1e400"], "--hosts"),
    ("hosts-fraction", ["compare", "--hosts", "2.5"], "--hosts"),
    ("preset-unknown", ["params", "--preset", "nope"], "preset"),
    ("reproduce-out-under-a-file", ["reproduce", "--out-dir", "/dev/null/x"], "/dev/null/x"),
    ("validate-tolerance-zero", ["validate", "--loss-tolerance", "0"], "tolerance"),
    ("validate-tolerance-negative", ["validate", "--loss-tolerance", "-1"], "tolerance"),
    ("validate-tolerance-nan", ["validate", "--loss-tolerance", "nan"], "tolerance"),
    ("validate-tolerance-inf", ["validate", "--loss-tolerance", "inf"], "tolerance"),
    ("validate-periods-zero", ["validate", "--periods", "0"], "periods"),
    ("validate-periods-text", ["validate", "--periods", "many"], "--periods"),
    ("validate-hosts-empty", ["validate", "--hosts", ","], "--hosts"),
    ("validate-strategies-empty", ["validate", "--strategies", ","], "--strategies"),
    ("validate-strategies-unknown", ["validate", "--strategies", "foo"], "--strategies"),
    ("durations-negative-cv", ["validate", "--durations", "lognormal:-1"], "coefficient of variation"),
    ("durations-nan-cv", ["validate", "--durations", "gamma:nan"], "coefficient of variation"),
    ("durations-unknown-law", ["validate", "--durations", "weibull:1"], "--durations"),
    ("durations-no-cv", ["validate", "--durations", "lognormal"], "--durations"),
    ("aging-two-parts", ["validate", "--aging", "2:60d"], "--aging"),
    ("aging-nan-shape", ["validate", "--aging", "nan:60d:15min"], "aging.shape"),
    ("aging-zero-mttf", ["validate", "--aging", "2:0:15min"], "aging.mean_time_to_failure"),
    ("load-nan", ["validate", "--load-fraction", "nan"], "offered_load"),
    ("load-zero", ["validate", "--load-fraction", "0"], "offered_load"),
    ("spares-zero", ["validate", "--spares", "0"], "spares"),
    ("parallel-moves-zero", ["validate", "--parallel-moves", "0"], "parallel_moves"),
    ("seed-negative", ["validate", "--seed", "-1"], "seed"),
    ("spare-reboot-nan", ["validate", "--spare-reboot", "nan"], "--spare-reboot"),
    ("validate-huge-T_vmm", ["validate", "--set", "T_vmm=1e300", "--hosts", "2"], "T_vmm / T_os"),
    ("sweep-huge-T_vmm", ["sweep", "--set", "T_vmm=1e300", "--hosts", "2", "--out-dir", "{out}"], "T_vmm / T_os"),
    ("validate-huge-hosts", ["validate", "--hosts", "1e300"], "hosts"),
    (
        "validate-aging-too-long",
        ["validate", "--aging", "2:60d:30d", "--periods", "1", "--hosts", "2"],
        "aging.downtime",
    ),
    ("max-events-zero", ["validate", "--max-events", "0"], "--max-events"),
    ("sweep-replications-zero", ["sweep", "--replications", "0", "--out-dir", "{out}"], "--replications"),
    ("sweep-confidence-above-one", ["sweep", "--confidence", "1.5", "--out-dir", "{out}"], "--confidence"),
    ("sweep-confidence-nan", ["sweep", "--confidence", "nan", "--out-dir", "{out}"], "--confidence"),
    ("sweep-spares-empty", ["sweep", "--spares", ",", "--out-dir", "{out}"], "--spares"),
    ("sweep-workers-zero", ["sweep", "--workers", "0", "--out-dir", "{out}"], "--workers"),
    ("sweep-scheduler-nonsense", ["sweep", "--scheduler", "nonsense", "--out-dir", "{out}"], "--scheduler"),
    ("sweep-scheduler-no-port", ["sweep", "--scheduler", "tcp://127.0.0.1", "--out-dir", "{out}"], "--scheduler"),
    ("phase-map-one-point", ["phase-map", "--x", "T_vmm=1d:90d", "--y", "T_os=1d:90d", "--points", "1"], "T_vmm"),
    ("phase-map-nan-range", ["phase-map", "--x", "T_vmm=nan:90d", "--y", "T_os=1d:90d"], "T_vmm"),
    ("phase-map-no-range", ["phase-map", "--x", "T_vmm", "--y", "T_os=1d:90d"], "T_vmm"),
    (
        "phase-map-one-strategy",
        ["phase-map", "--x", "T_vmm=1d:90d", "--y", "T_os=1d:90d", "--strategies", "warm"],
        "strategies",
    ),
    ("phase-map-hosts-zero", ["phase-map", "--x", "T_vmm=1d:90d", "--y", "T_os=1d:90d", "--hosts", "0"], "hosts"),
]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A folder of hostile parameter files."""
    folder = tmp_path / "files"
    folder.mkdir()
    for name, content in FILES.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


def _without_usage(err: str) -> list[str]:
    """stderr's lines after argparse's usage block (which a usage error prints first)."""
    lines = err.splitlines()
    if lines and lines[0].startswith("usage:"):
        lines = lines[next((i for i, line in enumerate(lines) if line.startswith("error: ")), len(lines)) :]
    return lines


def _listing(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*")}


@pytest.mark.parametrize(("argv", "names"), [pytest.param(a, n, id=i) for i, a, n in CASES])
def test_a_hostile_input_is_one_error_naming_the_field_and_writes_nothing(
    argv: list[str],
    names: str,
    files: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each hostile input exits 2 with ``error: ...`` naming the field first, and leaves no file behind."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    out = work / "out"
    before = _listing(tmp_path)
    began = time.monotonic()
    status = main([item.format(dir=files, out=out) for item in argv])
    captured = capsys.readouterr()
    lines = _without_usage(captured.err)
    assert status == 2, captured.err
    assert lines and lines[0].startswith("error: "), captured.err
    assert names in lines[0]
    assert "Traceback" not in captured.err
    assert _listing(tmp_path) == before
    assert time.monotonic() - began < SUBPROCESS_SECONDS


@pytest.mark.parametrize("setting", ["T_vmm=1e308", "p=1e308"])
def test_compare_json_is_valid_json_when_a_value_overflows(setting: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A result past a float's range (requests at T_vmm or p = 1e308) is null in --json, not Infinity, and warns nothing."""
    assert main(["compare", "--set", setting, "--hosts", "2,1000", "--json"]) == 0
    captured = capsys.readouterr()

    def refuse(constant: str) -> float:
        raise AssertionError(f"not JSON: {constant}")

    document = json.loads(captured.out, parse_constant=refuse)
    warm = document["strategies"]["warm"]
    assert None in warm["lost_requests_per_year"] + warm["total_throughput"]
    assert captured.err == ""


def test_validate_tolerance_of_one_accepts_exact_agreement(capsys: pytest.CaptureFixture[str]) -> None:
    """The widest tolerance (1) is accepted and an agreeing run is reported as agreeing."""
    assert main(["validate", "--strategies", "warm", "--hosts", "2", "--loss-tolerance", "1", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["comparisons"]
    assert entry["agrees"] is True


# --- real processes: memory, hours of work, Dask at its edges -------------------------------------


def _run(argv: list[str], cwd: Path, timeout: float = SUBPROCESS_SECONDS) -> tuple[int, str, float, int]:
    """``python -m rejuv argv`` in ``cwd`` with the default limits: status, stderr, wall seconds, peak RSS (bytes)."""
    env = {key: value for key, value in os.environ.items() if key not in ("REJUV_MEMORY_LIMIT", "REJUV_EVENT_LIMIT")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1] / "src"), env.get("PYTHONPATH", "")])
    began = time.monotonic()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "rejuv", *argv], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
        while True:  # wait4, not communicate: the child's own peak RSS comes with its status
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - began > timeout:
                process.kill()
                os.wait4(process.pid, 0)
                process.returncode = -9
                raise AssertionError(f"rejuv {' '.join(argv)} ran past {timeout:g} s")
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
    return process.returncode, text, time.monotonic() - began, usage.ru_maxrss * 1024


COSTLY = [
    ("validate-periods", ["validate", "--periods", "100000000"], "periods"),
    ("validate-tolerance", ["validate", "--loss-tolerance", "1e-12"], "tolerance"),
    ("validate-hosts", ["validate", "--hosts", "10000000"], "hosts"),
    ("sweep-hosts", ["sweep", "--hosts", "10000000", "--replications", "2"], "hosts"),
    ("sweep-replications", ["sweep", "--replications", "100000"], "replications"),
    ("phase-map-points", ["phase-map", "--x", "T_vmm=1d:90d", "--y", "T_os=1d:90d", "--points", "100000"], "--points"),
]


@pytest.mark.parametrize(("argv", "names"), [pytest.param(a, n, id=i) for i, a, n in COSTLY])
def test_an_input_that_would_cost_hours_or_gigabytes_is_refused_at_once(
    argv: list[str], names: str, tmp_path: Path
) -> None:
    """Tiny inputs asking for billions of events or terabytes are refused with the estimate, in seconds and little memory."""
    status, err, seconds, peak = _run(argv, tmp_path)
    lines = err.splitlines()
    assert status == 2, err
    assert len(lines) == 1 and lines[0].startswith(f"error: {names}: "), err
    assert re.search(r"about [0-9.e+]+ (simulated events|TiB|GiB)", lines[0]), err
    assert "--max-events" in lines[0] or "--memory-limit" in lines[0]
    assert seconds < SUBPROCESS_SECONDS and peak < SUBPROCESS_BYTES
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A plain TCP listener on 127.0.0.1 that accepts connections and says nothing: not Dask."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_a_scheduler_address_where_no_dask_listens_fails_within_seconds(silent_server: int, tmp_path: Path) -> None:
    """--scheduler at a server that is not Dask is one error naming --scheduler, within seconds, not a hang."""
    argv = ["sweep", "--scheduler", f"tcp://127.0.0.1:{silent_server}", "--strategies", "warm", "--hosts", "10"]
    status, err, seconds, peak = _run(argv, tmp_path)
    assert status == 2, err
    assert err.splitlines() == [
        f"error: --scheduler: tcp://127.0.0.1:{silent_server} is not a Dask scheduler (it sent nothing within 5 s)"
    ]
    assert seconds < 20 and peak < SUBPROCESS_BYTES
    assert list(tmp_path.iterdir()) == []


def test_a_closed_port_is_an_error_naming_the_scheduler(tmp_path: Path) -> None:
    """--scheduler at a port where nothing listens says it cannot connect."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status, err, _, _ = _run(["sweep", "--scheduler", f"127.0.0.1:{port}", "--strategies", "warm"], tmp_path)
    assert status == 2
    assert err.startswith(f"error: --scheduler: cannot connect to 127.0.0.1:{port}: "), err


@pytest.fixture
def one_worker_cluster() -> Iterator[tuple[str, subprocess.Popen[bytes], subprocess.Popen[bytes]]]:
    """A real Dask scheduler and one worker without a nanny (nothing restarts it), as processes."""
    from distributed import Client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    worker = subprocess.Popen([dask, "worker", address, "--no-nanny", "--nthreads", "1", "--no-dashboard"], **quiet)
    try:
        with Client(address, timeout="20s") as client:  # type: ignore[no-untyped-call]
            client.wait_for_workers(1, timeout=20)  # type: ignore[no-untyped-call]
        yield address, worker, scheduler
    finally:
        for process in (worker, scheduler):
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("killed", "why"),
    [
        pytest.param("worker", "every Dask worker is gone", id="only-worker"),
        pytest.param("scheduler", "the Dask cluster dropped the runs left", id="scheduler"),
    ],
)
def test_a_sweep_whose_cluster_dies_stops_with_an_error_and_keeps_the_runs_done(
    one_worker_cluster: tuple[str, subprocess.Popen[bytes], subprocess.Popen[bytes]],
    killed: str,
    why: str,
    tmp_path: Path,
) -> None:
    """Once the only worker (or the scheduler) is killed the sweep ends in seconds, exit 2, the runs done kept."""
    address, worker, scheduler = one_worker_cluster
    out = tmp_path / "out"
    argv = ["sweep", "--scheduler", address, "--strategies", "warm", "--hosts", "10,30000,30000", "--replications", "1"]
    env = {key: value for key, value in os.environ.items() if key not in ("REJUV_MEMORY_LIMIT", "REJUV_EVENT_LIMIT")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1] / "src"), env.get("PYTHONPATH", "")])
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "rejuv", *argv, "--out-dir", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    seen = b""
    while b"1/3" not in seen:  # the progress bar: the 10-host run is done, the long ones are not
        seen += process.stderr.read1(4096)  # type: ignore[attr-defined]
        assert time.monotonic() - began < SUBPROCESS_SECONDS and process.poll() is None, seen
    (worker if killed == "worker" else scheduler).kill()
    _, rest = process.communicate(timeout=SUBPROCESS_SECONDS)
    err = (seen + rest).decode(errors="replace")
    assert process.returncode == 2, err
    last = err.splitlines()[-1]
    assert last.startswith(f"error: workers: {why}"), err
    assert "1 of 3 runs done" in last and str(out / "sweep-partial.csv") in last
    assert "Traceback" not in err and "distributed" not in err
    assert sorted(path.name for path in out.iterdir()) == ["sweep-partial.csv"]
    rows = [line for line in (out / "sweep-partial.csv").read_text().splitlines() if not line.startswith("#")]
    assert len(rows) == 2 and ",10," in rows[1]
    assert time.monotonic() - began < SUBPROCESS_SECONDS + 10


def test_more_workers_than_cores_warns_and_caps_and_dask_stays_quiet(tmp_path: Path) -> None:
    """--workers beyond the cores is one warning and a cap; Dask's own log does not reach stderr."""
    argv = [
        "sweep",
        "--workers",
        "999",
        "--strategies",
        "warm",
        "--hosts",
        "10",
        "--replications",
        "1",
        "--no-progress",
    ]
    status, err, seconds, _ = _run([*argv, "--out-dir", str(tmp_path / "out")], tmp_path)
    cores = os.cpu_count() or 1
    assert status == 0, err
    assert err.splitlines() == [f"warning: --workers: this machine has {cores} core(s); using {cores} workers, not 999"]
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["sweep.csv", "sweep.png"]
    assert seconds < SUBPROCESS_SECONDS


def test_long_simulations_show_progress_in_events_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """Work past QUIET_EVENTS shows a bar of simulated events with its total; quick work shows none."""
    from rejuv.cli.sim_options import QUIET_EVENTS, Progress

    quick = Progress(disabled=False)
    quick(10, QUIET_EVENTS - 1)
    quick.close()
    assert capsys.readouterr().err == ""
    long = Progress(disabled=False)
    long(QUIET_EVENTS, 4 * QUIET_EVENTS)
    long.close()
    err = capsys.readouterr().err
    assert "simulating" in err and "20.0M/80.0M" in err


def test_an_endless_parameter_file_is_refused_without_reading_it_all(capsys: pytest.CaptureFixture[str]) -> None:
    """--params /dev/zero is refused after 1 MiB, naming the file, instead of filling memory."""
    assert main(["compare", "--params", "/dev/zero"]) == 2
    assert (
        capsys.readouterr().err
        == "error: /dev/zero: larger than 1 MiB; a parameter file is a few hundred bytes of TOML\n"
    )
