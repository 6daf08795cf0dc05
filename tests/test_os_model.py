"""OS rejuvenation as the paper's Section 4 has it: the others slow down while one OS reboots, and only then."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rejuv.cli.main import main
from rejuv.model import Parameters
from rejuv.trace import Settings, Trace, combine, event_from_parameters, measure, read_trace, synthesize

SETTINGS = Settings(baseline_window=60)
BEFORE = AFTER = 120.0
LOAD = 50.0


def _os_trace(paper: Parameters, n: int, seed: int = 3) -> Trace:
    """The paper's OS rejuvenation on n VMs: D_os = 41 s, δ = 0.35, R_os = (n - 1) D_os."""
    params = paper.replace(n=n, R_os=(n - 1) * 41.0)
    event = event_from_parameters(params, "os", BEFORE)
    return synthesize(BEFORE + event.length + AFTER, vms=n, load=LOAD, events=[event], seed=seed)


@pytest.mark.parametrize("n", [2, 4, 11, 16])
def test_the_papers_delta_and_r_os_come_back_from_a_synthetic_os_rejuvenation(paper: Parameters, n: int) -> None:
    """From a trace made as the paper describes, fit gives δ within 0.02 of 0.35 and R_os within 2 s per VM of (n - 1) 41 s."""
    trace = _os_trace(paper, n)
    found = combine(measure(trace, "os", SETTINGS))
    assert abs(found["D_os"].value - 41.0) <= 1.0
    assert abs(found["delta"].value - 0.35) <= 0.02
    assert abs(found["R_os"].value - (n - 1) * 41.0) <= 2.0 * (n - 1)


@pytest.mark.parametrize("n", [2, 5])
def test_r_os_is_n_minus_1_times_the_slowed_period_of_the_others(paper: Parameters, n: int) -> None:
    """R_os (and its uncertainty) is (n - 1) times the slowed period measured on the other VMs' total."""
    trace = _os_trace(paper, n)
    [event] = measure(trace, "os", SETTINGS)
    assert event.period.value == (n - 1) * event.segment.degraded_period.value
    assert event.period.uncertainty == (n - 1) * event.segment.degraded_period.uncertainty


def test_the_others_slow_only_while_the_os_reboots(paper: Parameters) -> None:
    """At the paper's values, the other 10 VMs serve δ less for D_os = 41 s, and their whole load 5 s after it."""
    trace = _os_trace(paper, 11)
    others = trace.vm_throughput[:, 1:].mean(axis=1)
    start = int(BEFORE)
    assert np.mean(others[start + 2 : start + 39]) == pytest.approx(0.65 * LOAD, rel=0.03)
    assert np.mean(others[start + 46 : start + 120]) == pytest.approx(LOAD, rel=0.02)
    assert np.mean(trace.vm_throughput[start + 46 :, 0]) == pytest.approx(LOAD, rel=0.02)


def test_rejuv_synth_draws_an_os_rejuvenation_as_long_as_its_reboot(tmp_path: Path) -> None:
    """`rejuv synth --kind os` at the paper's values: 120 s before, 41 s of event, 300 s after; fit gives R_os = 410 s back."""
    out = tmp_path / "os.trace"
    assert main(["synth", "--kind", "os", "--out", str(out)]) == 0
    trace = read_trace(out)
    assert trace.duration == 120 + 41 + 300
    assert main(["fit", str(out), "--out", str(tmp_path / "os.toml")]) == 0
    text = (tmp_path / "os.toml").read_text()
    assert "n = 11 " in text
    fitted = dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line and not line.startswith("#"))
    assert abs(float(fitted["R_os"].split()[0]) - 410.0) <= 20.0
