"""Parameter sets from TOML: built-in presets, a user's file, and ``NAME=VALUE`` overrides.

A file holds parameters as top-level keys, by paper symbol or descriptive
name, with units where they help (``D_w = "59s"``, ``T_vmm = "28 days"``),
registered strategies' own parameters among them (or grouped in a section of
their own, ``[strategies.<key>]``, which holds only that strategy's own
parameters), and optionally the Table 1
curves of each migration strategy under ``[migration.<its profile section>]``
(``[migration.stop_and_copy]``, ``[migration.live]``,
``[migration.live_rate_control]``). A user's file
and ``--set`` overrides may change any subset of a preset. Table 1 curves
are taken as measured on the host of the file that gives them (its n and p,
else the base's), and scale with p / n from there (:mod:`rejuv.model.migration`). Presets also
carry ``[preset]`` metadata (name, source) and ``[reported]`` values: what
the source reports for quantities the model derives, kept for comparison.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rejuv.errors import ConfigFileError, ParameterError, RejuvError
from rejuv.model.migration import MigrationProfile
from rejuv.model.parameters import NUMERIC_FIELDS, Parameters
from rejuv.model.strategies import STRATEGIES, MigrationStrategy, strategy
from rejuv.model.symbols import Kind, describe, lookup
from rejuv.model.units import parse_duration, parse_number, parse_rate

__all__ = [
    "DEFAULT_PRESET",
    "Preset",
    "apply_overrides",
    "available_presets",
    "load_parameter_file",
    "load_preset",
    "parse_assignment",
    "parse_value",
    "read_preset",
]

DEFAULT_PRESET = "kourai2008"


def _profile_sections() -> dict[str, MigrationStrategy]:
    """Every migration strategy by the name of its Table 1 section (``[migration.<name>]``)."""
    return {item.profile_section: item for item in STRATEGIES.values() if isinstance(item, MigrationStrategy)}


_SECTIONS = {"preset", "reported", "migration", "strategies"}


@dataclass(frozen=True)
class Preset:
    """A named parameter set with its source and the values the source reports."""

    name: str
    source: str
    parameters: Parameters
    reported: dict[str, float] = field(default_factory=dict)


def parse_value(key: str, value: Any) -> tuple[str, float]:
    """Read one parameter value (number or text with unit) as ``(field name, base-unit float)``.

    Raises :class:`ParameterError` naming the field if the text cannot be read.
    """
    entry = lookup(key)
    reader = {Kind.DURATION: parse_duration, Kind.RATE: parse_rate}.get(entry.kind, parse_number)
    try:
        return entry.name, reader(value)
    except ValueError as err:
        raise ParameterError(describe(entry.name), str(err)) from err


def parse_assignment(text: str) -> tuple[str, str]:
    """Split ``"D_w=59s"`` into ``("D_w", "59s")``; raise :class:`ParameterError` if there is no ``=``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise ParameterError(f"--set {text}", "expected NAME=VALUE, for example D_w=59s")
    return key.strip(), value.strip()


def apply_overrides(params: Parameters, overrides: Mapping[str, Any]) -> Parameters:
    """A copy of ``params`` with ``overrides`` (names or symbols to numbers or text) applied."""
    values = dict(parse_value(key, value) for key, value in overrides.items())
    return params.replace(**values)


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*=", re.MULTILINE)
    match = pattern.search(text)
    return None if match is None else text.count("\n", 0, match.start()) + 1


def _read_toml(path: Path | str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line = re.search(r"line (\d+)", str(err))
        where = f"{path}, line {line.group(1)}" if line else str(path)
        raise ConfigFileError(where, f"not valid TOML ({err})") from err


def _read_value(path: Path | str, text: str, key: str, value: Any) -> tuple[str, float]:
    """:func:`parse_value`, failing with a :class:`ConfigFileError` that names the file and line."""
    try:
        return parse_value(key, value)
    except RejuvError as err:
        line = _line_of(text, key)
        where = f"{path}, line {line}" if line else str(path)
        raise ConfigFileError(where, str(err)) from err


def _strategy_sections(path: Path | str, text: str, data: Mapping[str, Any]) -> dict[str, float]:
    """The values of ``[strategies.<key>]`` sections; each holds only that strategy's own parameters."""
    tables = data.get("strategies", {})
    if not isinstance(tables, Mapping):
        raise ConfigFileError(
            str(path), f"strategies: expected a table of [strategies.KEY] sections, got {tables!r:.60}"
        )
    values: dict[str, float] = {}
    for key, table in tables.items():
        try:
            item = strategy(key)
        except ParameterError as err:
            raise ConfigFileError(str(path), f"[strategies.{key}]: {err}") from err
        if not isinstance(table, Mapping):
            raise ConfigFileError(str(path), f"strategies.{key}: expected a table of its parameters, got {table!r:.60}")
        own = {entry.name for entry in item.symbols}
        for symbol, value in table.items():
            name, number = _read_value(path, text, symbol, value)
            if name not in own:
                mine = ", ".join(entry.symbol for entry in item.symbols) or "none"
                raise ConfigFileError(
                    str(path), f"[strategies.{key}]: {symbol} is not one of {item.label}'s own parameters ({mine})"
                )
            values[name] = number
    return values


def _per_vm_load(values: Mapping[str, Any], base: Parameters | None) -> float | None:
    """p / n of the host a document's Table 1 curves were measured on: its own n and p, else the base's."""
    n = values.get("vms_per_host", None if base is None else base.vms_per_host)
    p = values.get("host_throughput", None if base is None else base.host_throughput)
    if n is None or p is None or np.ndim(n) or np.ndim(p) or not float(n) > 0:
        return None  # left unscaled; an invalid n or p is refused, naming it, when the set is built
    return float(p) / float(n)


def _apply_document(path: Path | str, text: str, data: Mapping[str, Any], base: Parameters | None) -> Parameters:
    """Turn a parsed file into parameters, on top of ``base`` (None: the file must be complete)."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _SECTIONS:
            name, number = _read_value(path, text, key, value)
            values[name] = number
    values |= _strategy_sections(path, text, data)
    migration = data.get("migration", {})
    if not isinstance(migration, Mapping):
        raise ConfigFileError(
            str(path), f"migration: expected a table of [migration.METHOD] sections, got {migration!r:.60}"
        )
    sections = _profile_sections()
    for section, table in migration.items():
        if section not in sections:
            known = ", ".join(sections)
            raise ConfigFileError(str(path), f"[migration.{section}]: unknown method; expected one of {known}")
        if not isinstance(table, Mapping):
            raise ConfigFileError(
                str(path), f"migration.{section}: expected a table of Table 1 curves, got {table!r:.60}"
            )
        try:
            profile = MigrationProfile.from_data(section, table)
        except ParameterError as err:
            raise ConfigFileError(str(path), str(err)) from err
        # The moving VM's V_m is what makes a profile live; a stray or missing one would switch the formula.
        live = sections[section].live
        if profile.is_live != live:
            why = "belongs to live migration only: stop-and-copy stops the moving VM" if not live else "is missing"
            raise ConfigFileError(str(path), f"[migration.{section}]: moving_throughput (V_m) {why}")
        values[sections[section].profile_field] = dataclasses.replace(profile, load=_per_vm_load(values, base))
    if base is None:
        required = [name for name in NUMERIC_FIELDS if not lookup(name).optional] + [
            item.profile_field for item in sections.values()
        ]
        missing = [name for name in required if name not in values]
        if missing:
            what = describe(missing[0]) if missing[0] in NUMERIC_FIELDS else missing[0]
            raise ConfigFileError(str(path), f"{what}: missing (a preset must give every parameter)")
    try:
        return Parameters(**values) if base is None else base.replace(**values)
    except ParameterError as err:
        raise ConfigFileError(str(path), str(err)) from err


def available_presets() -> list[str]:
    """Names of the built-in presets."""
    folder = resources.files("rejuv.model") / "presets"
    return sorted(item.name.removesuffix(".toml") for item in folder.iterdir() if item.name.endswith(".toml"))


def read_preset(name: str = DEFAULT_PRESET) -> Preset:
    """A built-in preset with its metadata. Raises :class:`ParameterError` for an unknown name."""
    if name not in available_presets():
        raise ParameterError(f"preset {name!r}", f"unknown; available: {', '.join(available_presets())}")
    resource = resources.files("rejuv.model") / "presets" / f"{name}.toml"
    text = resource.read_text(encoding="utf-8")
    data = _read_toml(f"preset {name}", text)
    params = _apply_document(f"preset {name}", text, data, base=None)
    reported: dict[str, float] = {}
    for key, value in data.get("reported", {}).items():
        if key == "M_t":  # derived by the model (n D_m), so not a parameter
            reported["stop_and_copy_total_time"] = parse_duration(value)
        else:
            name_, number = parse_value(key, value)
            reported[name_] = number
    meta = data.get("preset", {})
    return Preset(name=meta.get("name", name), source=meta.get("source", ""), parameters=params, reported=reported)


def load_preset(name: str = DEFAULT_PRESET) -> Parameters:
    """The parameters of a built-in preset (default: the paper's, ``kourai2008``)."""
    return read_preset(name).parameters


#: The largest parameter file read (a whole preset with Table 1 is about 3 KiB).
MOST_FILE_BYTES = 1 << 20


def load_parameter_file(path: Path | str, base: Parameters) -> Parameters:
    """``base`` with the values of a user's TOML file applied.

    Raises :class:`ConfigFileError` naming the file (and line, where known)
    for unreadable or malformed files, unknown names and invalid values.
    """
    try:
        with open(path, "rb") as stream:  # bounded: /dev/zero or a stray 10 GB file is not read into memory
            data = stream.read(MOST_FILE_BYTES + 1)
    except OSError as err:
        raise ConfigFileError(str(path), f"cannot read ({err.strerror})") from err
    if len(data) > MOST_FILE_BYTES:
        raise ConfigFileError(
            str(path), f"larger than {MOST_FILE_BYTES // 2**20} MiB; a parameter file is a few hundred bytes of TOML"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigFileError(str(path), f"cannot read (not UTF-8 text: byte {err.start})") from err
    return _apply_document(path, text, _read_toml(path, text), base)
