"""Every invalid input is refused with a RejuvError that names what is wrong and why."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rejuv.errors import ConfigFileError, ParameterError, RejuvError, UnknownParameterError
from rejuv.model import (
    STRATEGIES,
    SYMBOLS,
    Curve,
    Kind,
    MigrationProfile,
    Parameters,
    apply_overrides,
    degradation_rates,
    load_parameter_file,
    lookup,
    read_preset,
    strategy,
)
from rejuv.model.symbols import describe

DAY = 86400.0
T_VMM, T_OS = 28 * DAY, 7 * DAY  # paper Section 4
DURATIONS = [s.symbol for s in SYMBOLS if s.kind is Kind.DURATION]
RATES = [s.symbol for s in SYMBOLS if s.kind is Kind.RATE]
SPARE_HOST = [key for key, item in STRATEGIES.items() if item.needs_spare_host]


def error_of(call: Callable[[], Any], kind: type[RejuvError] = RejuvError) -> RejuvError:
    """The error ``call`` raises, checked to be a ``kind`` whose text reads "<what>: <why>"."""
    with pytest.raises(kind) as info:
        call()
    err = info.value
    assert isinstance(err, RejuvError)
    assert str(err) == f"{err.what}: {err.why}"
    return err


def write(tmp_path: Path, text: str, name: str = "params.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- single values ------------------------------------------------------------------------


@pytest.mark.parametrize("key", DURATIONS)
def test_negative_times_are_refused(paper: Parameters, key: str) -> None:
    """A negative duration fails naming the field: "must be >= 0 s"."""
    err = error_of(lambda: paper.replace(**{key: -3.0}), ParameterError)
    assert err.what == describe(key)
    assert err.why == "must be >= 0 s, got -3 s"


@pytest.mark.parametrize("key", RATES)
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_rates_outside_zero_to_one_are_refused(paper: Parameters, key: str, value: float) -> None:
    """A degradation rate below 0 or above 1 fails naming the field: "must be in [0, 1]"."""
    err = error_of(lambda: paper.replace(**{key: value}), ParameterError)
    assert err.what == describe(key)
    assert err.why == f"must be in [0, 1], got {value:g}"


@pytest.mark.parametrize("key", ["p", "T_vmm", "T_os"])
def test_host_throughput_and_intervals_must_be_positive(paper: Parameters, key: str) -> None:
    """p, T_vmm and T_os of 0 fail naming the field: "must be > 0"."""
    err = error_of(lambda: paper.replace(**{key: 0.0}), ParameterError)
    assert err.what == describe(key)
    assert err.why.startswith("must be > 0, got 0")


@pytest.mark.parametrize("value", [np.inf, np.nan])
def test_values_must_be_finite(paper: Parameters, value: float) -> None:
    """An infinite or NaN value fails naming the field: "must be a finite number"."""
    err = error_of(lambda: paper.replace(D_w=value), ParameterError)
    assert err.what == "warm_reboot_downtime (D_w)"
    assert err.why.startswith("must be a finite number")


def test_values_must_be_numbers(paper: Parameters) -> None:
    """A value that is no number fails naming the field: "must be a number"."""
    err = error_of(lambda: paper.replace(D_w="soon"), ParameterError)
    assert err.what == "warm_reboot_downtime (D_w)"
    assert err.why == "must be a number, got 'soon'"


@pytest.mark.parametrize("value", [1.5, 0.0])
def test_vms_per_host_must_be_a_whole_number_of_at_least_one(paper: Parameters, value: float) -> None:
    """n = 1.5 or 0 fails naming n: "must be a whole number >= 1"."""
    err = error_of(lambda: paper.replace(n=value), ParameterError)
    assert err.what == "vms_per_host (n)"
    assert err.why == f"must be a whole number >= 1, got {value:g}"


def test_a_bad_value_anywhere_in_a_grid_is_refused(paper: Parameters) -> None:
    """In a grid of parameter sets, the first invalid value is named with the field."""
    err = error_of(lambda: paper.replace(D_w=np.array([59.0, -1.0, -2.0])), ParameterError)
    assert err.what == "warm_reboot_downtime (D_w)"
    assert err.why == "must be >= 0 s, got -1 s"


# -- downtimes and their intervals ------------------------------------------------------------


@pytest.mark.parametrize("scale", [1.0, 2.0])
@pytest.mark.parametrize(
    ("key", "per_vm"),
    [("D_w", False), ("D_c", False), ("D_m", True), ("M_l", False), ("M_l_rc", False)],
)
def test_vmm_downtime_at_or_above_the_vmm_interval_is_refused(
    paper: Parameters, key: str, per_vm: bool, scale: float
) -> None:
    """D_w, D_c, n D_m, M_l and M_l_rc at or above T_vmm fail naming the field: "must stay below T_vmm"."""
    value = scale * T_VMM / (11 if per_vm else 1)
    err = error_of(lambda: paper.replace(**{key: value}), ParameterError)
    assert err.what == describe(key)
    rule = (
        "times n (M_t, the whole stop-and-copy) must stay below T_vmm (28 d)"
        if per_vm
        else "must stay below T_vmm (28 d)"
    )
    assert err.why.startswith(rule)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_os_downtime_at_or_above_the_os_interval_is_refused(paper: Parameters, scale: float) -> None:
    """D_os at or above T_os fails naming D_os: "must stay below T_os"."""
    err = error_of(lambda: paper.replace(D_os=scale * T_OS), ParameterError)
    assert err.what == "os_downtime (D_os)"
    assert err.why.startswith("must stay below T_os (7 d)")


OVERLAP = "the VMM rejuvenation (downtime + degraded period, per T_vmm) and the OS rejuvenations ((D_os + R_os) per T_os) add up to more than the whole time"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        # With the paper's D_os + R_os = 451 s per 7 d, 99.99 % of T_vmm is too much for any VMM activity.
        ("R_vmm", 0.9999 * T_VMM - 59),
        ("R_vmm_c", 0.9999 * T_VMM - 219),
        ("D_m", 0.9999 * T_VMM / 11),
        ("M_l", 0.9999 * T_VMM),
        ("M_l_rc", 0.9999 * T_VMM),
    ],
)
def test_overlapping_vmm_and_os_rejuvenations_are_refused(paper: Parameters, key: str, value: float) -> None:
    """A VMM rejuvenation and OS rejuvenations that cannot fit in T_vmm without overlapping fail naming the field."""
    err = error_of(lambda: paper.replace(**{key: value}), ParameterError)
    assert err.what == describe(key)
    assert err.why.startswith(OVERLAP)
    assert "never overlap" in err.why


def test_os_rejuvenations_too_long_to_fit_beside_the_vmm_one_are_refused(paper: Parameters) -> None:
    """An R_os that leaves no room for the warm reboot's 84 s per T_vmm fails; the message gives both shares of time."""
    err = error_of(lambda: paper.replace(R_os=T_OS - 41 - 10), ParameterError)
    assert err.why.startswith(f"{OVERLAP} (0.00% + 100.00%)")


def test_os_rejuvenations_longer_than_their_interval_are_refused_naming_r_os(paper: Parameters) -> None:
    """D_os + R_os at or above T_os fails naming R_os, whatever the VMM strategy."""
    err = error_of(lambda: paper.replace(T_os=3600, R_os=7200), ParameterError)
    assert (err.what, err.why) == (describe("R_os"), "D_os + R_os must stay below T_os (1 h), got 2 h")


# -- strategies and host counts ----------------------------------------------------------


def test_stop_and_copy_needs_two_vms_per_host(paper: Parameters) -> None:
    """Stop-and-copy migration with n = 1 fails naming n: γ needs n >= 2 (paper Section 3.3)."""
    one_vm = paper.replace(n=1)
    for params in (one_vm, one_vm.replace(gamma=0.5)):
        err = error_of(lambda p=params: STRATEGIES["migration"].evaluate(p, 10), ParameterError)
        assert err.what == "vms_per_host (n)"
        assert err.why.startswith("Stop-and-copy migration needs n >= 2")
    err = error_of(lambda: degradation_rates(one_vm), ParameterError)
    assert err.what == "vms_per_host (n)"


def test_warm_reboot_works_with_one_vm_per_host(paper: Parameters) -> None:
    """n = 1 is valid for the strategies that do not compare with the other n - 1 VMs."""
    assert 0 < float(STRATEGIES["warm"].evaluate(paper.replace(n=1), 1).normalized_throughput) < 1


@pytest.mark.parametrize("key", SPARE_HOST)
def test_spare_host_strategies_need_two_hosts(paper: Parameters, key: str) -> None:
    """migration, live and live_rate_control with m = 1 fail naming m: one host is the spare."""
    err = error_of(lambda: STRATEGIES[key].evaluate(paper, 1), ParameterError)
    assert err.what == "hosts (m)"
    assert err.why.startswith("must be whole numbers >= 2 (")
    assert "spare" in err.why
    assert err.why.endswith("got 1")


@pytest.mark.parametrize("key", list(STRATEGIES))
@pytest.mark.parametrize("hosts", [2.5, np.nan, [4, 7.25]])
def test_host_counts_must_be_whole(paper: Parameters, key: str, hosts: Any) -> None:
    """A host count that is not a whole number fails naming m: "must be whole numbers"."""
    err = error_of(lambda: STRATEGIES[key].evaluate(paper, hosts), ParameterError)
    assert err.what == "hosts (m)"
    assert err.why.startswith("must be whole numbers >=")


@pytest.mark.parametrize("key", ["warm", "cold"])
def test_host_counts_must_be_positive(paper: Parameters, key: str) -> None:
    """m = 0 fails naming m, even for strategies without a spare host."""
    err = error_of(lambda: STRATEGIES[key].evaluate(paper, 0), ParameterError)
    assert err.what == "hosts (m)"
    assert err.why == "must be whole numbers >= 1, got 0"


def test_an_unknown_strategy_lists_the_known_ones() -> None:
    """strategy("wram") fails naming the key and listing the strategies."""
    err = error_of(lambda: strategy("wram"), ParameterError)
    assert err.what == "strategy 'wram'"
    assert err.why == "unknown; expected one of warm, cold, migration, live, live_rate_control"


# -- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typo", "meant"), [("D_ww", "D_w"), ("omga", "omega"), ("warm_reboot_downtme", "warm_reboot_downtime")]
)
def test_an_unknown_name_suggests_the_nearest_valid_one(paper: Parameters, typo: str, meant: str) -> None:
    """An unknown parameter name fails naming it and suggesting the nearest valid name (symbol or descriptive)."""
    for call in (
        lambda: lookup(typo),
        lambda: paper.replace(**{typo: 1.0}),
        lambda: apply_overrides(paper, {typo: "1"}),
    ):
        err = error_of(call, UnknownParameterError)
        assert err.what == typo
        assert err.why == f"unknown parameter; did you mean {meant!r}?"
    assert isinstance(err, KeyError)


def test_an_unknown_name_far_from_any_points_to_the_list() -> None:
    """An unknown name with no near match points to `rejuv params`."""
    err = error_of(lambda: lookup("xyzzy"), UnknownParameterError)
    assert err.why == "unknown parameter; see `rejuv params` for the list"


def test_an_unknown_preset_lists_the_available_ones() -> None:
    """read_preset("nope") fails naming the preset and listing those available."""
    err = error_of(lambda: read_preset("nope"), ParameterError)
    assert err.what == "preset 'nope'"
    assert err.why == "unknown; available: kourai2008"


# -- units -------------------------------------------------------------------------------


def test_a_bad_unit_is_refused_naming_the_field(paper: Parameters) -> None:
    """D_w = "59 parsecs" fails naming D_w and the unit it does not know."""
    err = error_of(lambda: apply_overrides(paper, {"D_w": "59 parsecs"}), ParameterError)
    assert err.what == "warm_reboot_downtime (D_w)"
    assert err.why.startswith("unknown time unit 'parsecs' in '59 parsecs'; use one of s, min, h, d")


@pytest.mark.parametrize(
    ("key", "text", "why"),
    [
        ("omega", "61 s", "unexpected unit 's' in '61 s'; a rate is a fraction or a percentage"),
        ("n", "eleven", "cannot read 'eleven' as a number with an optional unit"),
        ("p", "560 req/min", "unexpected unit 'req/min' in '560 req/min'"),
    ],
)
def test_unreadable_values_are_refused_naming_the_field(paper: Parameters, key: str, text: str, why: str) -> None:
    """A rate with a time unit, a count in words or a throughput in other units fails naming the field."""
    err = error_of(lambda: apply_overrides(paper, {key: text}), ParameterError)
    assert err.what == describe(key)
    assert err.why == why


# -- files -------------------------------------------------------------------------------


def test_malformed_toml_is_refused_with_its_line(paper: Parameters, tmp_path: Path) -> None:
    """A file that is not valid TOML fails naming the file and the line."""
    path = write(tmp_path, 'D_w = "59s"\nomega = 0.61\nD_c = \n')
    err = error_of(lambda: load_parameter_file(path, paper), ConfigFileError)
    assert err.what == f"{path}, line 3"
    assert err.why.startswith("not valid TOML")


def test_an_unknown_key_in_a_file_is_refused_with_its_line_and_the_nearest_name(
    paper: Parameters, tmp_path: Path
) -> None:
    """An unknown key in a user's file fails naming the file, the line and the nearest valid name."""
    path = write(tmp_path, '# my cluster\nD_w = "59s"\n\nomga = 0.5\n')
    err = error_of(lambda: load_parameter_file(path, paper), ConfigFileError)
    assert err.what == f"{path}, line 4"
    assert err.why == "omga: unknown parameter; did you mean 'omega'?"


def test_a_bad_value_in_a_file_is_refused_with_its_line(paper: Parameters, tmp_path: Path) -> None:
    """A value with a bad unit in a user's file fails naming the file, the line and the field."""
    path = write(tmp_path, 'T_vmm = "28 days"\nD_w = "59 parsecs"\n')
    err = error_of(lambda: load_parameter_file(path, paper), ConfigFileError)
    assert err.what == f"{path}, line 2"
    assert err.why.startswith("warm_reboot_downtime (D_w): unknown time unit 'parsecs'")


def test_an_invalid_combination_in_a_file_is_refused_naming_the_file(paper: Parameters, tmp_path: Path) -> None:
    """Values that are readable but invalid together fail naming the file and the field."""
    path = write(tmp_path, 'T_vmm = "1 min"\n')
    err = error_of(lambda: load_parameter_file(path, paper), ConfigFileError)
    assert err.what == str(path)
    assert err.why == "cold_reboot_downtime (D_c): must stay below T_vmm (1 min), got 219 s"


def test_a_missing_file_is_refused(paper: Parameters, tmp_path: Path) -> None:
    """A file that does not exist fails naming it: "cannot read"."""
    path = tmp_path / "absent.toml"
    err = error_of(lambda: load_parameter_file(path, paper), ConfigFileError)
    assert err.what == str(path)
    assert err.why == "cannot read (No such file or directory)"


def test_a_directory_is_refused_as_a_parameter_file(paper: Parameters, tmp_path: Path) -> None:
    """A directory given as a parameter file fails naming it: "cannot read"."""
    err = error_of(lambda: load_parameter_file(tmp_path, paper), ConfigFileError)
    assert err.what == str(tmp_path)
    assert err.why.startswith("cannot read")


def test_a_file_that_is_not_utf8_text_is_refused(paper: Parameters, tmp_path: Path) -> None:
    """A binary (non-UTF-8) file fails naming it: "cannot read", not a UnicodeDecodeError."""
    path = tmp_path / "params.toml"
    path.write_bytes(b"D_w = 59\n\xff\xfe\x00")
    err = error_of(lambda: load_parameter_file(path, paper), ConfigFileError)
    assert err.what == str(path)
    assert err.why == "cannot read (not UTF-8 text: byte 9)"


def test_an_unknown_migration_method_in_a_file_is_refused(paper: Parameters, tmp_path: Path) -> None:
    """A [migration.X] table for an unknown method fails naming the file, the table and the known methods."""
    path = write(tmp_path, '[migration.teleport]\nmove_time = [{ form = "constant", value = 1 }]\n')
    err = error_of(lambda: load_parameter_file(path, paper), ConfigFileError)
    assert err.what == str(path)
    assert err.why == "[migration.teleport]: unknown method; expected one of stop_and_copy, live, live_rate_control"


# -- Table 1 curves ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "what", "why"),
    [
        (
            {"form": "cubic", "slope": 1},
            "live.move_time",
            "form must be one of linear, exponential, constant, got 'cubic'",
        ),
        ({"slope": 1, "intercept": 2}, "live.move_time", "form must be one of linear, exponential, constant, got None"),
        ({"form": "linear", "slope": 0.57}, "live.move_time", "a linear piece needs 'intercept'"),
        ({"form": "constant"}, "live.move_time", "a constant piece needs 'value'"),
        ({"form": "constant", "value": 1, "slope": 2}, "live.move_time", "unknown key 'slope' for a constant piece"),
        ([], "live.move_time", "needs at least one piece"),
        (["linear"], "live.move_time", "a piece must be a table, got 'linear'"),
    ],
)
def test_a_bad_curve_piece_is_refused_naming_the_curve(data: Any, what: str, why: str) -> None:
    """A piece with an unknown form, a missing or unknown coefficient, or no piece at all, fails naming the curve."""
    err = error_of(lambda: Curve.from_data("live.move_time", data), ParameterError)
    assert (err.what, err.why) == (what, why)


def test_a_curve_coefficient_must_be_a_number() -> None:
    """A coefficient that is no number fails naming the curve and its piece."""
    data = [{"form": "constant", "value": 1, "last": 2}, {"form": "linear", "slope": "steep", "intercept": 1}]
    err = error_of(lambda: Curve.from_data("live.move_time", data), ParameterError)
    assert err.what == "live.move_time[2]"
    assert err.why.startswith("coefficients and bounds must be numbers")


def test_a_bad_curve_in_a_file_is_refused_naming_the_file_and_the_curve(paper: Parameters, tmp_path: Path) -> None:
    """A user's [migration.live] with a bad piece fails naming the file and the curve."""
    path = write(
        tmp_path,
        "[migration.live]\n"
        'source_throughput = [{ form = "linear", slope = 4.2, intercept = 19 }]\n'
        'destination_throughput = [{ form = "constant", value = 19 }]\n'
        'move_time = [{ form = "quadratic", slope = 0.57, intercept = 13 }]\n',
    )
    err = error_of(lambda: load_parameter_file(path, paper), ConfigFileError)
    assert err.what == str(path)
    assert err.why == "live.move_time: form must be one of linear, exponential, constant, got 'quadratic'"


@pytest.mark.parametrize(
    ("data", "what", "why"),
    [
        ({"move_time": [{"form": "constant", "value": 1}]}, "live.source_throughput", "missing (V_s(i) of Table 1)"),
        (
            {"speed": [{"form": "constant", "value": 1}]},
            "live.speed",
            "unknown curve; expected one of source_throughput, moving_throughput, destination_throughput, move_time",
        ),
    ],
)
def test_a_migration_profile_needs_its_table_1_curves(data: dict[str, Any], what: str, why: str) -> None:
    """A profile without V_s, V_d or M, or with an unknown curve, fails naming it."""
    err = error_of(lambda: MigrationProfile.from_data("live", data), ParameterError)
    assert (err.what, err.why) == (what, why)


def test_a_curve_with_a_gap_is_refused_naming_the_index() -> None:
    """A curve that does not cover every i = 1..n fails naming the curve and the first index missed."""
    curve = Curve.from_data(
        "x", [{"form": "constant", "value": 1, "last": 3}, {"form": "constant", "value": 2, "first": 5}]
    )
    err = error_of(lambda: curve.evaluate("x", np.arange(1, 8)), ParameterError)
    assert (err.what, err.why) == ("x", "no piece covers i = 4")


def test_a_move_time_that_goes_negative_is_refused_naming_the_curve(paper: Parameters) -> None:
    """Rate control's M(i) = -0.55 i + 89 (Table 1) is negative from i = 162 on, so n = 200 fails naming the curve."""
    assert float(STRATEGIES["live_rate_control"].evaluate(paper.replace(n=161, p=161 * 60.0), 2).limit) > 0
    err = error_of(lambda: STRATEGIES["live_rate_control"].evaluate(paper.replace(n=200), 2), ParameterError)
    assert err.what == "live_rate_control.move_time (M(i))"
    assert err.why == "must be positive for i = 1..200, got -0.1 at i = 162"


def test_a_negative_throughput_in_a_curve_is_refused(paper: Parameters) -> None:
    """A Table 1 throughput function that goes negative within 1..n fails naming the curve."""
    profile = MigrationProfile.from_data(
        "stop_and_copy",
        {
            "source_throughput": [{"form": "linear", "slope": -10, "intercept": 45}],
            "destination_throughput": [{"form": "constant", "value": 20}],
            "move_time": [{"form": "constant", "value": 15}],
        },
    )
    err = error_of(lambda: profile.table(11), ParameterError)
    assert err.what == "stop_and_copy.source_throughput (V_s(i))"
    assert err.why == "must be non-negative for i = 1..11, got -5 at i = 5"


@pytest.mark.parametrize(
    ("key", "symbol", "name"), [("migration", "gamma", "stop_and_copy"), ("live", "gamma'", "live")]
)
def test_a_computed_degradation_outside_zero_to_one_is_refused(
    paper: Parameters, key: str, symbol: str, name: str
) -> None:
    """Table 1 curves of 20 to 70 req/s per VM said to be measured at 1 req/s per VM exceed the host: γ fails naming the method."""
    field = {"migration": "stop_and_copy_profile", "live": "live_migration_profile"}[key]
    overloaded = dataclasses.replace(getattr(paper, field), load=1.0)
    err = error_of(lambda: STRATEGIES[key].evaluate(paper.replace(**{field: overloaded}), 2), ParameterError)
    assert err.what == f"{name} ({symbol})"
    assert err.why.startswith("computed -")
    assert "must be in [0, 1]" in err.why


def test_a_too_long_stop_and_copy_shows_the_whole_migration_time(paper: Parameters) -> None:
    """n D_m at or above T_vmm fails naming D_m, with n D_m, the quantity the rule is about, in the message."""
    err = error_of(lambda: paper.replace(D_m=3 * 86400), ParameterError)
    assert err.why == "times n (M_t, the whole stop-and-copy) must stay below T_vmm (28 d), got 3 d (n D_m = 33 d)"


def test_in_a_grid_the_message_gives_the_interval_at_the_offending_point(paper: Parameters) -> None:
    """A grid of (T_vmm, D_w) pairs fails at the pair that breaks the rule, quoting that pair's T_vmm."""
    err = error_of(lambda: paper.replace(T_vmm=[86400, 30 * 86400], D_w=[60, 31 * 86400]), ParameterError)
    assert err.why == "must stay below T_vmm (30 d), got 31 d"
