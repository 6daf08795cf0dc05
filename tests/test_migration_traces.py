"""Migration traces end to end: synth -> fit -> Table 1, γ and M_t back; plot-trace draws every move; what real traces hold."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.axes import Axes

from rejuv.cli import main
from rejuv.model import degradation_rates, load_preset
from rejuv.report import plot_migration_trace
from rejuv.trace import Migration, Trace, read_trace, synthesize, write_trace
from rejuv.trace.markers import Marker, MarkerKind
from rejuv.trace.migration_fit import fit_migration, migration_table
from rejuv.trace.moves import evacuations, find_moves

PARAMS = load_preset()
VMS = 11
LOAD = float(PARAMS.host_throughput) / VMS  #: req/s per VM, as Table 1 assumes
PROFILES = {"migration": PARAMS.stop_and_copy_profile, "live": PARAMS.live_migration_profile}


def _trace(key: str, vms: int = VMS, seed: int = 3, step: float = 1.0, moves: int = 1) -> Trace:
    """A synthetic trace of ``moves`` evacuations of every VM (each moving them all once more), 150 s apart."""
    profile = PROFILES[key]
    length = profile.total_time(vms)
    starts = [150.0 + k * (length + 150.0) for k in range(moves)]
    duration = starts[-1] + length + 100.0
    migrations = [Migration(start, profile) for start in starts]
    return synthesize(duration, vms=vms, load=LOAD, step=step, migrations=migrations, seed=seed)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def _spans(axes: Axes, gid: str) -> int:
    return sum(1 for patch in axes.patches if patch.get_gid() == gid)


def _lines(axes: Axes, gid: str) -> int:
    return sum(1 for line in axes.get_lines() if line.get_gid() == gid)


@pytest.mark.parametrize(("key", "rate", "time"), [("migration", "gamma", "D_m"), ("live", "gamma_l", "M_l")])
def test_synth_then_fit_gives_back_the_papers_table_1_gamma_and_time(
    key: str, rate: str, time: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rejuv synth --kind K -> rejuv fit --kind K: Table 1 within 5% of a VM's load per cell (the synthesiser's noise,
    clipped at 0, lifts the near-zero V_d cells by about 1 req/s), M(i) to 1e-9 s, γ within 0.02, M_t within a step;
    rejuv compare --params uses the fitted γ and time."""
    trace, params = tmp_path / f"{key}.trace", tmp_path / f"{key}.toml"
    _run(capsys, "synth", "--kind", key, "--out", str(trace))
    document = json.loads(_run(capsys, "fit", str(trace), "--kind", key, "--out", str(params), "--json"))
    expected = PROFILES[key].table(VMS)
    for column, values in document["table_1"].items():
        if column in expected:
            measured = np.array(values, dtype=np.float64)
            tolerance = 1e-9 if column == "move_time" else 0.05 * LOAD
            # Unmeasurable by definition: V_s(n) (no VM left on the source) and V_d(1) (none on the destination yet).
            unmeasured = {"source_throughput": [VMS - 1], "destination_throughput": [0]}.get(column, [])
            assert list(np.flatnonzero(np.isnan(measured))) == unmeasured, column
            kept = np.isfinite(measured)
            assert np.allclose(measured[kept], expected[column][kept], atol=tolerance), column
    gamma = document["estimates"][rate]["value"]
    assert abs(gamma - float(degradation_rates(PARAMS)[key])) <= 0.02
    total = PROFILES[key].total_time(VMS)
    assert abs(document["total_time"]["value"] - total) <= 1.0
    assert abs(document["estimates"][time]["value"] - (total / VMS if key == "migration" else total)) <= 1.0
    used = json.loads(_run(capsys, "compare", "--params", str(params), "--json"))["parameters"]["values"]
    assert used[document["estimates"][rate]["name"]] == pytest.approx(gamma, rel=1e-5)
    assert used[document["estimates"][time]["name"]] == pytest.approx(document["estimates"][time]["value"], rel=1e-5)


@pytest.mark.parametrize("key", list(PROFILES))
def test_plot_trace_draws_every_move_shaded_with_its_switch_over_on_both_hosts(key: str) -> None:
    """The figure of a synthetic migration: one shaded span and one switch-over line per VM on each panel, a source and
    a destination total on the top one, and one line per VM below."""
    trace = _trace(key)
    host_axes, vm_axes = plot_migration_trace(trace).axes
    for axes in (host_axes, vm_axes):
        assert _spans(axes, "move") == VMS and _lines(axes, "switch-over") == VMS
        assert _spans(axes, "cancelled-move") == 0
    assert _lines(host_axes, "source") == 1 and _lines(host_axes, "destination") == 1
    assert len([line for line in vm_axes.get_lines() if line.get_label() in trace.vm_names]) == VMS
    assert host_axes.get_legend() is not None and vm_axes.get_legend() is not None


def test_the_two_host_totals_hand_every_vm_over_at_its_switch_over() -> None:
    """Source total = all VMs before the first move, 0 after the last; the destination's the other way; they sum to the host."""
    trace = _trace("live")
    (host_axes, _) = plot_migration_trace(trace).axes
    source = next(line for line in host_axes.get_lines() if line.get_gid() == "source").get_ydata()
    destination = next(line for line in host_axes.get_lines() if line.get_gid() == "destination").get_ydata()
    moves = find_moves(trace)
    before, after = trace.times < moves[0].start, trace.times >= moves[-1].switch
    assert np.allclose(np.asarray(source) + np.asarray(destination), trace.host_throughput)
    assert np.array_equal(np.asarray(source)[before], trace.host_throughput[before])
    assert np.all(np.asarray(source)[after] == 0) and np.all(np.asarray(destination)[before] == 0)


@pytest.mark.parametrize("figure_format", ["png", "pdf", "svg"])
def test_plot_trace_cli_draws_a_synthetic_migration_without_being_told_it_is_one(
    figure_format: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rejuv plot-trace on a synth --kind migration trace (no --kind) writes the --format asked for."""
    trace = tmp_path / "m.trace"
    _run(capsys, "synth", "--kind", "migration", "--vms", "3", "--out", str(trace))
    out = _run(capsys, "plot-trace", str(trace), "--format", figure_format)
    figure = trace.with_suffix(f".{figure_format}")
    assert out.strip() == f"wrote {figure}" and figure.stat().st_size > 1000
    magic = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}[figure_format]
    assert figure.read_bytes().startswith(magic)


def test_synthetic_moves_carry_a_switch_over_as_the_lab_marks_it() -> None:
    """Stop-and-copy's guest leaves the source when its move starts, live's when its move ends."""
    for key, at_start in (("migration", True), ("live", False)):
        for move in find_moves(_trace(key, vms=3)):
            assert move.switched_over == (move.start if at_start else move.end)


def test_several_evacuations_are_repeated_measurements_of_the_same_rows() -> None:
    """A trace split by evacuation-started markers: Table 1 is the mean of each evacuation's rows, with their standard
    error; M_t is the mean total."""
    trace = _trace("migration", moves=2)
    starts = [m.time for m in trace.markers if m.kind is MarkerKind.MIGRATION_STARTED]
    opened = [Marker(starts[0] - 1, MarkerKind.EVACUATION_STARTED, None, "hostA -> hostB")]
    opened.append(Marker(starts[VMS] - 1, MarkerKind.EVACUATION_STARTED, None, "hostB -> hostA"))
    split = dataclasses.replace(trace, markers=(*trace.markers, *opened))
    assert [e.note for e in evacuations(split)] == ["hostA -> hostB", "hostB -> hostA"]
    halves = [
        migration_table(
            dataclasses.replace(split, markers=tuple(m for m in split.markers if m.time < starts[VMS] - 1))
        ),
        migration_table(
            dataclasses.replace(split, markers=tuple(m for m in split.markers if m.time >= starts[VMS] - 1))
        ),
    ]
    fitted = fit_migration([split], live=False)
    assert fitted.evacuations == 2 and fitted.vms == VMS
    for column in ("source_throughput", "destination_throughput"):
        pair = np.vstack([half[column] for half in halves])
        assert np.allclose(fitted.table[column], pair.mean(axis=0), equal_nan=True)
        assert np.allclose(fitted.table_error[column], np.abs(pair[0] - pair[1]) / 2, equal_nan=True)
    assert fitted.total_time.value == pytest.approx(PROFILES["migration"].total_time(VMS))


def test_a_cancelled_move_that_is_never_retried_leaves_its_vm_out_and_says_so() -> None:
    """The last VM's move cancelled (the lab's rollback): Table 1 has a row fewer, no column counts that VM, a note says so."""
    trace = _trace("live", vms=4)
    last = trace.vm_names[-1]
    kept = [m for m in trace.markers if m.subject != last or m.kind is MarkerKind.MIGRATION_STARTED]
    start = next(m.time for m in kept if m.subject == last)
    cancelled = Marker(start + 2.0, MarkerKind.MIGRATION_CANCELLED, last, "the destination died")
    fitted = fit_migration([dataclasses.replace(trace, markers=(*kept, cancelled))], live=True)
    assert fitted.vms == 3 and len(fitted.table["i"]) == 3
    assert any("cancelled (the destination died): left out" in note and last in note for note in fitted.notes)
    # the left-out VM still serves on the source at full load: counting it would raise V_s(3) to about the load
    assert np.isnan(fitted.table["source_throughput"][-1])
    assert fitted.host_throughput == pytest.approx(3 * LOAD, rel=0.03)


def test_moves_shorter_than_a_step_are_said_so_with_the_step_that_would_measure_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """At a 30 s step no 12-19 s move holds a whole sample: rejuv fit stops with error: ... a smaller --step, exit 2, no file."""
    path = write_trace(_trace("live", step=30.0), tmp_path / "coarse.trace")
    out = tmp_path / "coarse.toml"
    assert main(["fit", str(path), "--kind", "live", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "sample more finely (a smaller --step)" in error
    assert "Traceback" not in error and not out.exists()


def test_a_move_shorter_than_a_step_among_longer_ones_is_noted_and_its_time_kept() -> None:
    """At a 13 s step some moves hold no whole sample: their throughputs are NaN, their M(i) kept, each noted with a step."""
    fitted = fit_migration([_trace("migration", step=13.0)], live=False)
    short = [note for note in fitted.notes if "holds no whole 13 s sample" in note]
    assert short and all("a --step of at most" in note for note in short)
    assert np.isnan(fitted.table["source_throughput"]).sum() > 1
    assert np.allclose(fitted.table["move_time"], PROFILES["migration"].table(VMS)["move_time"])


def test_missing_samples_are_left_out_of_each_vm_s_mean() -> None:
    """A VM whose series misses a sample in every move window, and one missing a whole window: γ moves by at most 0.01."""
    trace = _trace("migration")
    values = np.array(trace.vm_throughput)
    values[::7, 2] = np.nan
    moves = find_moves(trace)
    values[int(moves[3].start) + 1 : int(moves[3].end), 9] = np.nan
    holed = dataclasses.replace(trace, vm_throughput=values)
    whole, missing = fit_migration([trace], live=False), fit_migration([holed], live=False)
    assert whole.degradation is not None and missing.degradation is not None
    assert np.isfinite(missing.table["source_throughput"][:-1]).all()
    assert abs(missing.degradation.value - whole.degradation.value) <= 0.01


def test_p_is_the_moved_vms_throughput_after_the_load_started_and_before_the_first_move() -> None:
    """Samples before load-started (an idle client) do not lower p: it stays within 2% of n times the load."""
    trace = _trace("live", vms=3)
    values = np.array(trace.vm_throughput)
    values[:130] = 0.0  # nothing served until the load starts at 130 s; the first move is at 150 s
    idle = dataclasses.replace(
        trace, vm_throughput=values, markers=(*trace.markers, Marker(130.0, MarkerKind.LOAD_STARTED))
    )
    assert fit_migration([idle], live=True).host_throughput == pytest.approx(3 * LOAD, rel=0.02)


def test_per_round_markers_and_other_vm_names_change_nothing() -> None:
    """VMs renamed (web-a, ...) and migration-round markers inside each move: the same Table 1."""
    trace = _trace("live", vms=4)
    names = {old: f"web-{chr(ord('a') + k)}" for k, old in enumerate(trace.vm_names)}
    rounds = [
        Marker(m.time + 1.0, MarkerKind.MIGRATION_ROUND, m.subject, "100 Mbit/s")
        for m in trace.markers
        if m.kind is MarkerKind.MIGRATION_STARTED
    ]
    renamed = dataclasses.replace(
        trace,
        vm_names=tuple(names.values()),
        markers=tuple(dataclasses.replace(m, subject=names[m.subject] if m.subject else None) for m in trace.markers)
        + tuple(dataclasses.replace(m, subject=names[str(m.subject)]) for m in rounds),
    )
    expected, got = migration_table(trace), migration_table(renamed)
    assert all(np.array_equal(expected[key], got[key], equal_nan=True) for key in expected)


def test_a_gamma_outside_0_to_1_is_said_so_and_not_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """VMs that serve more while moving than before (backlog, noise): γ not measured, the file holds D_m and no γ or
    curves, and rejuv compare --params accepts it."""
    trace = _trace("migration", vms=3)
    moves = find_moves(trace)
    values = np.array(trace.vm_throughput)
    during = (trace.times >= moves[0].start) & (trace.times < moves[-1].end)
    values[during] *= 3.0
    path = write_trace(dataclasses.replace(trace, vm_throughput=values), tmp_path / "burst.trace")
    params = tmp_path / "burst.toml"
    out = _run(capsys, "fit", str(path), "--kind", "migration", "--out", str(params))
    assert "γ not measured" in out
    lines = [line for line in params.read_text().splitlines() if not line.startswith("#")]
    assert any(line.startswith("D_m = ") for line in lines)
    assert not any(line.startswith(("gamma", "[migration.")) for line in lines)
    _run(capsys, "compare", "--params", str(params), "--json")


def test_fit_without_kind_asks_which_migration_unless_the_trace_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A synthetic migration trace does not say which migration it holds: error: --kind, exit 2; a lab trace's
    experiment_procedure does."""
    trace = _trace("live", vms=3)
    path = write_trace(trace, tmp_path / "m.trace")
    assert main(["fit", str(path)]) == 2
    assert capsys.readouterr().err.startswith("error: --kind: the traces hold migrations but do not say which")
    labelled = dataclasses.replace(trace, metadata={**trace.metadata, "experiment_procedure": "live"})
    path = write_trace(labelled, tmp_path / "lab.trace")
    assert "M_l" in _run(capsys, "fit", str(path))
    assert read_trace(path).metadata["experiment_procedure"] == "live"


def test_plot_trace_refuses_a_move_that_ends_without_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A migration-ended with no migration-started for its VM: error naming the trace and the VM, exit 2, no figure."""
    trace = _trace("live", vms=2)
    broken = tuple(m for m in trace.markers if not (m.kind is MarkerKind.MIGRATION_STARTED and m.subject == "vm1"))
    path = write_trace(dataclasses.replace(trace, markers=broken), tmp_path / "broken.trace")
    assert main(["plot-trace", str(path), "--kind", "live"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "'vm1', which is not moving" in error and "Traceback" not in error
    assert not path.with_suffix(".png").exists()


def test_rejuv_report_draws_a_migration_trace_move_by_move_and_fits_the_migration_it_records(tmp_path: Path) -> None:
    """A .trace in rejuv report: the moves counted, and, for the migration the run recorded, its time and γ measured."""
    from rejuv.report.result_kinds import trace_result

    trace = _trace("live", vms=4)
    path = write_trace(dataclasses.replace(trace, metadata={"experiment_procedure": "live"}), tmp_path / "lab.trace")
    result = trace_result(str(path))
    assert result.verdict[0] == "4 move(s) done, 0 cancelled."
    assert any(line.startswith("M_l = ") for line in result.verdict)
    assert any(line.startswith("gamma_l = ") for line in result.verdict)
    unnamed = trace_result(str(write_trace(trace, tmp_path / "synthetic.trace")))
    assert "does not say which migration" in unnamed.verdict[1]


def test_plot_trace_as_a_migration_needs_moves_to_draw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """plot-trace --kind live on a warm reboot's trace: error naming the trace, exit 2, no figure."""
    path = tmp_path / "warm.trace"
    _run(capsys, "synth", "--kind", "warm", "--vms", "2", "--out", str(path))
    assert main(["plot-trace", str(path), "--kind", "live"]) == 2
    assert capsys.readouterr().err == f"error: {path}: has no migration-started markers: no move to draw\n"
    assert not path.with_suffix(".png").exists()
