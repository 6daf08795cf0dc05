"""Fitting a trace to the client's own resolution: per-request outages, the catch-up burst, values kept in range."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

import rejuv.cli.fit as cli_fit
from rejuv.cli.main import main
from rejuv.lab import Request, throughput
from rejuv.lab.load import outages
from rejuv.trace import Estimate, Marker, MarkerKind, Settings, Trace, combine, measure, read_trace, write_trace
from rejuv.trace.outages import Outage, event_outage

RATE = 10.0  #: req/s per VM
PAUSE = (30.03, 30.33)  #: s: both VMs suspended
LATENCY = 0.02  #: s from sending to the reply's end
RETRY = 1.0  #: s: a request sent into the pause is answered after TCP's first retransmission, a second on
SETTINGS = Settings(baseline_window=10)
#: The longest time without a reply from any VM: vm0's reply sent at 30.0 s ends at 30.02 s; the first after
#: the pause is vm1's, sent at 30.35 s.
CLIENT_GAP = 30.37 - 30.02


def _requests() -> list[Request]:
    """60 s of 10 req/s to each of 2 VMs (vm1 half a spacing later), through a warm reboot's pause.

    The requests sent into the pause are answered a second later, on top of the load then: the burst of
    queued replies (30 req/s instead of 20) that a real warm reboot shows.
    """
    made = []
    for vm, offset in ((0, 0.0), (1, 0.05)):
        for k in range(600):
            sent = round(k / RATE + offset, 9)
            end = sent + LATENCY
            if PAUSE[0] <= end and sent < PAUSE[1]:
                end = sent + RETRY
            made.append(Request(vm, k, k % 20, sent, sent, end, 200, 131072, ""))
    return made


def _trace(step: float) -> Trace:
    requests = _requests()
    markers = (
        Marker(PAUSE[0] - 0.03, MarkerKind.SUSPEND_STARTED),
        Marker(PAUSE[1] + 0.01, MarkerKind.ALL_RESUMED),
    )
    return Trace(
        step,
        ("vm0", "vm1"),
        throughput(requests, 2, 0.0, 60.0, step),
        markers=markers,
        outages=tuple(outages(requests, ("vm0", "vm1"), 0.0, RATE)),
    )


def test_outages_are_the_gaps_between_replies_longer_than_two_and_a_half_spacings() -> None:
    """Each VM has one outage, from its last reply before the pause to its first after it; nothing else is one."""
    found = outages(_requests(), ("vm0", "vm1"), 0.0, RATE)
    assert [outage.vm for outage in found] == ["vm0", "vm1"]
    np.testing.assert_allclose([(o.start, o.end) for o in found], [(30.02, 30.42), (29.97, 30.37)], rtol=1e-12)


def test_within_a_procedures_span_each_vms_longest_gap_is_an_outage_however_short() -> None:
    """A 0.22 s gap at 10 req/s is under the threshold (0.25 s), yet within the procedure's span it is that VM's outage."""
    ends = [k / 10 for k in range(101)] + [10.22 + k / 10 for k in range(10)]
    requests = [Request(0, k, 0, end - LATENCY, end - LATENCY, end, 200, 131072, "") for k, end in enumerate(ends)]
    assert outages(requests, ("vm0",), 0.0, RATE) == []
    [found] = outages(requests, ("vm0",), 0.0, RATE, [(9.95, 10.2)])
    assert (found.vm, found.start, found.end) == ("vm0", 10.0, 10.22)


def test_an_events_outage_is_when_every_vm_was_out() -> None:
    """A host-wide event is down from the latest start to the earliest end of its VMs' longest outages in it."""
    found = [Outage("vm0", 10.0, 10.2), Outage("vm0", 30.0, 31.0), Outage("vm1", 29.5, 30.5), Outage("vm1", 31.0, 40.0)]
    assert event_outage(found, ["vm0", "vm1"], 29.9, 30.9) == Outage("", 30.0, 30.5)
    assert event_outage(found, ["vm0"], 29.9, 30.9) == Outage("vm0", 30.0, 31.0)
    assert event_outage(found, ["vm0", "vm1"], 50.0, 60.0) is None  # no outage recorded: read the samples


@pytest.mark.parametrize("step", [0.1, 1.0])
def test_a_sub_second_warm_reboot_is_measured_to_the_request_at_any_step(step: float) -> None:
    """The 0.35 s without a reply is D_w at a 0.1 s and a 1 s step alike, not the 0 s that counting 1 s samples gives."""
    [event] = measure(_trace(step), "warm", SETTINGS)
    assert event.downtime.value == pytest.approx(CLIENT_GAP, abs=1e-9)
    counted = measure(dataclasses.replace(_trace(1.0), outages=()), "warm", SETTINGS)
    assert counted[0].downtime.value == 0.0  # the whole pause falls inside one full 1 s sample


@pytest.mark.parametrize("step", [0.1, 1.0])
def test_the_burst_of_queued_replies_after_a_downtime_is_not_negative_degradation(step: float) -> None:
    """The requests held during the pause, answered at once after it, are catch-up: ω = 0 and R_vmm = 0, not ω < 0."""
    found = combine(measure(_trace(step), "warm", SETTINGS))
    assert found["omega"].value == 0.0
    assert found["R_vmm"].value == 0.0


def test_a_trace_with_outages_is_written_as_version_2_and_read_back(tmp_path: Path) -> None:
    """Outages round-trip through a .trace file, which is then version 2; a trace without them stays version 1."""
    trace = _trace(0.1)
    back = read_trace(write_trace(trace, tmp_path / "warm.trace"))
    assert back.outages == trace.outages
    plain = write_trace(dataclasses.replace(trace, outages=()), tmp_path / "plain.trace")
    with np.load(plain) as archive:
        assert json.loads(str(archive["meta"]))["version"] == 1
    assert read_trace(plain).outages == ()


def test_fit_writes_the_measured_n_and_p_and_compare_reads_them(tmp_path: Path) -> None:
    """`rejuv fit` writes n = 2 and p = 20 req/s of the measured host beside D_w; `rejuv compare --params` takes them."""
    path = write_trace(_trace(0.1), tmp_path / "warm.trace")
    out = tmp_path / "warm.toml"
    assert main(["fit", str(path), "--baseline", "10", "--out", str(out)]) == 0
    fitted = tomllib.loads(out.read_text())
    assert fitted["n"] == 2 and fitted["p"] == pytest.approx(20.0)
    assert fitted["D_w"] == pytest.approx(CLIENT_GAP, abs=1e-5)
    assert main(["compare", "--params", str(out)]) == 0


def test_a_fitted_value_outside_its_range_is_reported_and_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fit that measured ω = -6.57 says so on stderr and writes no ω; the rest is written and compare reads it."""

    def with_a_bad_rate(measured: object) -> dict[str, Estimate]:
        return combine(measured) | {"omega": Estimate(-6.57, 0.5, "")}  # type: ignore[arg-type]

    monkeypatch.setattr(cli_fit, "combine", with_a_bad_rate)
    path = write_trace(_trace(1.0), tmp_path / "warm.trace")
    out = tmp_path / "warm.toml"
    assert main(["fit", str(path), "--baseline", "10", "--out", str(out)]) == 0
    assert "not written: warm_reboot_degradation (omega): must be in [0, 1], got -6.57" in capsys.readouterr().err
    fitted = tomllib.loads(out.read_text())
    assert "omega" not in fitted and "D_w" in fitted
    assert main(["compare", "--params", str(out)]) == 0
