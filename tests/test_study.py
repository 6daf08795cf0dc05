"""The study's orchestration and fit with a fake lab: resume, --redo, failures, values a fit cannot measure."""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from rejuv.cli.main import main
from rejuv.lab.errors import LabError, VMError
from rejuv.lab.experiment import Experiment
from rejuv.model import STRATEGIES, MigrationStrategy, load_parameter_file, load_preset
from rejuv.report.results import read_results
from rejuv.study import StudySettings, fit_study, report_study, run_study, study_procedures, trace_path
from rejuv.study.measure import StudyFit
from rejuv.study.plan import planned_seconds, time_left
from rejuv.trace import Estimate, Migration, Settings, event_from_parameters, synthesize
from rejuv.trace.data import Trace

PAPER = load_preset()
#: A small study: the fake lab's traces are the paper's events at n = 3, sampled each second.
SETTINGS = StudySettings(run=Experiment(vms=3, before=40.0, after=60.0, step=1.0))


def fake_trace(experiment: Experiment) -> Trace:
    """The trace a lab run of ``experiment`` would give if the machine behaved as the paper measured."""
    load = 20.0
    item = STRATEGIES.get(experiment.procedure)
    if isinstance(item, MigrationStrategy):
        profile = item.profile(PAPER)
        migrations = [Migration(experiment.before, profile)]
        duration = experiment.before + profile.total_time(experiment.vms) + experiment.after
        trace = synthesize(duration, vms=experiment.vms, load=load, migrations=migrations, seed=1)
    else:
        event = event_from_parameters(PAPER, experiment.procedure, experiment.before)
        duration = experiment.before + event.downtime + event.degraded_period + experiment.after
        trace = synthesize(duration, vms=experiment.vms, load=load, events=[event], seed=1)
    recorded = {f"experiment_{key}": value for key, value in asdict(experiment).items()}
    return replace(trace, metadata={**trace.metadata, **recorded})


class Lab:
    """A fake lab: records what it ran; ``fail`` names procedures that fail, ``stop`` one interrupted."""

    def __init__(self, fail: tuple[str, ...] = (), stop: str | None = None) -> None:
        self.ran: list[str] = []
        self.fail, self.stop = fail, stop

    def __call__(self, experiment: Experiment) -> Trace:
        self.ran.append(experiment.procedure)
        if experiment.procedure == self.stop:
            raise KeyboardInterrupt
        if experiment.procedure in self.fail:
            raise VMError("vm1 boot", "QEMU exited")
        return fake_trace(experiment)


def test_study_runs_every_procedure_the_model_fits() -> None:
    """The study runs each lab procedure whose trace gives model parameters, and no other (save-to-file)."""
    assert study_procedures()[:5] == ("warm", "cold", "os", "migration", "live")
    assert "save-to-file" not in study_procedures()
    assert SETTINGS.chosen == study_procedures()


def test_a_study_setting_is_checked_for_every_procedure_before_anything_runs() -> None:
    """A bad value names its field; an unknown procedure names --procedures' field."""
    with pytest.raises(LabError, match=r"^procedures: must be among"):
        StudySettings(procedures=("warm", "nap"))
    with pytest.raises(LabError, match=r"^vms: needs at least 2"):
        StudySettings(run=Experiment(vms=1))  # os needs another VM to slow down
    with pytest.raises(LabError, match=r"^link:"):
        StudySettings(link="fast")
    with pytest.raises(LabError, match=r"^link: only the migration procedures use the link, and none is chosen"):
        StudySettings(procedures=("warm",), link="1gbit")


def test_each_procedure_writes_its_own_trace_and_its_cost(tmp_path: Path) -> None:
    """Every procedure runs once into DIR/<procedure>.trace; costs.json records each one's wall time."""
    lab = Lab()
    costs = run_study(SETTINGS, tmp_path, lab)
    assert lab.ran == list(SETTINGS.chosen)
    assert all(trace_path(tmp_path, name).is_file() for name in SETTINGS.chosen)
    recorded = json.loads((tmp_path / "costs.json").read_text())["procedures"]
    assert {name: cost["status"] for name, cost in recorded.items()} == dict.fromkeys(SETTINGS.chosen, "ran")
    assert all(cost.seconds >= 0 for cost in costs.values())


def test_a_resumed_study_runs_only_the_procedures_without_a_trace(tmp_path: Path) -> None:
    """After an interruption the finished traces are kept untouched and only the rest run."""
    with pytest.raises(KeyboardInterrupt):
        run_study(SETTINGS, tmp_path, Lab(stop="os"))
    assert not trace_path(tmp_path, "os").exists()
    stamps = {name: trace_path(tmp_path, name).stat().st_mtime_ns for name in ("warm", "cold")}
    lab = Lab()
    costs = run_study(SETTINGS, tmp_path, lab)
    assert lab.ran == [name for name in SETTINGS.chosen if name not in stamps]
    assert {name: trace_path(tmp_path, name).stat().st_mtime_ns for name in stamps} == stamps
    assert costs["warm"].status == "kept" and costs["warm"].seconds >= 0  # the earlier run's cost, remembered


def test_redo_runs_every_procedure_again(tmp_path: Path) -> None:
    """With redo, a procedure whose trace exists runs again, and one that fails then has no trace."""
    run_study(SETTINGS, tmp_path, Lab())
    lab = Lab(fail=("cold",))
    run_study(SETTINGS, tmp_path, lab, redo=True)
    assert lab.ran == list(SETTINGS.chosen)
    assert not trace_path(tmp_path, "cold").exists()  # the failed redo leaves no earlier trace to be fitted as new


def test_a_kept_trace_of_another_configuration_is_refused(tmp_path: Path) -> None:
    """Resuming with other options would mix configurations: refused, naming --out's field, before any run."""
    run_study(replace(SETTINGS, procedures=("warm",)), tmp_path, Lab())
    lab = Lab()
    with pytest.raises(LabError, match=r"^out: .*warm.trace was made with vms = 3, this study has 4"):
        run_study(replace(SETTINGS, run=replace(SETTINGS.run, vms=4)), tmp_path, lab)
    assert lab.ran == []


def test_a_failing_procedure_is_reported_and_the_others_go_on(tmp_path: Path) -> None:
    """A procedure that fails leaves no trace, is recorded as failed with its error, and the next ones run."""
    lab = Lab(fail=("cold",))
    costs = run_study(SETTINGS, tmp_path, lab)
    assert lab.ran == list(SETTINGS.chosen)
    assert costs["cold"].status == "failed" and "vm1 boot: QEMU exited" in str(costs["cold"].error)
    assert not trace_path(tmp_path, "cold").exists()
    lab = Lab()
    assert run_study(SETTINGS, tmp_path, lab)["cold"].status == "ran"
    assert lab.ran == ["cold"]  # the next run retries only the failed one


def test_the_time_left_follows_how_the_finished_runs_compared_with_the_plan() -> None:
    """Runs that took twice their plan double the estimate of those left."""
    assert time_left([100.0, 50.0], []) == 150.0
    assert time_left([100.0], [(80.0, 160.0)]) == 200.0
    assert planned_seconds(SETTINGS.experiment("cold")) > SETTINGS.run.before + SETTINGS.run.after


def test_the_fit_measures_the_papers_values_from_the_papers_traces() -> None:
    """From traces made with the paper's parameters the fit gives them back within a few standard errors."""
    traces = {name: fake_trace(SETTINGS.experiment(name)) for name in ("warm", "cold")}
    fit = fit_study(traces, PAPER, Settings(baseline_window=30.0), vms=3)
    for symbol, paper in (("D_w", 59.0), ("D_c", 219.0), ("omega", 0.61), ("omega_c", 0.72)):
        found = fit.estimates[symbol]
        assert abs(found.value - paper) <= max(4 * found.uncertainty, 0.05 * paper), (symbol, found)
    assert fit.estimates["n"].value == 3 and abs(fit.estimates["p"].value - 60.0) < 3.0


def test_a_value_the_model_refuses_is_not_written_and_the_note_says_why() -> None:
    """A measured value outside its parameter's valid range keeps the preset's value and says so; nothing invalid is applied."""
    fit = StudyFit(PAPER)
    fit.apply("warm", "omega", Estimate(-0.5, 0.1, ""))  # what a burst read as degradation once gave
    assert "omega" not in fit.estimates
    assert fit.parameters.as_dict()["warm_reboot_degradation"] == PAPER.as_dict()["warm_reboot_degradation"]
    assert any(note.startswith("omega: warm measured") and "preset's 0.61 is kept" in note for note in fit.notes)


def test_a_burst_after_a_downtime_is_not_read_as_negative_degradation() -> None:
    """A degraded period that serves more than the baseline (the catch-up burst) fits to a valid omega, applied."""
    trace = fake_trace(SETTINGS.experiment("warm"))
    burst = trace.vm_throughput.copy()
    start = int(SETTINGS.run.before / trace.step)
    burst[start + 59 : start + 84] *= 3.0
    fit = fit_study({"warm": replace(trace, vm_throughput=burst)}, PAPER, Settings(baseline_window=30.0), vms=3)
    assert 0.0 <= fit.estimates["omega"].value <= 1.0
    assert fit.parameters.as_dict()["warm_reboot_degradation"] == fit.estimates["omega"].value


def test_a_procedure_that_cannot_be_fitted_keeps_the_preset_and_says_so() -> None:
    """A trace without its event is no error: the study notes it and its parameters are the paper's."""
    flat = synthesize(120.0, vms=3, load=20.0, seed=2)
    fit = fit_study({"cold": flat}, PAPER, Settings(baseline_window=30.0), vms=3)
    assert "D_c" not in fit.estimates
    assert any(note.startswith("cold: could not be fitted") for note in fit.notes)


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A study whose live run failed, fitted and reported (its folder and summary.json's document)."""
    out = tmp_path_factory.mktemp("study")
    costs = run_study(SETTINGS, out, Lab(fail=("live",)))
    return out, report_study(SETTINGS, out, costs, PAPER, "kourai2008")


def test_the_report_writes_a_parameter_file_compare_reads_and_a_summary(reported: tuple[Path, dict[str, Any]]) -> None:
    """measured.toml loads onto the preset with the measured values; summary.md leads with both verdicts."""
    out, document = reported
    params = load_parameter_file(out / "measured.toml", PAPER)
    assert params.as_dict()["vms_per_host"] == 3
    assert math.isclose(params.as_dict()["warm_reboot_downtime"], document["parameters"]["D_w"]["value"], rel_tol=1e-5)
    text = (out / "measured.toml").read_text()
    assert "M_l = 181  # preset kourai2008, not measured here" in text  # live failed: the paper's value, marked
    assert tomllib.loads(text)["D_w"] == pytest.approx(document["parameters"]["D_w"]["value"], rel=1e-5)
    summary = (out / "summary.md").read_text()
    verdict = summary.split("## Verdict")[1].split("##")[0]
    assert "The paper: Warm-VM Reboot is best at every m from 2 to 10^6" in verdict
    assert "Failed procedures (their parameters are the paper's): live" in verdict
    for name in ("figure3-warm", "figure3-cold", "figure4-os", "figure5-stop-and-copy", "figure7"):
        assert (out / f"{name}.png").is_file() and f"({name}.png)" in summary
    machine_doc = json.loads((out / "summary.json").read_text())
    assert machine_doc["verdict"]["paper"]["migration_overtakes_cold"]["migration"] == 11249
    assert machine_doc["costs"]["live"]["status"] == "failed"


def test_the_html_report_reads_a_study_folder_with_its_verdict_first(reported: tuple[Path, dict[str, Any]]) -> None:
    """`rejuv report DIR` recognises summary.json as a study and states both verdicts."""
    out, _ = reported
    results, _ = read_results([out])
    study = next(result for result in results if result.kind == "study")
    assert study.verdict[0].endswith("The paper: Warm-VM Reboot is best at every m from 2 to 10^6.")
    assert study.parameters is not None and study.parameters.rows[0][:3] == ("n", "vms_per_host", "3")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--procedures", "warm,nap"], "error: --procedures: must be among warm, cold, os, migration, live"),
        (["--vms", "1"], "error: --vms: needs at least 2"),
        (["--procedures", "warm", "--link", "1gbit"], "error: --link: only the migration procedures use the link"),
        (["--step", "30s"], "error: --step: must be no longer than the load before (20 s)"),
        (["--nice", "20"], "error: --nice: must be a niceness from -20 to 19, got 20"),
    ],
)
def test_a_bad_study_option_names_its_flag_and_makes_nothing(
    options: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistake is `error: --flag: why`, exit 2, and no folder is made."""
    assert main(["lab", "study", "--out-dir", str(tmp_path / "study"), *options]) == 2
    assert capsys.readouterr().err.startswith(message)
    assert not (tmp_path / "study").exists()


def test_a_kept_trace_whose_cost_was_not_recorded_has_an_unknown_cost_in_strict_json(tmp_path: Path) -> None:
    """A trace put in the folder by hand is kept; its wall time is unknown: NaN in memory, null in costs.json."""
    only_warm = replace(SETTINGS, procedures=("warm", "cold"))
    run_study(replace(SETTINGS, procedures=("warm",)), tmp_path, Lab())
    (tmp_path / "costs.json").unlink()
    costs = run_study(only_warm, tmp_path, Lab())
    assert costs["warm"].status == "kept" and math.isnan(costs["warm"].seconds)
    text = (tmp_path / "costs.json").read_text()
    assert "NaN" not in text and json.loads(text)["procedures"]["warm"]["seconds"] is None
    assert math.isnan(run_study(only_warm, tmp_path, Lab())["warm"].seconds)
