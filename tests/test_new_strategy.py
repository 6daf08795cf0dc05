"""A strategy defined here alone, with parameters of its own, runs through compare, validate, synth and fit.

"Warm-VM Reboot with a staged resume" resumes the VMs in stages: a short
downtime D_s, then a long degraded period R_s at a small rate ω_s while the
later stages resume. It is one class and one :func:`rejuv.model.register`
call; rejuv's source knows nothing of it.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from rejuv.cli import main
from rejuv.cli.sim_options import parse_strategies
from rejuv.errors import ConfigFileError, ParameterError
from rejuv.model import (
    STRATEGIES,
    Kind,
    OsRule,
    Parameters,
    RebootStrategy,
    Symbol,
    apply_overrides,
    crossovers,
    evaluate_all,
    load_parameter_file,
    normalized_throughputs,
    register,
    strategy,
    unregister,
)


class StagedResume(RebootStrategy):
    """Warm-VM Reboot with a staged resume, P_s = (1 - (D_s + N_s D_os + ω_s R_s + N_s δ R_os) / T_vmm) m p."""

    key = "staged"
    label = "Warm-VM Reboot, staged resume"
    symbol = "P_s"
    os_rule = OsRule.PAUSED
    downtime_symbol = "D_s"
    degradation_symbol = "omega_s"
    degraded_period_symbol = "R_s"
    symbols = (
        Symbol("D_s", "staged_resume_downtime", Kind.DURATION, "D_s", "downtime until the first stage resumes"),
        Symbol("omega_s", "staged_resume_degradation", Kind.RATE, "ω_s", "throughput lost while later stages resume"),
        Symbol("R_s", "staged_resume_degraded_period", Kind.DURATION, "R_s", "until every stage has resumed"),
    )


PAPER_KEYS = ["warm", "cold", "migration", "live", "live_rate_control"]
VALUES = ("--set", "D_s=20s", "--set", "omega_s=0.3", "--set", "R_s=100s")


@pytest.fixture
def staged() -> Iterator[StagedResume]:
    """The strategy, registered for one test and removed afterwards."""
    item = register(StagedResume())
    try:
        yield item
    finally:
        unregister(item.key)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def staged_params(paper: Parameters) -> Parameters:
    return apply_overrides(paper, {"D_s": "20s", "omega_s": 0.3, "R_s": "100s"})


def test_a_registered_strategy_evaluates_its_own_formula(staged: StagedResume, paper: Parameters) -> None:
    """P_s / (m p) is 1 - (D_s + N_s D_os + ω_s R_s + N_s δ R_os) / T_vmm with N_s = (T_vmm - D_s) / T_os."""
    params = staged_params(paper)
    vmm, os_ = 28 * 86400.0, 7 * 86400.0
    count = (vmm - 20.0) / os_
    expected = 1 - (20.0 + count * 41.0 + 0.3 * 100.0 + count * 0.35 * 410.0) / vmm
    assert float(staged.evaluate(params, 10).normalized_throughput) == pytest.approx(expected, rel=1e-14)


def test_a_registered_strategy_brings_its_symbols_and_checks(staged: StagedResume, paper: Parameters) -> None:
    """Its symbols read from --set and files, its downtime must stay below T_vmm, and without it they are unknown."""
    params = staged_params(paper)
    assert params.scalar().staged_resume_downtime == 20.0
    assert params.as_dict()["staged_resume_degraded_period"] == 100.0
    with pytest.raises(ParameterError, match=r"staged_resume_downtime \(D_s\): must stay below T_vmm"):
        params.replace(D_s=29 * 86400.0)
    unregister("staged")
    try:
        with pytest.raises(ParameterError, match="unknown parameter"):
            paper.replace(D_s=20.0)
    finally:
        register(staged)


def test_compare_reports_a_registered_strategy_beside_the_paper_s(
    staged: StagedResume, capsys: pytest.CaptureFixture[str], paper: Parameters
) -> None:
    """rejuv compare --json has the new strategy, with the model's value, and the paper's five unchanged."""
    result = json.loads(run(capsys, "compare", "--hosts", "2,1000", "--json", *VALUES))
    assert list(result["strategies"]) == [*PAPER_KEYS, "staged"]
    expected = float(staged.evaluate(staged_params(paper), 1000).normalized_throughput)
    assert result["strategies"]["staged"]["normalized_throughput"][1] == expected
    assert result["parameters"]["values"]["staged_resume_downtime"] == 20.0
    unregister("staged")
    try:
        plain = json.loads(run(capsys, "compare", "--hosts", "2,1000", "--json"))
    finally:
        register(staged)
    for key, entry in plain["strategies"].items():
        assert result["strategies"][key] == entry


def test_a_command_names_a_registered_strategy_s_missing_parameter(
    staged: StagedResume, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without values for its own parameters, compare says which one is missing, in one error line."""
    assert main(["compare", "--json"]) == 2
    assert capsys.readouterr().err == "error: staged_resume_downtime (D_s): missing\n"


def test_a_parameter_file_gives_a_registered_strategy_its_own_section(
    staged: StagedResume, tmp_path: Path, paper: Parameters
) -> None:
    """[strategies.staged] holds the strategy's own parameters; a parameter not its own there is an error naming both."""
    path = tmp_path / "staged.toml"
    path.write_text('[strategies.staged]\nD_s = "20s"\nomega_s = 0.3\nR_s = "100s"\n')
    point = load_parameter_file(path, paper).scalar()
    assert (point.staged_resume_downtime, point["omega_s"], point["R_s"]) == (20.0, 0.3, 100.0)
    path.write_text('[strategies.staged]\nD_w = "20s"\n')
    with pytest.raises(
        ConfigFileError, match=r"\[strategies.staged\]: D_w is not one of .* own parameters \(D_s, omega_s, R_s\)"
    ):
        load_parameter_file(path, paper)
    path.write_text('[strategies.stagd]\nD_s = "20s"\n')
    with pytest.raises(ConfigFileError, match=r"\[strategies.stagd\]: strategy 'stagd': unknown"):
        load_parameter_file(path, paper)


def test_params_lists_a_registered_strategy_s_symbols(staged: StagedResume, capsys: pytest.CaptureFixture[str]) -> None:
    """rejuv params shows the new symbols with their values and meanings."""
    out = run(capsys, "params", *VALUES)
    assert "D_s" in out and "staged_resume_downtime" in out and "until every stage has resumed" in out


def test_validate_simulates_a_registered_strategy_as_its_closed_form(
    staged: StagedResume, capsys: pytest.CaptureFixture[str]
) -> None:
    """rejuv validate plays its declared phases (D_s at loss 1, R_s at ω_s) and agrees with its formula."""
    result = json.loads(run(capsys, "validate", "--strategies", "staged", "--hosts", "10", "--json", *VALUES))
    (check,) = result["comparisons"]
    assert check["strategy"] == "staged"
    assert check["agrees"] and not check["reasons"]


def test_synth_and_fit_measure_a_registered_strategy_s_own_parameters(
    staged: StagedResume, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """synth --kind staged makes its event; fit --kind staged measures D_s, ω_s, R_s back; plot-trace draws it; compare reads them."""
    trace, params = tmp_path / "staged.trace", tmp_path / "staged.toml"
    run(capsys, "synth", "--kind", "staged", "--out", str(trace), "--seed", "3", *VALUES)
    run(capsys, "fit", str(trace), "--kind", "staged", "--out", str(params))
    run(capsys, "plot-trace", str(trace), "--kind", "staged", "--out", str(tmp_path / "staged.png"))
    assert (tmp_path / "staged.png").stat().st_size > 0
    fitted = tomllib.loads(params.read_text())
    assert fitted["D_s"] == pytest.approx(20.0, abs=2.0)
    assert fitted["omega_s"] == pytest.approx(0.3, abs=0.05)
    assert fitted["R_s"] == pytest.approx(100.0, abs=5.0)
    result = json.loads(run(capsys, "compare", "--hosts", "10", "--json", "--params", str(params)))
    assert result["parameters"]["values"]["staged_resume_downtime"] == pytest.approx(fitted["D_s"])


def test_library_calls_without_keys_include_a_registered_strategy(staged: StagedResume, paper: Parameters) -> None:
    """evaluate_all, normalized_throughputs and crossovers with no keys take every strategy registered at the call."""
    params = staged_params(paper)
    assert list(evaluate_all(params, 10)) == [*PAPER_KEYS, "staged"]
    assert list(normalized_throughputs(params, 10)) == [*PAPER_KEYS, "staged"]
    assert any("staged" in (c.strategy, c.overtakes) for c in crossovers(params))


def test_stop_and_copy_answers_to_both_of_its_names() -> None:
    """The strategy key is migration; stop_and_copy, its Table 1 section's name, finds the same strategy, also in --strategies."""
    assert strategy("stop_and_copy") is strategy("migration") is STRATEGIES["migration"]
    assert parse_strategies("warm,stop_and_copy") == ["warm", "migration"]
    with pytest.raises(ParameterError, match="unknown strategy 'stop_copy'"):
        parse_strategies("stop_copy")
