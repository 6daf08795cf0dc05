"""Presets, user parameter files and NAME=VALUE overrides, by paper symbol or descriptive name."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rejuv.errors import ConfigFileError, ParameterError
from rejuv.model import (
    DEFAULT_PRESET,
    NUMERIC_FIELDS,
    STRATEGIES,
    SYMBOLS,
    MigrationProfile,
    Parameters,
    Preset,
    apply_overrides,
    available_presets,
    degradation_rates,
    load_parameter_file,
    load_preset,
    migration_degradation,
    parse_assignment,
    parse_value,
)

PROFILES = ("stop_and_copy_profile", "live_migration_profile", "live_migration_profile_rate_control")
SECTIONS = {"stop_and_copy": PROFILES[0], "live": PROFILES[1], "live_rate_control": PROFILES[2]}


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def profile_tables(params: Parameters, sections: dict[str, str] = SECTIONS) -> str:
    lines = []
    for section, field in sections.items():
        lines.append(f"[migration.{section}]")
        profile: MigrationProfile = getattr(params, field)
        lines += [f"{key} = {toml_value(curve)}" for key, curve in profile.to_data().items()]
    return "\n".join(lines) + "\n"


def unchanged_except(before: Parameters, after: Parameters, changed: set[str]) -> None:
    old, new = before.as_dict(), after.as_dict()
    assert {name for name in NUMERIC_FIELDS if old[name] != new[name]} == changed


def test_the_papers_preset_is_built_in_and_the_default(paper_preset: Preset) -> None:
    """kourai2008 is available, is the default, and cites paper Section 4 and Table 1."""
    assert DEFAULT_PRESET == "kourai2008"
    assert "kourai2008" in available_presets()
    assert paper_preset.name == "kourai2008"
    assert "Section 4" in paper_preset.source
    assert "Table 1" in paper_preset.source
    assert load_preset().as_dict() == paper_preset.parameters.as_dict()


def test_a_file_with_every_value_of_the_preset_reproduces_it(paper: Parameters, tmp_path: Path) -> None:
    """Writing out every value and curve of load_preset() and reading it back onto other values gives the preset."""
    lines = [f"{name} = {value!r}" for name, value in paper.as_dict().items() if value is not None]
    path = tmp_path / "all.toml"
    path.write_text("\n".join(lines) + "\n" + profile_tables(paper), encoding="utf-8")
    other = paper.replace(D_w=30.0, omega=0.1, n=4, T_os=86400.0, gamma=0.5)
    other = dataclasses.replace(other, live_migration_profile=other.stop_and_copy_profile)
    back = load_parameter_file(path, other)
    assert back.as_dict() == {**paper.as_dict(), "migration_degradation": 0.5}
    for field in PROFILES:
        assert getattr(back, field) == getattr(paper, field)


@pytest.mark.parametrize("field", PROFILES)
def test_migration_profiles_round_trip_through_data(paper: Parameters, field: str) -> None:
    """MigrationProfile.from_data(to_data()) gives the same Table 1 row back (its per-VM load comes from a file's n and p)."""
    profile: MigrationProfile = getattr(paper, field)
    assert profile.load == pytest.approx(560.0 / 11)
    assert MigrationProfile.from_data(profile.name, profile.to_data()) == dataclasses.replace(profile, load=None)


def test_a_user_file_overrides_a_subset_by_symbol_or_name_with_units(paper: Parameters, tmp_path: Path) -> None:
    """A user's file changes just the values it gives, keyed by paper symbol or descriptive name, with units."""
    path = tmp_path / "mine.toml"
    path.write_text(
        "# my cluster\n"
        'D_w = "1 min"\n'
        'cold_reboot_downtime = "4 min"\n'
        'omega = "50%"\n'
        'os_interval = "2 weeks"\n'
        "\"omega'\" = 0.8  # the paper's prime\n"
        'p = "600 req/s"\n'
        "vms_per_host = 12\n",
        encoding="utf-8",
    )
    mine = load_parameter_file(path, paper)
    assert float(mine.warm_reboot_downtime) == 60.0
    assert float(mine.cold_reboot_downtime) == 240.0
    assert float(mine.warm_reboot_degradation) == 0.5
    assert float(mine.os_interval) == 14 * 86400.0
    assert float(mine.cold_reboot_degradation) == 0.8
    assert float(mine.host_throughput) == 600.0
    assert float(mine.vms_per_host) == 12.0
    changed = {
        "warm_reboot_downtime",
        "cold_reboot_downtime",
        "warm_reboot_degradation",
        "os_interval",
        "cold_reboot_degradation",
        "host_throughput",
        "vms_per_host",
    }
    unchanged_except(paper, mine, changed)
    for field in PROFILES:
        assert getattr(mine, field) == getattr(paper, field)


def test_an_empty_user_file_changes_nothing(paper: Parameters, tmp_path: Path) -> None:
    """A user's file with no values gives the base parameters back."""
    path = tmp_path / "empty.toml"
    path.write_text("# nothing to change\n", encoding="utf-8")
    unchanged_except(paper, load_parameter_file(path, paper), set())


def test_a_user_file_can_set_a_degradation_rate_instead_of_computing_it(paper: Parameters, tmp_path: Path) -> None:
    """gamma = 0.5 in a file replaces the γ computed from Table 1 for stop-and-copy migration only."""
    path = tmp_path / "gamma.toml"
    path.write_text("gamma = 0.5\n", encoding="utf-8")
    rates = degradation_rates(load_parameter_file(path, paper))
    assert float(rates["migration"]) == 0.5
    assert float(rates["live"]) == float(degradation_rates(paper)["live"])


@pytest.mark.parametrize("section", list(SECTIONS))
def test_a_user_file_overrides_the_table_1_curves_of_one_method(
    paper: Parameters, tmp_path: Path, section: str
) -> None:
    """[migration.<method>] replaces that method's Table 1 curves, and its γ follows; the others stay."""
    field = SECTIONS[section]
    # Another method's row as the new curves: a different, valid Table 1 row.
    donor = "live" if section != "live" else "live_rate_control"
    swapped = dataclasses.replace(paper, **{field: getattr(paper, SECTIONS[donor])})
    path = tmp_path / "curves.toml"
    text = profile_tables(swapped, {section: field})
    if section == "stop_and_copy":  # stop-and-copy has no moving VM: drop V_m
        text = "\n".join(line for line in text.splitlines() if not line.startswith("moving_throughput")) + "\n"
    path.write_text(text, encoding="utf-8")
    mine = load_parameter_file(path, paper)
    new = getattr(mine, field)
    assert new.name == section
    assert new.move_time == getattr(paper, SECTIONS[donor]).move_time
    for other in PROFILES:
        if other != field:
            assert getattr(mine, other) == getattr(paper, other)
    key = {"stop_and_copy": "migration"}.get(section, section)
    expected = migration_degradation(new, mine.vms_per_host, mine.host_throughput)
    assert float(degradation_rates(mine)[key]) == float(expected)
    assert float(degradation_rates(mine)[key]) != float(degradation_rates(paper)[key])
    unchanged_except(paper, mine, set())


@pytest.mark.parametrize(
    ("section", "donor", "why"),
    [
        ("stop_and_copy", "live", "belongs to live migration only: stop-and-copy stops the moving VM"),
        ("live", "stop_and_copy", "is missing"),
    ],
)
def test_a_profile_with_the_wrong_kind_of_curves_is_refused(
    paper: Parameters, tmp_path: Path, section: str, donor: str, why: str
) -> None:
    """V_m in a stop-and-copy profile, or none in a live one, is an error: it would switch γ's formula silently."""
    swapped = dataclasses.replace(paper, **{SECTIONS[section]: getattr(paper, SECTIONS[donor])})
    path = tmp_path / "curves.toml"
    path.write_text(profile_tables(swapped, {section: SECTIONS[section]}), encoding="utf-8")
    with pytest.raises(ConfigFileError) as caught:
        load_parameter_file(path, paper)
    assert str(caught.value) == f"{path}: [migration.{section}]: moving_throughput (V_m) {why}"


def test_overrides_take_text_with_units_by_symbol_or_name(paper: Parameters) -> None:
    """apply_overrides reads "2 weeks", "40%", "8" and plain numbers, keyed by symbol or descriptive name."""
    mine = apply_overrides(
        paper,
        {"T_vmm": "2 weeks", "delta": "40%", "vms_per_host": "8", "R'_vmm": "5 min", "warm_reboot_degradation": 0.5},
    )
    assert float(mine.vmm_interval) == 14 * 86400.0
    assert float(mine.os_degradation) == pytest.approx(0.4, rel=1e-15)
    assert float(mine.vms_per_host) == 8.0
    assert float(mine.cold_reboot_degraded_period) == 300.0
    assert float(mine.warm_reboot_degradation) == 0.5
    # D_w(n) and D_c(n) are proportional to n: n = 8 alone carries them from 11 VMs to 8.
    assert float(mine.warm_reboot_downtime) == pytest.approx(59.0 * 8 / 11, rel=1e-15)
    assert float(mine.cold_reboot_downtime) == pytest.approx(219.0 * 8 / 11, rel=1e-15)
    changed = {
        "vmm_interval",
        "os_degradation",
        "vms_per_host",
        "cold_reboot_degraded_period",
        "warm_reboot_degradation",
        "warm_reboot_downtime",
        "cold_reboot_downtime",
    }
    unchanged_except(paper, mine, changed)


def test_overrides_leave_the_original_parameters_alone(paper: Parameters) -> None:
    """Parameters are frozen: overrides return a copy, and field arrays are read-only."""
    before = paper.as_dict()
    apply_overrides(paper, {"D_w": "2 min"})
    assert paper.as_dict() == before
    assert not paper.warm_reboot_downtime.flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        paper.warm_reboot_downtime = np.array(1.0)  # type: ignore[misc]


@pytest.mark.parametrize("symbol", SYMBOLS, ids=lambda s: s.symbol)
def test_every_parameter_is_reachable_by_symbol_and_by_name(paper: Parameters, symbol: Any) -> None:
    """parse_value maps both the paper symbol and the descriptive name of every row to the same field."""
    text = {"s": "1 h", "1": "50%", "VMs": "4", "req/s": "100"}[symbol.unit]
    assert parse_value(symbol.symbol, text) == parse_value(symbol.name, text)
    assert parse_value(symbol.symbol, text)[0] == symbol.name


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("D_w=59s", ("D_w", "59s")),
        (" T_os = 7 days ", ("T_os", "7 days")),
        ("omega=61%", ("omega", "61%")),
        ("D_w=a=b", ("D_w", "a=b")),
    ],
)
def test_assignments_split_at_the_first_equals_sign(text: str, pair: tuple[str, str]) -> None:
    """parse_assignment("D_w=59s") gives ("D_w", "59s"), trimmed."""
    assert parse_assignment(text) == pair


@pytest.mark.parametrize("text", ["D_w", "=59s", "D_w=", " = ", ""])
def test_an_assignment_without_name_or_value_is_refused(text: str) -> None:
    """Text that is not NAME=VALUE fails naming the --set argument and showing the form expected."""
    with pytest.raises(ParameterError) as info:
        parse_assignment(text)
    assert info.value.what == f"--set {text}"
    assert info.value.why == "expected NAME=VALUE, for example D_w=59s"


def test_assignments_feed_overrides(paper: Parameters) -> None:
    """--set style text, split by parse_assignment, applies through apply_overrides."""
    mine = apply_overrides(paper, dict(parse_assignment(t) for t in ["D_w=2min", "omega=50%"]))
    assert float(mine.warm_reboot_downtime) == 120.0
    assert float(mine.warm_reboot_degradation) == 0.5
    assert (
        STRATEGIES["warm"].evaluate(mine, 2).normalized_throughput
        < STRATEGIES["warm"].evaluate(paper, 2).normalized_throughput
    )
