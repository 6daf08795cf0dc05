"""Coarse steps (Prometheus's 15 s and 30 s): windows sized in seconds, and a message where data is too coarse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rejuv.cli import main
from rejuv.trace.segment import Settings

# rejuv synth --kind cold at 1 s fits D_c 219 s, omega_c 0.7195, R_vmm_c 397 s (the kourai2008 preset, seed 0).
# A coarser step averages each sample over the step, so a value is within a step of it, a rate within 0.03.
ONE_SECOND = {"D_c": 219.0, "omega_c": 0.7195, "R_vmm_c": 397.0}


def synth(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, *options: str) -> Path:
    trace = tmp_path / f"{kind}.trace"
    assert main(["synth", "--kind", kind, *options, "--out", str(trace)]) == 0
    capsys.readouterr()
    return trace


def fit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[dict[str, dict[str, float]], str]:
    status = main(["fit", "--json", *argv])
    out, err = capsys.readouterr()
    assert status == 0, err
    return json.loads(out)["estimates"], err


@pytest.mark.parametrize(("step", "before"), [("15s", "120s"), ("30s", "10min")])
def test_a_cold_reboot_sampled_every_15_or_30_s_fits_with_the_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], step: str, before: str
) -> None:
    """At 15 s and 30 s steps the default windows fit a cold reboot to within a step (rate within 0.03) of the 1 s fit."""
    trace = synth(tmp_path, capsys, "cold", "--step", step, "--before", before)
    estimates, err = fit(capsys, str(trace))
    seconds = float(step.rstrip("s"))
    assert abs(estimates["D_c"]["value"] - ONE_SECOND["D_c"]) <= seconds
    assert abs(estimates["R_vmm_c"]["value"] - ONE_SECOND["R_vmm_c"]) <= seconds
    assert abs(estimates["omega_c"]["value"] - ONE_SECOND["omega_c"]) <= 0.03
    assert estimates["D_c"]["uncertainty"] == seconds
    assert "too coarse" not in err


def test_the_default_baseline_window_holds_five_samples_at_a_coarse_step() -> None:
    """30 s at steps up to 6 s; 5 steps above (75 s at 15 s, 150 s at 30 s); a window set explicitly stays as set."""
    assert [Settings().baseline_seconds(step) for step in (1.0, 6.0, 15.0, 30.0)] == [30.0, 30.0, 75.0, 150.0]
    assert Settings(baseline_window=40.0).baseline_seconds(30.0) == 40.0
    assert [Settings().recovery_samples(step) for step in (1.0, 5.0, 30.0)] == [5, 1, 1]


def test_a_trace_that_starts_too_late_for_a_coarse_baseline_says_what_to_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """4 samples before the event at 30 s: the error says to start 150 s before the event, or sample more finely."""
    trace = synth(tmp_path, capsys, "cold", "--step", "30s")
    assert main(["fit", str(trace)]) == 2
    assert capsys.readouterr().err == (
        f"error: {trace}: baseline window too short before the event at 120 s: 4 valid samples, need at least 5; "
        "at a 30 s step, start the trace at least 150 s before the event, or sample more finely\n"
    )


def test_an_event_shorter_than_two_coarse_samples_is_noted_as_too_coarse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A warm reboot's 25 s degraded period at a 15 s step spans 2 samples: a note names it and what to change."""
    _, err = fit(capsys, str(synth(tmp_path, capsys, "warm", "--step", "15s")))
    assert (
        "note: the warm event at 120 s: its degraded period (30 s) spans 2 samples or fewer at the 15 s step, "
        "too coarse to measure it or the rate over it; sample more finely (a shorter --step and scrape interval)"
    ) in err
