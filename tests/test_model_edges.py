"""Edges of the model that the mutation check found untested (docs/mutation.md): axis text, curve text, file lines, reboot times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rejuv.errors import ConfigFileError, ParameterError
from rejuv.model import STRATEGIES, Parameters, load_parameter_file, read_preset
from rejuv.model.curves import Curve, Form, Piece
from rejuv.model.phase_map import Axis
from rejuv.model.timeline import IntervalKind, rejuvenation_timeline
from rejuv.model.units import format_duration, parse_number

DAY = 86400.0


def test_an_axis_has_61_points_by_default_and_may_have_just_2() -> None:
    """``NAME=START:STOP`` splits into 61 values unless told otherwise; 2 is the fewest, and a log axis says so."""
    assert len(Axis.parse("T_vmm=1d:90d").values) == 61
    assert Axis.parse("T_vmm=1d:2d", points=2).values.tolist() == [DAY, 2 * DAY]
    assert not Axis.parse("T_vmm=1d:90d").log
    assert Axis.parse("T_vmm=1d:90d", log=True).log
    with pytest.raises(ParameterError, match=r"^axis T_vmm: needs at least 2 points, got 1$"):
        Axis.parse("T_vmm=1d:2d", points=1)


@pytest.mark.parametrize("text", ["T_vmm=:90d", "T_vmm=1d:", "T_vmm=1d", "T_vmm 1d:90d"])
def test_an_axis_without_both_ends_is_malformed(text: str) -> None:
    """A missing '=', ':', START or STOP is reported as the expected form, naming the text."""
    with pytest.raises(ParameterError) as caught:
        Axis.parse(text)
    assert str(caught.value) == f"axis {text!r}: expected NAME=START:STOP, for example T_vmm=1d:90d"


@pytest.mark.parametrize(("text", "bad"), [("T_vmm=1d:2d=3d", "2d=3d"), ("T_vmm=1d:2d:3d", "2d:3d")])
def test_an_axis_splits_at_its_first_equals_sign_and_first_colon(text: str, bad: str) -> None:
    """Everything after the first ':' is STOP, so a second '=' or ':' makes STOP unreadable, and the error quotes it."""
    with pytest.raises(ParameterError, match=rf"^vmm_interval \(T_vmm\): cannot read '{bad}' as a number"):
        Axis.parse(text)


def test_an_axis_must_rise() -> None:
    """START equal to STOP is refused like START above it."""
    with pytest.raises(ParameterError, match=r"^axis T_vmm: START must be below STOP, got 1d:1d$"):
        Axis.parse("T_vmm=1d:1d")


def test_a_curve_piece_prints_its_formula_with_the_intercepts_sign() -> None:
    """A negative intercept prints as '- |b|', zero and positive ones as '+ b', for linear and exponential pieces."""
    assert str(Piece(Form.LINEAR, slope=2.0, intercept=-3.0)) == "2 i - 3"
    assert str(Piece(Form.LINEAR, slope=2.0, intercept=0.0)) == "2 i + 0"
    assert str(Piece(Form.LINEAR, slope=2.0, intercept=0.5)) == "2 i + 0.5"
    assert str(Piece(Form.EXPONENTIAL, slope=-0.5, intercept=-1.5)) == "exp(-0.5 i - 1.5)"
    assert str(Piece(Form.EXPONENTIAL, slope=-0.5, intercept=0.25)) == "exp(-0.5 i + 0.25)"
    assert str(Piece(Form.EXPONENTIAL, slope=-0.5, intercept=0.0)) == "exp(-0.5 i + 0)"


def test_a_curve_writes_first_only_where_it_is_not_1() -> None:
    """to_data leaves out first = 1 (the default) and keeps any other first index, so from_data reads it back."""
    curve = Curve((Piece(Form.CONSTANT, value=1.0, last=1), Piece(Form.CONSTANT, value=2.0, first=2)))
    data = curve.to_data()
    assert "first" not in data[0]
    assert data[1]["first"] == 2
    assert Curve.from_data("curve", data) == curve


def test_a_bad_value_in_a_parameter_file_names_its_line_counting_blank_first_lines(
    tmp_path: Path, paper: Parameters
) -> None:
    """Lines count from 1 at the file's first character, a leading blank line included."""
    path = tmp_path / "params.toml"
    path.write_text('\n# a comment\nD_w = "fast"\n', encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r", line 3: "):
        load_parameter_file(path, paper)


def test_a_bad_value_whose_key_has_no_line_of_its_own_names_the_file(tmp_path: Path, paper: Parameters) -> None:
    """A key spelt with an escape (``"D\\u005fw"`` is D_w) has no 'D_w =' line: the error names the file alone."""
    path = tmp_path / "params.toml"
    path.write_text('"D\\u005fw" = "fast"\n', encoding="utf-8")
    with pytest.raises(ConfigFileError) as caught:
        load_parameter_file(path, paper)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_table_where_a_parameter_value_belongs_is_a_config_file_error(tmp_path: Path, paper: Parameters) -> None:
    """``D_w.x = 1`` makes D_w a table: the error names the file, like any other bad value, not a TypeError."""
    path = tmp_path / "params.toml"
    path.write_text("D_w.x = 1\n", encoding="utf-8")
    with pytest.raises(ConfigFileError):
        load_parameter_file(path, paper)


def test_an_os_rejuvenation_frozen_by_a_warm_reboot_ends_exactly_at_the_reboot(paper: Parameters) -> None:
    """The frozen part ends at 2 T_vmm bit for bit, where T_vmm + D_w + (2 up - up) would be off by an ulp (up = T_vmm - D_w)."""
    vmm, down = 262003.6, 166.3  # (2 up - up) rounds: D_w + that != T_vmm in binary
    up = vmm - down
    assert vmm + down + (2 * up - up) != 2 * vmm
    params = paper.replace(T_vmm=vmm, D_w=down, T_os=2 * up - 20.0)  # due 20 s of OS clock before the 2nd reboot
    timeline = rejuvenation_timeline(params, "warm", 3)
    frozen = timeline.of(IntervalKind.OS_DOWNTIME)[0]
    assert frozen.end == 2 * vmm
    assert timeline.of(IntervalKind.VMM_DOWNTIME)[2].start == frozen.end


def test_a_grid_lists_every_point_with_its_index(paper: Parameters) -> None:
    """points() yields each index of the broadcast shape with the single parameter set there."""
    grid = paper.replace(T_vmm=np.array([[10.0], [20.0]]) * DAY, D_w=np.array([30.0, 60.0, 90.0]))
    found = [(index, float(point.vmm_interval), float(point.warm_reboot_downtime)) for index, point in grid.points()]
    assert found == [((i, j), (10.0 + 10.0 * i) * DAY, 30.0 + 30.0 * j) for i in range(2) for j in range(3)]


def test_a_strategy_shows_its_class_and_key() -> None:
    """repr names the strategy's class and its key, as in <WarmReboot 'warm'>."""
    assert [repr(strategy) for strategy in STRATEGIES.values()] == [
        "<WarmReboot 'warm'>",
        "<ColdReboot 'cold'>",
        "<StopAndCopyMigration 'migration'>",
        "<LiveMigration 'live'>",
        "<LiveMigrationRateControl 'live_rate_control'>",
    ]


def test_the_paper_preset_carries_its_name_source_and_reported_values() -> None:
    """Read directly (not through the session fixture), kourai2008 names its source and the paper's M_t, γ and γ'_rc."""
    preset = read_preset("kourai2008")
    assert preset.name == "kourai2008"
    assert preset.source.startswith("K. Kourai, Comparison of cluster performance under VMM software rejuvenation")
    assert preset.reported == {
        "stop_and_copy_total_time": 165.0,
        "migration_degradation": 0.60,
        "live_migration_degradation_rate_control": 0.23,
    }
    with pytest.raises(ParameterError) as caught:
        read_preset("nope")
    assert str(caught.value) == "preset 'nope': unknown; available: kourai2008"


def test_a_duration_of_at_least_10_units_uses_that_unit_even_when_inexact() -> None:
    """10.5 h is written in hours, 9.5 h (under 10 of them, and inexact) in minutes."""
    assert format_duration(10.5 * 3600) == "10.5 h"
    assert format_duration(9.5 * 3600) == "570 min"


def test_every_warm_os_rejuvenation_has_its_degraded_period(paper: Parameters) -> None:
    """Under Warm-VM Reboot each OS rejuvenation is D_os down, then R_os degraded (41 s, then 410 s)."""
    timeline = rejuvenation_timeline(paper, "warm", 1)
    downs, degraded = timeline.of(IntervalKind.OS_DOWNTIME), timeline.of(IntervalKind.OS_DEGRADED)
    assert len(downs) == len(degraded) == len(timeline.os_rejuvenations) == 3
    for down, after in zip(downs, degraded, strict=True):
        assert (after.start, after.end - after.start) == (down.end, 410.0)


def test_a_plain_number_may_carry_its_unit() -> None:
    """'11 VMs', '11 vms', '1000 hosts' and '560 req/s' read as numbers; any other unit is refused."""
    assert [parse_number(text) for text in ("11 VMs", "11 vms", "1000 hosts", "560 req/s")] == [
        11.0,
        11.0,
        1000.0,
        560.0,
    ]
    with pytest.raises(ValueError, match=r"^unexpected unit 'kg' in '3 kg'$"):
        parse_number("3 kg")


def test_values_set_inside_the_model_are_read_only_views(paper: Parameters) -> None:
    """A value the model sets without checks (γ, a chunk of a grid) cannot be changed in place, nor changes its source."""
    source = np.array([5.0, 6.0])
    copy = paper._with_checked_values(vmm_interval=source)
    assert not copy.vmm_interval.flags.writeable
    assert source.flags.writeable


def test_a_strategy_evaluated_without_hosts_is_one_host(paper: Parameters) -> None:
    """The default m is 1: a reboot evaluates there, a migration, which keeps one host as the spare, refuses it."""
    assert STRATEGIES["warm"].evaluate(paper).strategy == "warm"
    with pytest.raises(ParameterError, match=r"^hosts \(m\): must be whole numbers >= 2 .*, got 1$"):
        STRATEGIES["migration"].evaluate(paper)
    with pytest.raises(ParameterError, match=r", got 1$"):
        STRATEGIES["migration"].normalized_throughput(paper)
