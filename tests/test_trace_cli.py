"""rejuv synth, fit and compare end to end: a trace made from the paper's values is fitted back to them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from rejuv.cli import main
from rejuv.model import Parameters, degradation_rates

# Fitted from one synthetic event (the preset's 11 VMs at p / n req/s, 5% noise each: 1.5% on the host):
# downtimes and periods within 2 s, rates within 5%.
SECONDS = 2.0
RATE = 0.05
SYMBOLS = {
    "warm": {"D_w": "warm_reboot_downtime", "omega": "warm_reboot_degradation", "R_vmm": "warm_reboot_degraded_period"},
    "cold": {
        "D_c": "cold_reboot_downtime",
        "omega_c": "cold_reboot_degradation",
        "R_vmm_c": "cold_reboot_degraded_period",
    },
    "os": {"D_os": "os_downtime", "delta": "os_degradation", "R_os": "os_degraded_period"},
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def test_synth_fit_compare_recovers_the_preset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], paper: Parameters
) -> None:
    """synth (warm, cold, os) -> fit --out -> compare --params --json: n, p and every fitted value close to the preset's, and compare uses them."""
    traces = []
    for kind in SYMBOLS:
        path = tmp_path / f"{kind}.trace"
        run(capsys, "synth", "--kind", kind, "--seed", "3", "--out", str(path))
        traces.append(str(path))
    params = tmp_path / "params.toml"
    out = run(capsys, "fit", *traces, "--out", str(params))
    assert "events: 1 warm, 1 cold, 1 os" in out
    assert out.rstrip().endswith(f"wrote {params}")
    fitted = tomllib.loads(params.read_text())
    assert set(fitted) == {"n", "p"} | {symbol for kind in SYMBOLS.values() for symbol in kind}
    assert fitted["n"] == 11 and abs(fitted["p"] - 560.0) <= 0.01 * 560.0  # the measured host
    values = json.loads(run(capsys, "compare", "--params", str(params), "--json"))["parameters"]["values"]
    assert (values["vms_per_host"], values["host_throughput"]) == (fitted["n"], fitted["p"])
    for names in SYMBOLS.values():
        for symbol, name in names.items():
            truth = float(getattr(paper, name))
            tolerance = RATE * truth if name.endswith("_degradation") else SECONDS
            assert abs(fitted[symbol] - truth) <= tolerance, symbol
            assert values[name] == fitted[symbol]


def test_fit_on_a_bad_trace_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed trace (after a good one) is 'error: <file>, <row, column>: <problem>', exit 2, and no parameter or temporary file."""
    good = tmp_path / "good.trace"
    run(capsys, "synth", "--out", str(good))
    bad = tmp_path / "bad.csv"
    bad.write_text("time,vm0\n0,10\n1,ten\n")
    before = set(tmp_path.iterdir())
    assert main(["fit", str(good), str(bad), "--out", str(tmp_path / "p.toml")]) == 2
    assert capsys.readouterr().err == f"error: {bad}, row 3, column 'vm0': not a number: 'ten'\n"
    assert set(tmp_path.iterdir()) == before


def test_fit_with_too_short_a_baseline_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--baseline 3 (3 samples at 1 s) is shorter than the 5 samples a baseline needs: a clear error, no traceback, no file."""
    trace = tmp_path / "t.trace"
    run(capsys, "synth", "--out", str(trace))
    assert main(["fit", str(trace), "--baseline", "3", "--out", str(tmp_path / "p.toml")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {trace}: baseline window too short before the event at 120 s: 3 valid samples, need at least 5\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.trace"]


def test_fit_failing_while_writing_leaves_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If writing the parameter file fails midway, neither it nor its temporary file remains."""
    import rejuv.trace.params_file as params_file

    trace = tmp_path / "t.trace"
    run(capsys, "synth", "--out", str(trace))

    def fail(*args: object, **kwargs: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(params_file, "parameter_file_text", fail)
    assert main(["fit", str(trace), "--out", str(tmp_path / "p.toml")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'p.toml'}: No space left on device\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.trace"]


def test_fit_of_a_trace_without_markers_needs_a_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A CSV without markers is detected only when --kind says what its events are."""
    lines = ["time,vm0"] + [f"{t},{0 if 60 <= t < 80 else 10}" for t in range(200)]
    path = tmp_path / "plain.csv"
    path.write_text("\n".join(lines) + "\n")
    assert main(["fit", str(path)]) == 2
    assert (
        capsys.readouterr().err == f"error: {path}: has no event markers; say which kind of event it holds (--kind)\n"
    )
    out = run(capsys, "fit", str(path), "--kind", "cold")
    assert "events: 1 cold" in out
    assert "D_c" in out


def test_a_default_migration_trace_fits_back_the_models_gamma(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], paper: Parameters
) -> None:
    """synth --kind migration with default n and load (Table 1's throughputs are absolute) -> fit: γ within 0.02."""
    trace = tmp_path / "move.trace"
    run(capsys, "synth", "--kind", "migration", "--out", str(trace))
    out = run(capsys, "fit", str(trace), "--kind", "migration", "--out", str(tmp_path / "move.toml"))
    [line] = [line for line in out.splitlines() if line.startswith("γ = ")]
    assert abs(float(line.split()[2]) - float(degradation_rates(paper)["migration"])) <= 0.02
