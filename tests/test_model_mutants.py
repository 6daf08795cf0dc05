"""Model behaviour the mutation check found untested by the model's own tests (docs/mutation.md, model/)."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import itertools
import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import ArrayLike

from rejuv.errors import ConfigFileError, ParameterError
from rejuv.model import (
    STRATEGIES,
    MigrationStrategy,
    Parameters,
    WarmReboot,
    apply_overrides,
    best_strategy,
    canonical_key,
    compare_strategies,
    crossovers,
    degradation_rates,
    evaluate_all,
    iter_grid,
    load_parameter_file,
    lookup,
    parse_duration,
    read_preset,
    register,
    unregister,
)
from rejuv.model.analysis import BLOCK_POINTS, normalized_throughputs, overtaking_hosts
from rejuv.model.curves import Curve
from rejuv.model.migration import MigrationProfile, migration_degradation
from rejuv.model.parameters import check_value
from rejuv.model.phase_map import Axis, phase_map, phase_map_memory
from rejuv.model.presets import MOST_FILE_BYTES
from rejuv.model.strategies import check_hosts
from rejuv.model.strategies.base import Evaluation
from rejuv.model.symbols import register_symbols, unregister_symbols
from rejuv.model.timeline import IntervalKind, rejuvenation_timeline
from test_new_strategy import StagedResume
from test_presets import profile_tables

HOSTS = [2, 5, 40]
DAY = 86400.0


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ([1, 2], "a list"),
        ({"x": 1}, "a table"),
        (datetime.datetime(2026, 11, 30, 12, 0), "a date-time"),
        (datetime.date(2026, 11, 30), "a date"),
        (datetime.time(12, 0), "a time"),
        ((1, 2), "a tuple"),  # not a TOML kind: the type's own name
    ],
)
def test_a_value_of_the_wrong_toml_kind_is_named_by_its_kind(value: object, kind: str) -> None:
    """A list, table, date-time, date or time where a number belongs is refused naming its TOML kind."""
    with pytest.raises(ValueError) as caught:
        parse_duration(value)  # type: ignore[arg-type]
    assert str(caught.value) == f"expected a number or a text such as '59s', got {kind}"


def padded(size: int, last: str) -> bytes:
    """A TOML file of exactly ``size`` bytes: a comment filling it, then ``last`` as its last line."""
    tail = last.encode()
    return b"#" + b"x" * (size - len(tail) - 2) + b"\n" + tail


def test_a_parameter_file_of_exactly_the_size_limit_is_read_whole(tmp_path: Path, paper: Parameters) -> None:
    """A file of exactly MOST_FILE_BYTES (1 MiB) is read to its last byte, which sets a value."""
    path = tmp_path / "big.toml"
    path.write_bytes(padded(MOST_FILE_BYTES, 'D_w = "61s"'))
    assert float(load_parameter_file(path, paper).warm_reboot_downtime) == 61.0


def test_a_parameter_file_one_byte_over_the_limit_is_refused_naming_the_file(tmp_path: Path, paper: Parameters) -> None:
    """A file of MOST_FILE_BYTES + 1 bytes is refused as larger than 1 MiB, naming the file."""
    path = tmp_path / "big.toml"
    path.write_bytes(padded(MOST_FILE_BYTES + 1, 'D_w = "61s"'))
    with pytest.raises(ConfigFileError) as caught:
        load_parameter_file(path, paper)
    assert str(caught.value) == f"{path}: larger than 1 MiB; a parameter file is a few hundred bytes of TOML"


def test_an_endless_parameter_stream_is_read_only_to_the_limit(tmp_path: Path, paper: Parameters) -> None:
    """A FIFO that never ends is refused after MOST_FILE_BYTES + 1 bytes, not read on (as /dev/zero would be)."""
    fifo = tmp_path / "endless.toml"
    os.mkfifo(fifo)
    budget = 8 * MOST_FILE_BYTES  # the writer gives up here, so a reader that reads on still returns
    written = 0

    def write() -> None:
        nonlocal written
        chunk = b"#" * 65536
        try:
            with open(fifo, "wb") as stream:
                while written < budget:
                    stream.write(chunk)
                    stream.flush()
                    written += len(chunk)
        except BrokenPipeError:  # the reader stopped and closed its end
            pass

    writer = threading.Thread(target=write)
    writer.start()
    with pytest.raises(ConfigFileError, match="larger than 1 MiB"):
        load_parameter_file(fifo, paper)
    writer.join()
    # What the writer got rid of: what was read plus at most the pipe's buffer (64 KiB to 1 MiB).
    assert written <= 2 * MOST_FILE_BYTES + 65536


def test_a_comparison_reports_each_strategy_as_its_evaluation_does(paper: Parameters) -> None:
    """compare_strategies gives each strategy's label, symbol, spare host and every Evaluation term at each m."""
    result = compare_strategies(paper, HOSTS)
    assert result["hosts"] == HOSTS
    assert list(result["strategies"]) == list(STRATEGIES)
    for key, item in STRATEGIES.items():
        row = result["strategies"][key]
        expected = item.evaluate(paper, np.array(HOSTS, dtype=float))
        assert (row["label"], row["symbol"], row["needs_spare_host"]) == (
            item.label,
            item.symbol,
            item.needs_spare_host,
        )
        for term in (
            "normalized_throughput",
            "availability",
            "vmm_degradation",
            "os_degradation",
            "total_throughput",
            "lost_requests_per_interval",
            "lost_requests_per_year",
        ):
            assert row[term] == np.broadcast_to(getattr(expected, term), (len(HOSTS),)).tolist(), (key, term)  # type: ignore[literal-required]
        assert row["limit"] == float(expected.limit)


def test_a_comparison_reports_the_best_strategy_the_rates_and_the_crossovers(paper: Parameters) -> None:
    """compare_strategies adds Warm-VM Reboot as best at every m (paper Section 4), γ and γ', and crossovers()."""
    result = compare_strategies(paper, HOSTS)
    assert result["best"] == ["warm"] * len(HOSTS)
    assert result["degradation_rates"] == {key: float(rate) for key, rate in degradation_rates(paper).items()}
    assert list(result["degradation_rates"]) == ["migration", "live", "live_rate_control"]
    expected = [{"strategy": c.strategy, "overtakes": c.overtakes, "hosts": c.hosts} for c in crossovers(paper)]
    assert result["crossovers"] == expected
    assert any(c["hosts"] is not None for c in expected) and any(c["hosts"] is None for c in expected)


def test_a_comparison_past_a_float_is_infinite_without_a_warning(paper: Parameters) -> None:
    """With p = 1e308 req/s, P overflows to inf quietly: no RuntimeWarning reaches the caller."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = compare_strategies(paper.replace(p=1e308), HOSTS)
    assert result["strategies"]["warm"]["total_throughput"][-1] == float("inf")


def test_each_migration_names_its_degradation_rate_as_the_paper_writes_it() -> None:
    """Stop-and-copy's rate is γ; live migration's, with or without rate control, is γ' (paper Section 3)."""
    rates = {key: item.rate_symbol() for key, item in STRATEGIES.items() if isinstance(item, MigrationStrategy)}
    assert rates == {"migration": "γ", "live": "γ'", "live_rate_control": "γ'"}


def test_a_measured_stop_and_copy_gives_the_time_per_vm_and_a_live_one_the_whole_time() -> None:
    """D_m is the time per VM (M_t = n D_m): 60 s for 4 VMs is 15 s; M_l is the whole migration's time."""
    assert STRATEGIES["migration"].time_parameter(60.0, 4) == 15.0  # type: ignore[attr-defined]
    assert STRATEGIES["live"].time_parameter(60.0, 4) == 60.0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("x_points", "y_points", "strategies", "expected"),
    [
        (100, 200, 5, 48 * 2**20 + 100 * 200 * (32 * 5 + 64)),
        (-3, 200, 5, 48 * 2**20),  # no points: the fixed part alone
        (100, -1, 5, 48 * 2**20),
        (10, 10, 0, 48 * 2**20 + 100 * (32 + 64)),  # at least one strategy's share
    ],
)
def test_a_phase_maps_memory_is_a_fixed_part_and_a_share_per_point_and_strategy(
    x_points: int, y_points: int, strategies: int, expected: int
) -> None:
    """phase_map_memory: 48 MiB, plus 32 B per point and strategy and 64 B per point (phase_map.py's measurement)."""
    assert phase_map_memory(x_points, y_points, strategies) == expected


class AliasedWarm(WarmReboot):
    """Warm-VM Reboot under a second key with an alias: a registry entry to add and take away."""

    key = "warm_again"
    aliases = ("warm_alias",)


def test_an_unregistered_strategys_aliases_are_unknown_again() -> None:
    """unregister removes the strategy's aliases with it: the alias names no strategy afterwards."""
    register(AliasedWarm())
    try:
        assert canonical_key("warm_alias") == "warm_again"
    finally:
        unregister("warm_again")
    with pytest.raises(ParameterError, match=r"^strategy 'warm_alias': unknown"):
        canonical_key("warm_alias")
    register(AliasedWarm())  # the alias is free to take again
    unregister("warm_alias")
    assert "warm_again" not in STRATEGIES


def test_unregistering_the_papers_symbols_leaves_them_in_the_table() -> None:
    """unregister_symbols removes only what registered strategies added: the paper's D_w stays, and no error."""
    unregister_symbols((lookup("D_w"),))
    assert lookup("D_w").name == "warm_reboot_downtime"
    assert lookup("warm_reboot_downtime").symbol == "D_w"


def test_a_grid_whose_only_invalid_point_is_an_off_diagonal_corner_is_refused(paper: Parameters) -> None:
    """check_grid tries every corner: D_w up to 20 d is valid at T_vmm = 28 d, T_vmm from 10 d at D_w = 1 s, not both."""
    axes = {"warm_reboot_downtime": np.array([1.0, 20 * DAY]), "vmm_interval": np.array([10 * DAY, 28 * DAY])}
    paper.replace(D_w=1.0, T_vmm=10 * DAY)  # the smallest corner is valid
    paper.replace(D_w=20 * DAY, T_vmm=28 * DAY)  # and so is the largest
    with pytest.raises(ParameterError, match=r"^warm_reboot_downtime \(D_w\): must stay below T_vmm \(10 d\)"):
        paper.check_grid(axes)


@pytest.mark.parametrize("chunk_points", [1, 4, 6, 100])
def test_iter_grid_over_a_grid_of_sets_covers_the_cartesian_product_in_c_order(
    paper: Parameters, chunk_points: int
) -> None:
    """Over a grid of sets, iter_grid yields the axes' product in C order, in chunks of chunk_points (the last may be short), beside the set's own axes."""
    params = paper.replace(T_os=np.array([[7 * DAY], [14 * DAY]]))  # a set of shape (2, 1)
    axes = {"omega": [0.125, 0.5, 0.75], "n": [2.0, 4.0]}
    expected = list(itertools.product(*axes.values()))
    seen: list[tuple[float, float]] = []
    position = 0
    for where, chunk in iter_grid(params, axes, chunk_points=chunk_points):
        assert where.start == position and where.stop - where.start == min(chunk_points, len(expected) - position)
        position = where.stop
        assert chunk.shape == (2, where.stop - where.start)
        assert chunk.os_interval.tolist() == [[7 * DAY], [14 * DAY]]  # the set's own values stay
        seen += list(zip(chunk.warm_reboot_degradation.tolist(), chunk.vms_per_host.tolist(), strict=True))
    assert seen == expected


def test_iter_grid_over_a_grid_of_sets_checks_each_chunk(paper: Parameters) -> None:
    """Over a grid of sets, a chunk that reaches an invalid point is refused naming the field (here ω = 1.5)."""
    params = paper.replace(T_os=np.array([[7 * DAY], [14 * DAY]]))
    chunks = iter_grid(params, {"omega": [0.5, 1.5]}, chunk_points=1)
    next(chunks)
    with pytest.raises(ParameterError, match=r"^warm_reboot_degradation \(omega\): must be in \[0, 1\], got 1\.5$"):
        next(chunks)


def test_iter_grid_refuses_a_chunk_below_one_point_with_the_rule(paper: Parameters) -> None:
    """chunk_points below 1 is a ValueError saying exactly: chunk_points must be >= 1."""
    with pytest.raises(ValueError) as caught:
        list(iter_grid(paper, {"omega": [0.1]}, chunk_points=0))
    assert str(caught.value) == "chunk_points must be >= 1"


def test_iter_grid_without_axes_yields_the_set_once(paper: Parameters) -> None:
    """No axes: one chunk, position 0 alone, holding the set as it is."""
    chunks = list(iter_grid(paper, {}))
    assert [where for where, _ in chunks] == [slice(0, 1)]
    assert chunks[0][1].as_dict() == paper.as_dict()


def test_a_host_count_that_is_not_a_number_is_refused_naming_hosts() -> None:
    """Text where a host count belongs: ``hosts (m): must be whole numbers, got 'abc'``."""
    with pytest.raises(ParameterError) as caught:
        check_hosts("abc")
    assert str(caught.value) == "hosts (m): must be whole numbers, got 'abc'"


def test_a_host_count_past_int64_is_still_a_number() -> None:
    """Host counts are read as floats, so 10^20 (past int64) is 1e20, not an object array."""
    hosts = check_hosts(10**20)
    assert hosts.dtype == np.float64 and float(hosts) == 1e20


@pytest.mark.parametrize("key", list(STRATEGIES))
def test_a_strategys_limit_without_shared_terms_is_its_evaluations(key: str, paper: Parameters) -> None:
    """limit(params) computes the shared terms itself: it equals evaluate(params).limit to 1e-15."""
    item = STRATEGIES[key]
    assert float(item.limit(paper)) == pytest.approx(float(item.evaluate(paper, 2).limit), rel=1e-15)
    assert float(item.limit(paper.replace(T_os=3 * DAY))) == pytest.approx(
        float(item.evaluate(paper.replace(T_os=3 * DAY), 2).limit), rel=1e-15
    )


def test_a_toml_error_at_the_end_of_a_file_names_the_file_without_a_line(tmp_path: Path, paper: Parameters) -> None:
    """tomllib reports some errors 'at end of document', without a line: the message then names the file alone."""
    path = tmp_path / "cut.toml"
    path.write_text("D_w = ")
    with pytest.raises(ConfigFileError) as caught:
        load_parameter_file(path, paper)
    assert str(caught.value) == f"{path}: not valid TOML (Invalid value (at end of document))"


def test_an_os_rejuvenation_due_as_a_period_ends_starts_after_the_next_warm_reboot(paper: Parameters) -> None:
    """T_os = 3.9 s is 3 periods of T_vmm - D_w = 1.3 s of OS clock (up to rounding): it starts at 3 T_vmm + D_w = 4.7 s.

    In floats 3.9 falls just short of 3 x 1.3, so splitting at the period boundary must not start it a hair
    inside the VMM downtime [4.5 s, 4.7 s), which the model forbids.
    """
    small = paper.replace(
        T_vmm=1.5, D_w=0.2, R_vmm=0.0, D_c=0.2, R_vmm_c=0.0, D_m=0.01, M_l=0.2, M_l_rc=0.2, T_os=3.9, D_os=0.5, R_os=0.5
    )
    timeline = rejuvenation_timeline(small, "warm", 4)
    os_down = timeline.of(IntervalKind.OS_DOWNTIME)
    assert [(item.start, item.end) for item in os_down] == [(4.7, 5.2)]
    assert timeline.os_rejuvenations == (4.5,)  # due as the reboot at 3 T_vmm starts, and frozen through it


def test_a_warm_timeline_without_os_degradation_has_os_downtimes_only(paper: Parameters) -> None:
    """With R_os = 0, one period of the paper's T_vmm = 28 d holds 3 OS downtimes of 41 s at D_w + 7, 14 and 21 d."""
    timeline = rejuvenation_timeline(paper.replace(R_os=0.0), "warm", 1)
    starts = [59.0 + k * 7 * DAY for k in (1, 2, 3)]
    assert [(item.start, item.end) for item in timeline.of(IntervalKind.OS_DOWNTIME)] == [(s, s + 41.0) for s in starts]
    assert timeline.of(IntervalKind.OS_DEGRADED) == ()


def whole_seconds(paper: Parameters) -> Parameters:
    """T_vmm = 100 s, D_w = D_c = 30 s, T_os = 35 s, D_os = 5 s, no degraded periods: every time is a whole second."""
    return paper.replace(
        T_vmm=100.0,
        D_w=30.0,
        R_vmm=0.0,
        D_c=30.0,
        R_vmm_c=0.0,
        D_m=1.0,
        M_l=30.0,
        M_l_rc=30.0,
        T_os=35.0,
        D_os=5.0,
        R_os=0.0,
    )


def test_a_warm_os_rejuvenation_due_as_the_timeline_ends_is_not_in_it(paper: Parameters) -> None:
    """Warm: 70 s of OS clock per period; the OS rejuvenation due at 70 s belongs to the next period, so one period has one, at 65 s."""
    timeline = rejuvenation_timeline(whole_seconds(paper), "warm", 1)
    assert timeline.os_rejuvenations == (65.0,)


def test_a_cold_os_rejuvenation_due_at_the_next_reboot_is_counted(paper: Parameters) -> None:
    """Cold: ⌊(T_vmm - D_c) / T_os⌋ = ⌊70 / 35⌋ = 2 per period, at 65 s and at 100 s, the second cut to nothing by the reboot."""
    timeline = rejuvenation_timeline(whole_seconds(paper), "cold", 2)
    assert timeline.os_rejuvenations == (65.0, 100.0, 165.0, 200.0)
    assert [(item.start, item.end) for item in timeline.of(IntervalKind.OS_DOWNTIME)] == [(65.0, 70.0), (165.0, 170.0)]


def test_a_cold_os_rejuvenation_has_its_degraded_period_after_its_downtime(paper: Parameters) -> None:
    """Cold, R_os = 10 s: the OS rejuvenation at 65 s is down to 70 s, then degraded to 80 s; the one at 100 s is cut."""
    timeline = rejuvenation_timeline(whole_seconds(paper).replace(R_os=10.0), "cold", 1)
    assert [(item.start, item.end) for item in timeline.of(IntervalKind.OS_DOWNTIME)] == [(65.0, 70.0)]
    assert [(item.start, item.end) for item in timeline.of(IntervalKind.OS_DEGRADED)] == [(70.0, 80.0)]


def test_iter_grid_over_a_registered_strategys_parameter_sets_it_in_each_chunk(paper: Parameters) -> None:
    """A registered strategy's own parameter (D_s) as an axis: each chunk holds its values, where value() finds them."""
    item = register(StagedResume())
    try:
        params = apply_overrides(paper, {"D_s": "20s", "omega_s": 0.3, "R_s": "100s"})
        seen: list[float] = []
        for _, chunk in iter_grid(params, {"D_s": [10.0, 30.0, 50.0]}, chunk_points=2):
            seen += np.broadcast_to(chunk.required("D_s"), chunk.shape).tolist()
        assert seen == [10.0, 30.0, 50.0]
    finally:
        unregister(item.key)


def test_a_timeline_is_refused_for_a_migration_naming_the_reboots(paper: Parameters) -> None:
    """A timeline is drawn for reboot strategies only: for live migration the error names warm and cold."""
    with pytest.raises(ParameterError) as caught:
        rejuvenation_timeline(paper, "live", 1)
    assert str(caught.value) == "strategy 'live': a timeline is drawn for one of warm, cold"


@pytest.mark.parametrize("periods", [0, True, 2.0])
def test_a_timeline_needs_a_whole_number_of_periods(paper: Parameters, periods: object) -> None:
    """periods must be an int >= 1: 0, True and 2.0 are refused, naming periods and the value."""
    with pytest.raises(ParameterError) as caught:
        rejuvenation_timeline(paper, "warm", periods)  # type: ignore[arg-type]
    assert str(caught.value) == f"periods: must be a whole number >= 1, got {periods!r}"


def test_a_warm_timeline_has_the_warm_reboots_own_periods_and_no_timer_resets(paper: Parameters) -> None:
    """Warm, paper values: each period starts with D_w = 59 s down, then R_vmm = 25 s degraded; the OS timer never resets."""
    timeline = rejuvenation_timeline(paper, "warm", 2)
    assert timeline.strategy == "warm" and timeline.os_timer_resets == ()
    starts = [0.0, 28 * DAY]
    assert [(i.start, i.end) for i in timeline.of(IntervalKind.VMM_DOWNTIME)] == [(s, s + 59.0) for s in starts]
    assert [(i.start, i.end) for i in timeline.of(IntervalKind.VMM_DEGRADED)] == [(s + 59.0, s + 84.0) for s in starts]


def test_the_best_strategy_needs_two_hosts(paper: Parameters) -> None:
    """best_strategy compares the spare-host strategies too, so it refuses m = 1 as a host count below 2."""
    with pytest.raises(ParameterError) as caught:
        best_strategy(paper, 1)
    assert str(caught.value) == "hosts (m): must be whole numbers >= 2, got 1"


def test_a_curve_that_is_not_a_table_or_a_non_finite_coefficient_is_refused_naming_the_curve() -> None:
    """Curve.from_data names the field: for data that is no table, and for a coefficient that is not finite."""
    with pytest.raises(ParameterError) as caught:
        Curve.from_data("V_s", 5)  # type: ignore[arg-type]
    assert str(caught.value) == "V_s: expected a table or a list of tables (one per piece), got 5"
    with pytest.raises(ParameterError) as caught:
        Curve.from_data("V_s", {"form": "constant", "value": "nan"})
    assert str(caught.value) == "V_s: coefficients must be finite numbers, got {'value': nan}"


def test_a_taken_strategy_key_or_symbol_is_refused() -> None:
    """register refuses a key already registered; register_symbols a symbol already in the table (D_w)."""
    with pytest.raises(ParameterError) as caught:
        register(WarmReboot())
    assert str(caught.value) == "strategy 'warm': already registered"
    with pytest.raises(ParameterError) as caught:
        register_symbols((lookup("D_w"),))
    assert str(caught.value) == "D_w: already in the symbol table; a strategy's symbols must be new"
    assert list(STRATEGIES).count("warm") == 1


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("strategies = 1\n", "strategies: expected a table of [strategies.KEY] sections, got 1"),
        ("[strategies]\nwarm = 1\n", "strategies.warm: expected a table of its parameters, got 1"),
        (
            "[strategies.nope]\nx = 1\n",
            "[strategies.nope]: strategy 'nope': unknown; expected one of warm, cold, migration, live, live_rate_control",
        ),
        (
            "[strategies.warm]\nD_w = 1\n",
            "[strategies.warm]: D_w is not one of Warm-VM Reboot's own parameters (none)",
        ),
        ("migration = 1\n", "migration: expected a table of [migration.METHOD] sections, got 1"),
        ("[migration]\nlive = 1\n", "migration.live: expected a table of Table 1 curves, got 1"),
    ],
)
def test_a_misplaced_section_in_a_parameter_file_is_refused_naming_the_file(
    tmp_path: Path, paper: Parameters, text: str, why: str
) -> None:
    """A [strategies] or [migration] section of the wrong shape, or a paper symbol in a strategy's own section."""
    path = tmp_path / "x.toml"
    path.write_text(text)
    with pytest.raises(ConfigFileError) as caught:
        load_parameter_file(path, paper)
    assert str(caught.value) == f"{path}: {why}"


def test_a_bad_value_in_a_strategys_own_section_names_the_file_and_line(tmp_path: Path, paper: Parameters) -> None:
    """[strategies.staged] D_s = "soon": the error names the file, line 2 and the parameter."""
    item = register(StagedResume())
    try:
        path = tmp_path / "x.toml"
        path.write_text('[strategies.staged]\nD_s = "soon"\n')
        with pytest.raises(ConfigFileError) as caught:
            load_parameter_file(path, paper)
        assert str(caught.value).startswith(f"{path}, line 2: staged_resume_downtime (D_s): ")
    finally:
        unregister(item.key)


def test_the_presets_table_1_curves_carry_the_per_vm_load_of_its_host() -> None:
    """Read afresh (not the session's fixture), the preset's curves carry p / n of its host: 560 req/s / 11 VMs."""
    params = read_preset("kourai2008").parameters
    assert params.live_migration_profile.load == pytest.approx(560.0 / 11)


def test_curves_in_a_file_without_n_or_p_carry_the_per_vm_load_of_the_set_they_are_read_onto(
    paper: Parameters, tmp_path: Path
) -> None:
    """[migration.live] alone, read onto n = 4 and p = 100 req/s: the curves were measured at 25 req/s a VM."""
    path = tmp_path / "curves.toml"
    path.write_text(profile_tables(paper, {"live": "live_migration_profile"}))
    mine = load_parameter_file(path, paper.replace(n=4, p=100.0))
    assert mine.live_migration_profile.load == 25.0


def test_curves_read_onto_a_grid_of_n_are_left_unscaled(paper: Parameters, tmp_path: Path) -> None:
    """Over a grid of n (or of p) no one host measured the curves: their per-VM load is left unknown (None)."""
    path = tmp_path / "curves.toml"
    path.write_text(profile_tables(paper, {"live": "live_migration_profile"}))
    loads = [
        load_parameter_file(path, paper.replace(**{field: values})).live_migration_profile.load
        for field, values in (("n", [2.0, 4.0]), ("p", [100.0, 200.0]))
    ]
    assert loads == [None, None]


def test_curves_in_a_file_with_no_vms_per_host_are_refused_naming_n(paper: Parameters, tmp_path: Path) -> None:
    """n = 0 beside Table 1 curves is refused as n, naming the file, not divided by."""
    path = tmp_path / "curves.toml"
    path.write_text("n = 0\n" + profile_tables(paper, {"live": "live_migration_profile"}))
    with pytest.raises(ConfigFileError) as caught:
        load_parameter_file(path, paper)
    assert caught.value.what == str(path)
    assert caught.value.why == "vms_per_host (n): must be a whole number >= 1, got 0"


def test_a_phase_map_compares_the_strategies_asked_for_in_their_order(paper: Parameters) -> None:
    """Cold against warm over T_vmm by T_os at 4 hosts: warm, second in the list, wins everywhere, by its lead over cold."""
    x, y = Axis.parse("T_vmm=1d:90d", points=3), Axis.parse("T_os=1d:30d", points=2)
    result = phase_map(paper, x, y, 4, ["cold", "warm"])
    assert (result.x, result.y, result.hosts, result.strategies) == (x, y, 4, ("cold", "warm"))
    assert (result.winner == 1).all()
    grid = paper.replace(T_vmm=x.values[np.newaxis, :], T_os=y.values[:, np.newaxis])
    throughputs = {
        key: np.broadcast_to(e.normalized_throughput, (2, 3))
        for key, e in evaluate_all(grid, 4, ["cold", "warm"]).items()
    }
    np.testing.assert_array_equal(result.lead, throughputs["warm"] - throughputs["cold"])


@pytest.mark.parametrize(
    ("call", "what", "why"),
    [
        (
            lambda p: phase_map(p, Axis.parse("T_vmm=1d:9d"), Axis.parse("T_vmm=2d:9d"), 4),
            "axis T_vmm",
            "x and y must be different parameters",
        ),
        (
            lambda p: phase_map(p, Axis.parse("T_vmm=1d:9d"), Axis.parse("T_os=1d:9d"), 4, ["warm"]),
            "strategies",
            "a phase map needs at least two strategies",
        ),
        (
            lambda p: phase_map(p, Axis.parse("T_vmm=1d:9d"), Axis.parse("T_os=1d:9d"), 1, ["warm", "cold"]),
            "hosts (m)",
            "must be whole numbers >= 2, got 1",
        ),
    ],
)
def test_an_impossible_phase_map_is_refused_naming_what_is_wrong(
    paper: Parameters, call: object, what: str, why: str
) -> None:
    """The same parameter on both axes, one strategy, or one host (a cluster has two at least) is a ParameterError."""
    assert callable(call)
    with pytest.raises(ParameterError) as caught:
        call(paper)
    assert (caught.value.what, caught.value.why) == (what, why)


def test_crossovers_evaluate_only_the_strategies_asked_for(paper: Parameters) -> None:
    """At n = 1, which stop-and-copy refuses (it needs n >= 2), the crossovers of warm and cold alone still stand."""
    assert [(c.strategy, c.overtakes) for c in crossovers(paper.replace(n=1), ["warm", "cold"])] == [("cold", "warm")]


def test_crossovers_refuse_a_grid_and_point_to_overtaking_hosts() -> None:
    """crossovers() takes one set; for a grid the error says to use overtaking_hosts()."""
    grid = read_preset("kourai2008").parameters.replace(T_vmm=[1e6, 2e6])
    with pytest.raises(ParameterError) as caught:
        crossovers(grid)
    assert (
        caught.value.why
        == "crossovers() takes one parameter set, got a grid of shape (2,); use overtaking_hosts() for grids"
    )


def test_a_value_that_is_not_a_number_is_refused_naming_its_parameter() -> None:
    """check_value("T_vmm", "abc") names the parameter and its symbol: vmm_interval (T_vmm)."""
    with pytest.raises(ParameterError) as caught:
        check_value("T_vmm", "abc")  # type: ignore[arg-type]  # the check is for values of any type
    assert (caught.value.what, caught.value.why) == ("vmm_interval (T_vmm)", "must be a number, got 'abc'")


def test_a_long_two_dimensional_grid_is_evaluated_whole_like_any_grid(paper: Parameters) -> None:
    """A grid of BLOCK_POINTS + 1 T_vmm by 2 T_os (T_os broadcast along the first axis): the fast path equals evaluate."""
    t_vmm = np.linspace(1e6, 3e6, BLOCK_POINTS + 1)[:, np.newaxis]
    grid = paper.replace(T_vmm=t_vmm, T_os=np.array([[86400.0, 2 * 86400.0]]))
    fast = normalized_throughputs(grid, 4, ["warm", "cold"])
    for key in ("warm", "cold"):
        expected = STRATEGIES[key].evaluate(grid, 4).normalized_throughput
        np.testing.assert_allclose(fast[key], np.broadcast_to(expected, (BLOCK_POINTS + 1, 2)), rtol=1e-12)


def test_the_built_in_preset_reads_the_same_under_an_ascii_locale() -> None:
    """Under LC_ALL=C without UTF-8 mode (the locale's encoding ASCII) the preset, whose comments are not ASCII, reads
    as it does here (read here too, so that a mutation check maps this test to read_preset)."""
    here = read_preset("kourai2008").parameters.as_dict()
    environment = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    environment["PYTHONPATH"] = os.pathsep.join(os.path.abspath(entry) for entry in sys.path)
    script = "import json; from rejuv.model import read_preset; print(json.dumps(read_preset('kourai2008').parameters.as_dict()))"
    done = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == here


class SparedWarm(WarmReboot):
    """Warm-VM Reboot that also holds a host back as a spare: Warm-VM Reboot's limit, the (m - 1) / m of a migration."""

    key = "warm_spared"
    needs_spare_host = True


class HalvedWarm(WarmReboot):
    """Half of Warm-VM Reboot's limit, no spare: level with SparedWarm at m = 2, behind it beyond."""

    key = "warm_halved"

    def evaluate(self, params: Parameters, hosts: ArrayLike = 1) -> Evaluation:
        whole = super().evaluate(params, hosts)
        nothing = np.zeros_like(whole.limit)
        return dataclasses.replace(whole, availability=whole.limit / 2, vmm_degradation=nothing, os_degradation=nothing)


def test_a_challenger_level_with_its_incumbent_never_overtakes_it_and_says_so_without_a_warning(
    paper: Parameters,
) -> None:
    """SparedWarm against Warm-VM Reboot (equal limits; the spare costs the challenger): never ahead, NaN, no warning."""
    register(SparedWarm())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            hosts = overtaking_hosts(paper, "warm_spared", "warm")
    finally:
        unregister("warm_spared")
    assert np.isnan(hosts)


def test_a_challenger_level_at_two_hosts_with_an_incumbent_that_gains_with_m_never_overtakes_it(
    paper: Parameters,
) -> None:
    """HalvedWarm against SparedWarm: level at m = 2 (w / 2 = w (2 - 1) / 2), behind beyond it: never ahead, NaN."""
    register(SparedWarm())
    register(HalvedWarm())
    try:
        hosts = overtaking_hosts(paper, "warm_halved", "warm_spared")
    finally:
        unregister("warm_spared")
        unregister("warm_halved")
    assert np.isnan(hosts)


def test_an_unset_value_read_from_a_scalar_set_is_missing_naming_it(paper: Parameters) -> None:
    """The preset leaves γ to Table 1's curves: reading it from the scalar set names it, "migration_degradation (gamma)"."""
    with pytest.raises(ParameterError) as caught:
        paper.scalar()["migration_degradation"]
    assert (caught.value.what, caught.value.why) == ("migration_degradation (gamma)", "missing")


def test_a_grid_where_one_set_belongs_is_refused_saying_its_shape_and_nothing_more(paper: Parameters) -> None:
    """scalar() without a purpose or hint: "this takes one parameter set, got a grid of shape (2,)"."""
    with pytest.raises(ParameterError) as caught:
        paper.replace(T_vmm=[1e6, 2e6]).scalar()
    assert caught.value.why == "this takes one parameter set, got a grid of shape (2,)"


def test_a_point_of_a_grid_over_a_registered_strategys_parameter_holds_that_points_value(paper: Parameters) -> None:
    """point((1,)) of a grid over D_s (a registered strategy's own parameter) of 10 s and 30 s holds D_s = 30 s."""
    item = register(StagedResume())
    try:
        params = apply_overrides(paper, {"D_s": "20s", "omega_s": 0.3, "R_s": "100s"})
        grid = params.replace(D_s=np.array([10.0, 30.0]))
        assert float(grid.point((1,)).required("D_s")) == 30.0
    finally:
        unregister(item.key)


def level_live_profile() -> MigrationProfile:
    """A live migration whose every VM serves 25 req/s whatever happens, each moved in 10 s: n VMs serve 25 n req/s."""
    return live_profile()


def test_a_live_migration_that_loses_nothing_has_a_rate_of_exactly_zero() -> None:
    """4 VMs serving 25 req/s each through the migration on a 100 req/s host: γ' = 1 - 100 / 100 = 0, inside [0, 1]."""
    assert float(migration_degradation(level_live_profile(), 4, 100.0)) == 0.0


def test_a_rate_outside_zero_to_one_is_reported_by_its_own_value(paper: Parameters) -> None:
    """Unscaled stop-and-copy curves on hosts of 560 and 10 req/s: γ is 0.60 and -21.3; the error names -21.3."""
    profile = dataclasses.replace(paper.stop_and_copy_profile, load=None)
    with pytest.raises(ParameterError) as caught:
        migration_degradation(profile, 11, [560.0, 10.0])
    assert caught.value.why == (
        "computed -21.3 from its throughput functions and p; must be in [0, 1] "
        "(the functions describe more or less throughput than the host has)"
    )


def test_a_rate_of_exactly_zero_is_not_the_one_reported_beside_an_impossible_one() -> None:
    """The level live profile on 100 and 50 req/s hosts: γ' is 0 (fine) and -1; the error names -1, not 0."""
    with pytest.raises(ParameterError) as caught:
        migration_degradation(level_live_profile(), 4, [100.0, 50.0])
    assert caught.value.why.startswith("computed -1 from its throughput functions and p")


def test_a_rate_of_exactly_one_is_not_the_one_reported_beside_an_impossible_one() -> None:
    """Only the destination serves (400 req/s a VM): γ' is 1 at n = 1 (fine) and 1 - 200 / 100 = -1 at n = 2: -1 is named."""
    nothing = [{"form": "constant", "value": 0.0}]
    profile = MigrationProfile.from_data(
        "live",
        {
            "source_throughput": nothing,
            "moving_throughput": nothing,
            "destination_throughput": [{"form": "constant", "value": 400.0}],
            "move_time": [{"form": "constant", "value": 10.0}],
        },
    )
    with pytest.raises(ParameterError) as caught:
        migration_degradation(profile, [1, 2], [100.0, 100.0])
    assert caught.value.why.startswith("computed -1 from its throughput functions and p")


def test_a_scalar_set_can_be_copied(paper: Parameters) -> None:
    """copy.copy of a scalar set (built without running __init__) gives the same values."""
    point = paper.scalar()
    assert copy.copy(point).vmm_interval == point.vmm_interval


@pytest.mark.parametrize("name", ["no_such_parameter", "_private"])
def test_an_attribute_a_scalar_set_lacks_is_an_attribute_error_naming_it(paper: Parameters, name: str) -> None:
    """An unknown name, or one starting with "_", is an AttributeError carrying that name (as hasattr and messages need)."""
    with pytest.raises(AttributeError) as caught:
        getattr(paper.scalar(), name)
    assert caught.value.args == (name,)


def test_a_registered_strategys_unset_parameter_read_as_an_attribute_is_missing(paper: Parameters) -> None:
    """With StagedResume registered but D_s unset, point.staged_resume_downtime is a ParameterError "missing"."""
    item = register(StagedResume())
    try:
        with pytest.raises(ParameterError) as caught:
            paper.scalar().staged_resume_downtime  # noqa: B018  # the read is the test
        assert (caught.value.what, caught.value.why) == ("staged_resume_downtime (D_s)", "missing")
    finally:
        unregister(item.key)


def test_curves_in_a_file_of_one_vm_per_host_carry_that_hosts_whole_throughput(
    paper: Parameters, tmp_path: Path
) -> None:
    """n = 1 and p = 30 req/s beside [migration.live]: the curves were measured at 30 req/s a VM."""
    path = tmp_path / "curves.toml"
    path.write_text('n = 1\np = "30 req/s"\n' + profile_tables(paper, {"live": "live_migration_profile"}))
    assert load_parameter_file(path, paper).live_migration_profile.load == 30.0


def test_a_long_set_walked_in_blocks_equals_the_evaluations(paper: Parameters) -> None:
    """Two whole blocks and 17 points of T_vmm and T_os, at 4 hosts: each strategy's fast value is evaluate()'s, to 1e-12."""
    size = BLOCK_POINTS * 2 + 17
    long_set = paper.replace(T_vmm=np.linspace(1e6, 3e6, size), T_os=np.linspace(4e5, 8e5, size))
    fast = normalized_throughputs(long_set, 4)
    for key, item in STRATEGIES.items():
        np.testing.assert_allclose(fast[key], item.evaluate(long_set, 4).normalized_throughput, rtol=1e-12)


def live_profile(**changes: list[dict[str, object]]) -> MigrationProfile:
    """The level live profile of 25 req/s a VM and 10 s moves, with ``changes`` to its curves."""
    constant = [{"form": "constant", "value": 25.0}]
    curves = {"source_throughput": constant, "moving_throughput": constant, "destination_throughput": constant}
    return MigrationProfile.from_data("live", {**curves, "move_time": [{"form": "constant", "value": 10.0}], **changes})


@pytest.mark.parametrize(
    ("changes", "what", "why"),
    [
        (
            {"move_time": [{"form": "constant", "value": 0.0}]},
            "live.move_time (M(i))",
            "must be positive for i = 1..4, got 0 at i = 1",
        ),
        (
            {"source_throughput": [{"form": "constant", "value": 25.0, "last": 2}]},
            "live.source_throughput (V_s(i))",
            "no piece covers i = 3",
        ),
    ],
)
def test_a_table_1_row_a_profile_cannot_give_is_refused_naming_the_curve(
    changes: dict[str, list[dict[str, object]]], what: str, why: str
) -> None:
    """Table 1 of 4 VMs: a move of 0 s (a move takes time), or a curve that stops at i = 2, names the curve and i."""
    with pytest.raises(ParameterError) as caught:
        live_profile(**changes).table(4)
    assert (caught.value.what, caught.value.why) == (what, why)


def test_n_that_is_not_a_number_is_refused_naming_n(paper: Parameters) -> None:
    """replace(n="abc"): n is read first to scale D_w and D_c, and refused there, naming it."""
    with pytest.raises(ParameterError) as caught:
        paper.replace(n="abc")
    assert (caught.value.what, caught.value.why) == ("vms_per_host (n)", "must be a number, got 'abc'")


class PerVmStaged(StagedResume):
    """StagedResume whose downtime D_s, like the paper's D_w(n), is proportional to n."""

    key = "staged_per_vm"
    symbols = (dataclasses.replace(StagedResume.symbols[0], per_vm=True), *StagedResume.symbols[1:])


def test_a_registered_per_vm_parameter_follows_n(paper: Parameters) -> None:
    """A registered strategy's per-VM D_s of 20 s at the preset's n = 11 is 40 s at n = 22, as D_w is."""
    item = register(PerVmStaged())
    try:
        params = apply_overrides(paper, {"D_s": "20s", "omega_s": 0.3, "R_s": "100s"})
        assert float(params.replace(n=22).required("D_s")) == pytest.approx(40.0)
    finally:
        unregister(item.key)


def test_a_stop_and_copy_too_long_for_t_vmm_is_reported_at_the_grid_point_where_it_is(paper: Parameters) -> None:
    """D_m of 15 s and 300,000 s at n = 11: only the second is too long, and the error shows its n D_m, 38.19 d."""
    with pytest.raises(ParameterError) as caught:
        paper.replace(D_m=[15.0, 300000.0])
    assert caught.value.why.endswith("got 83.33 h (n D_m = 38.19 d)")


def test_an_os_downtime_too_long_for_t_os_is_reported_with_the_t_os_it_exceeds(paper: Parameters) -> None:
    """T_os of 1 d and 10 s with D_os = 41 s: only 10 s is too short, and the error names that T_os."""
    with pytest.raises(ParameterError) as caught:
        paper.replace(T_os=[86400.0, 10.0])
    assert (caught.value.what, caught.value.why) == ("os_downtime (D_os)", "must stay below T_os (10 s), got 41 s")


def test_an_os_rejuvenation_too_long_for_t_os_is_reported_with_the_t_os_it_exceeds(paper: Parameters) -> None:
    """T_os of 1 d and 50 s: D_os + R_os = 451 s fits only the first; the error names T_os = 50 s."""
    with pytest.raises(ParameterError) as caught:
        paper.replace(T_os=[86400.0, 50.0])
    assert caught.value.why == "D_os + R_os must stay below T_os (50 s), got 410 s"


def test_an_os_rejuvenation_that_fills_t_os_exactly_is_refused_as_such(paper: Parameters) -> None:
    """T_os = D_os + R_os = 451 s leaves no time between OS rejuvenations: refused naming R_os and the rule."""
    with pytest.raises(ParameterError) as caught:
        paper.replace(T_os=451.0)
    assert (caught.value.what, caught.value.why) == (
        "os_degraded_period (R_os)",
        "D_os + R_os must stay below T_os (451 s), got 410 s",
    )


def test_rejuvenations_that_fill_the_whole_time_exactly_are_allowed(paper: Parameters) -> None:
    """T_vmm = 1,900 s (M_l_rc = 950 s: half) and T_os = 902 s (D_os + R_os = 451 s: half) add up to 1: no overlap."""
    assert float(paper.replace(T_vmm=1900.0, T_os=902.0).vmm_interval) == 1900.0


def test_an_overlap_is_reported_with_the_shares_at_the_grid_point_where_it_is(paper: Parameters) -> None:
    """T_vmm of 1e6 s and 1,800 s with T_os of 1e6 s and 902 s: only the second overlaps, at 52.78% + 50.00%."""
    with pytest.raises(ParameterError) as caught:
        paper.replace(T_vmm=[1e6, 1800.0], T_os=[1e6, 902.0])
    assert caught.value.why == (
        "the VMM rejuvenation (downtime + degraded period, per T_vmm) and the OS rejuvenations ((D_os + R_os) per T_os) "
        "add up to more than the whole time (52.78% + 50.00%); the model assumes they never overlap, got 15.83 min"
    )


def test_a_migration_too_long_for_t_vmm_is_reported_with_the_t_vmm_it_exceeds(paper: Parameters) -> None:
    """T_vmm of 1e6 s and 900 s: M_l_rc = 950 s exceeds only the second, and the error names T_vmm = 15 min."""
    with pytest.raises(ParameterError) as caught:
        paper.replace(T_vmm=[1e6, 900.0])
    assert caught.value.why == "must stay below T_vmm (15 min), got 15.83 min"


def test_a_parameter_set_without_a_required_value_is_refused_naming_it(paper: Parameters) -> None:
    """Built without T_vmm (dataclasses.replace runs the same checks as the constructor): "vmm_interval (T_vmm): missing"."""
    with pytest.raises(ParameterError) as caught:
        dataclasses.replace(paper, vmm_interval=None)
    assert (caught.value.what, caught.value.why) == ("vmm_interval (T_vmm)", "missing")


def test_a_registered_reboot_with_only_its_downtime_set_is_a_valid_set(paper: Parameters) -> None:
    """StagedResume's D_s alone (R_s not yet given) is accepted: what the reboot occupies is checked once both are set."""
    item = register(StagedResume())
    try:
        assert float(apply_overrides(paper, {"D_s": "20s"}).required("D_s")) == 20.0
    finally:
        unregister(item.key)


def test_a_paper_parameter_in_extra_is_refused_naming_it(paper: Parameters) -> None:
    """extra holds registered strategies' parameters only: T_vmm there is refused, naming vmm_interval (T_vmm)."""
    with pytest.raises(ParameterError) as caught:
        dataclasses.replace(paper, extra={"T_vmm": 1.0})
    assert (caught.value.what, caught.value.why) == (
        "vmm_interval (T_vmm)",
        "a paper parameter goes in its own field, not in extra",
    )


def test_a_registered_parameter_that_is_not_a_number_is_refused_naming_it(paper: Parameters) -> None:
    """With StagedResume registered, D_s = "abc" is refused naming staged_resume_downtime (D_s)."""
    item = register(StagedResume())
    try:
        with pytest.raises(ParameterError) as caught:
            paper.replace(D_s="abc")
        assert (caught.value.what, caught.value.why) == ("staged_resume_downtime (D_s)", "must be a number, got 'abc'")
    finally:
        unregister(item.key)


def test_an_unknown_name_half_like_a_known_one_gets_it_suggested() -> None:
    """ "R_xx" shares half its letters with R_os (similarity 0.5, the cutoff): the error suggests R_os."""
    with pytest.raises(ParameterError) as caught:
        lookup("R_xx")
    assert caught.value.why == "unknown parameter; did you mean 'R_os'?"
