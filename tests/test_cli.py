"""The rejuv command: exact outputs for programs, clear errors for people."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rejuv.cli import main
from rejuv.model import STRATEGIES, Parameters, compare_strategies

PAPER_HOSTS = [2, 50, 20000]


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(list(argv)) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def test_compare_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    """compare --json gives hosts, the five strategies with aligned lists, degradation rates and crossovers."""
    result = run_json(capsys, "compare", "--hosts", "2,50,20000", "--json")
    assert result["hosts"] == PAPER_HOSTS
    strategies = result["strategies"]
    assert isinstance(strategies, dict)
    assert set(strategies) == {"warm", "cold", "migration", "live", "live_rate_control"}
    for entry in strategies.values():
        assert len(entry["normalized_throughput"]) == len(PAPER_HOSTS)
        assert len(entry["availability"]) == len(PAPER_HOSTS)
    assert set(result["degradation_rates"]) == {"migration", "live", "live_rate_control"}  # type: ignore[arg-type]
    for crossover in result["crossovers"]:  # type: ignore[attr-defined]
        assert set(crossover) == {"strategy", "overtakes", "hosts"}


def test_compare_json_holds_the_library_comparison(capsys: pytest.CaptureFixture[str], paper: Parameters) -> None:
    """compare --json prints every key of rejuv.model.compare_strategies' result with the same value: the CLI computes nothing."""
    result = run_json(capsys, "compare", "--hosts", "2,50,20000", "--json")
    library = json.loads(json.dumps(compare_strategies(paper, PAPER_HOSTS)))
    assert {key: result[key] for key in library} == library


def test_compare_json_reports_the_paper_crossovers(capsys: pytest.CaptureFixture[str]) -> None:
    """With the paper's preset, stop-and-copy overtakes cold between 10,000 and 12,500 hosts and nothing overtakes warm (paper Section 4)."""
    result = run_json(capsys, "compare", "--json")
    found = {(c["strategy"], c["overtakes"]): c["hosts"] for c in result["crossovers"]}  # type: ignore[attr-defined]
    assert 10_000 < found[("migration", "cold")] < 12_500
    assert 10_000 < found[("live", "cold")] < 12_500
    assert all(found[(key, "warm")] is None for key in STRATEGIES if key != "warm")


def test_compare_applies_set_overrides_with_units(capsys: pytest.CaptureFixture[str]) -> None:
    """--set takes paper symbols with units, and the JSON echoes the values used in base units."""
    result = run_json(capsys, "compare", "--json", "--set", "D_w=2min", "--set", "T_vmm=14 days")
    values = result["parameters"]["values"]  # type: ignore[index]
    assert values["warm_reboot_downtime"] == 120.0
    assert values["vmm_interval"] == 14 * 86400.0


def test_compare_reads_a_parameter_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--params overrides a subset of the preset, by symbol or by name."""
    path = tmp_path / "mine.toml"
    path.write_text('D_c = "10 min"\nwarm_reboot_degradation = "50%"\n')
    result = run_json(capsys, "compare", "--json", "--params", str(path))
    values = result["parameters"]["values"]  # type: ignore[index]
    assert values["cold_reboot_downtime"] == 600.0
    assert values["warm_reboot_degradation"] == 0.5
    assert values["warm_reboot_downtime"] == 59.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "--set", "D_ww=3"], "error: D_ww: unknown parameter; did you mean 'D_w'?"),
        (["compare", "--set", "D_w=-3"], "error: warm_reboot_downtime (D_w): must be >= 0 s, got -3 s"),
        (["compare", "--set", "omega=1.5"], "error: warm_reboot_degradation (omega): must be in [0, 1], got 1.5"),
        (["compare", "--set", "D_w"], "error: --set D_w: expected NAME=VALUE"),
        (["compare", "--hosts", "1"], "error: hosts (m): must be whole numbers >= 2"),
        (["compare", "--hosts", "2,x"], "error: --hosts: expected whole numbers separated by commas, got 'x'"),
        (["compare", "--preset", "nope"], "error: preset 'nope': unknown; available: kourai2008"),
        (["compare", "--params", "/nonexistent/p.toml"], "error: /nonexistent/p.toml: cannot read"),
        (["phase-map", "--x", "T_vmm=90d:1d", "--y", "T_os=1d:9d"], "error: axis T_vmm: START must be below STOP"),
        (["phase-map", "--x", "T_vmm", "--y", "T_os=1d:9d"], "error: axis 'T_vmm': expected NAME=START:STOP"),
        (
            ["phase-map", "--x", "T_vmm=1d:9d", "--y", "T_os=1d:9d", "--strategies", "warm,hot"],
            "error: --strategies: unknown strategy 'hot'",
        ),
        (["compare", "--no-such-option"], "error: rejuv compare: unrecognized arguments: --no-such-option"),
        (["--no-such-option", "compare"], "error: rejuv: unrecognized arguments: --no-such-option"),
    ],
)
def test_a_user_mistake_is_one_error_line_and_status_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user's mistake prints `error: <what>: <why>` on stderr, exits 2, and prints no traceback."""
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert "Traceback" not in err


def test_malformed_parameter_file_error_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A parameter file that is not TOML is reported with its path and line."""
    path = tmp_path / "broken.toml"
    path.write_text('D_w = "59s"\nD_c = = 3\n')
    assert main(["compare", "--params", str(path)]) == 2
    assert f"error: {path}, line 2: not valid TOML" in capsys.readouterr().err


def test_params_lists_every_symbol(capsys: pytest.CaptureFixture[str]) -> None:
    """rejuv params shows one row per paper symbol, with computed degradation rates marked."""
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    for symbol in ("D_w", "omega", "R_vmm_c", "M_l_rc", "gamma_l_rc"):
        assert f"  {symbol} " in out
    assert "0.6023 (computed)" in out


def test_params_prints_each_value_with_its_own_unit(capsys: pytest.CaptureFixture[str]) -> None:
    """rejuv params states each value in its own unit (28 d, 59 s, 560 req/s), never beside another unit."""
    assert main(["params"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert "  28 d  " in rows["T_vmm"] and "  59 s  " in rows["D_w"] and "  560 req/s  " in rows["p"]
    assert "  11 VMs  " in rows["n"] and "  0.61  " in rows["omega"]
    assert not any(" s  s " in row or " d  s " in row for row in rows.values())


def test_python_dash_m_runs_the_cli() -> None:
    """`python -m rejuv` is the same command as `rejuv`."""
    done = subprocess.run([sys.executable, "-m", "rejuv", "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.startswith("rejuv ")


def test_an_output_folder_that_is_a_file_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """reproduce --out-dir FILE: exit status 2, `error: FILE: exists and is not a folder`, and the file is untouched."""
    blocker = tmp_path / "taken"
    blocker.write_text("mine")
    assert main(["reproduce", "--out-dir", str(blocker)]) == 2
    assert capsys.readouterr().err == f"error: {blocker}: exists and is not a folder\n"
    assert blocker.read_text() == "mine"
