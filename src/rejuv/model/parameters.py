"""The model's parameters: one frozen, validated value per paper symbol.

Every numeric field is a read-only float64 numpy array (0-d for a scalar), so
a parameter set can stand for one cluster or for a whole grid of them: fields
broadcast against each other and against host counts. Field names, units and
paper symbols come from :mod:`rejuv.model.symbols`.

Checks made when a set is built (each failure names the field):

- every value is finite; n is a whole number >= 1; p > 0; intervals > 0;
  other times >= 0; rates (ω, ω', δ, γ, γ') in [0, 1];
- each downtime lies below its interval (D_w, D_c, n D_m, M_l < T_vmm; D_os < T_os);
- a VMM rejuvenation and the OS rejuvenations fit in the time they share:
  (VMM downtime + degraded period) / T_vmm + (D_os + R_os) / T_os <= 1.
  The model never lets them overlap, and this keeps 0 <= P / (m p) <= 1.

The first two groups check one field at a time; every rule that combines
fields only grows (or only shrinks) with each field, so a whole grid is valid
when each axis value passes on its own and the corners pass
(:meth:`Parameters.check_grid`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import ParameterError
from rejuv.model.migration import MigrationProfile
from rejuv.model.symbols import SYMBOLS, Kind, describe, lookup
from rejuv.model.units import format_duration

__all__ = ["NUMERIC_FIELDS", "Parameters"]

Array = NDArray[np.float64]

#: Names of the numeric fields, in symbol-table order.
NUMERIC_FIELDS: tuple[str, ...] = tuple(symbol.name for symbol in SYMBOLS)
#: Names of the Table 1 profile fields (not in the symbol table: they are curves, not numbers).
PROFILE_FIELDS: tuple[str, ...] = (
    "stop_and_copy_profile",
    "live_migration_profile",
    "live_migration_profile_rate_control",
)


def _show(name: str, value: float) -> str:
    return format_duration(value) if lookup(name).kind is Kind.DURATION else f"{value:g}"


def _first(value: Array, bad: NDArray[np.bool_]) -> float:
    """``value`` at the first point where ``bad`` holds (the two broadcast together)."""
    return float(np.broadcast_to(value, np.broadcast_shapes(np.shape(value), np.shape(bad)))[bad].flat[0])


def _fail_where(name: str, bad: NDArray[np.bool_], value: Array, rule: str, note: str = "") -> None:
    """Raise ``<name>: <rule>, got <value><note>`` for the first point where ``bad`` holds, if any."""
    if np.any(bad):
        raise ParameterError(describe(name), f"{rule}, got {_show(name, _first(value, bad))}{note}")


def _check_field(name: str, value: Array) -> None:
    """The rules on one field alone: finite, in its range, n whole, p and intervals positive."""
    _fail_where(name, ~np.isfinite(value), value, "must be a finite number")
    kind = lookup(name).kind
    if kind is Kind.RATE:
        _fail_where(name, (value < 0) | (value > 1), value, "must be in [0, 1]")
    elif kind is Kind.DURATION:
        _fail_where(name, value < 0, value, "must be >= 0 s")
    if name == "vms_per_host":
        _fail_where(name, (value < 1) | (value != np.round(value)), value, "must be a whole number >= 1")
    elif name in ("host_throughput", "vmm_interval", "os_interval"):
        _fail_where(name, value <= 0, value, "must be > 0")


@dataclass(frozen=True, eq=False)
class Parameters:
    """A validated parameter set of the cluster model (see the symbol table).

    Build one with :func:`rejuv.model.load_preset` and change it with
    :meth:`replace`; constructing it directly is for code that has every value.
    Raises :class:`~rejuv.errors.ParameterError` naming the field for any
    invalid value.
    """

    vms_per_host: Array
    host_throughput: Array
    vmm_interval: Array
    os_interval: Array
    warm_reboot_downtime: Array
    warm_reboot_degradation: Array
    warm_reboot_degraded_period: Array
    cold_reboot_downtime: Array
    cold_reboot_degradation: Array
    cold_reboot_degraded_period: Array
    os_downtime: Array
    os_degradation: Array
    os_degraded_period: Array
    migration_downtime: Array
    live_migration_time: Array
    live_migration_time_rate_control: Array
    stop_and_copy_profile: MigrationProfile
    live_migration_profile: MigrationProfile
    live_migration_profile_rate_control: MigrationProfile
    migration_degradation: Array | None = None
    live_migration_degradation: Array | None = None
    live_migration_degradation_rate_control: Array | None = None

    def __post_init__(self) -> None:
        for name in NUMERIC_FIELDS:
            raw = getattr(self, name)
            if raw is None:
                if not lookup(name).optional:
                    raise ParameterError(describe(name), "missing")
                continue
            try:
                value = np.array(raw, dtype=np.float64)
            except (TypeError, ValueError) as err:
                raise ParameterError(describe(name), f"must be a number, got {raw!r}") from err
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        self._validate()

    # -- checks -------------------------------------------------------------

    def _validate(self) -> None:
        for name in NUMERIC_FIELDS:
            value = getattr(self, name)
            if value is not None:
                _check_field(name, value)
        self._check_combinations()

    def _check_combinations(self) -> None:
        """The rules that combine fields; each holds for all values if it holds for the extreme ones."""
        n = self.vms_per_host
        vmm, os_ = self.vmm_interval, self.os_interval
        below_vmm = {
            "warm_reboot_downtime": self.warm_reboot_downtime,
            "cold_reboot_downtime": self.cold_reboot_downtime,
            "migration_downtime": self.migration_downtime * n,
            "live_migration_time": self.live_migration_time,
            "live_migration_time_rate_control": self.live_migration_time_rate_control,
        }
        for name, value in below_vmm.items():
            bad = value >= vmm
            if not np.any(bad):
                continue
            limit = f"must stay below T_vmm ({_show('vmm_interval', _first(vmm, bad))})"
            if name == "migration_downtime":
                whole = f" (n D_m = {_show(name, _first(value, bad))})"
                _fail_where(name, bad, getattr(self, name), f"times n (M_t, the whole stop-and-copy) {limit}", whole)
            _fail_where(name, bad, value, limit)
        bad = self.os_downtime >= os_
        if np.any(bad):
            _fail_where(
                "os_downtime", bad, self.os_downtime, f"must stay below T_os ({_show('os_interval', _first(os_, bad))})"
            )

        os_share = (self.os_downtime + self.os_degraded_period) / os_
        bad = os_share >= 1
        if np.any(bad):
            limit = _show("os_interval", _first(os_, bad))
            _fail_where(
                "os_degraded_period", bad, self.os_degraded_period, f"D_os + R_os must stay below T_os ({limit})"
            )
        vmm_activity = {
            "warm_reboot_degraded_period": self.warm_reboot_downtime + self.warm_reboot_degraded_period,
            "cold_reboot_degraded_period": self.cold_reboot_downtime + self.cold_reboot_degraded_period,
            "migration_downtime": self.migration_downtime * n,
            "live_migration_time": self.live_migration_time,
            "live_migration_time_rate_control": self.live_migration_time_rate_control,
        }
        for name, busy in vmm_activity.items():
            vmm_share = busy / vmm
            overlap = vmm_share + os_share > 1
            if np.any(overlap):
                _fail_where(
                    name,
                    overlap,
                    getattr(self, name),
                    "the VMM rejuvenation (downtime + degraded period, per T_vmm) and the OS "
                    "rejuvenations ((D_os + R_os) per T_os) add up to more than the whole time "
                    f"({_first(vmm_share, overlap):.2%} + {_first(os_share, overlap):.2%}); "
                    "the model assumes they never overlap",
                )

    # -- use ----------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The broadcast shape of all numeric fields (``()`` for one cluster)."""
        arrays = [getattr(self, name) for name in NUMERIC_FIELDS if getattr(self, name) is not None]
        return tuple(np.broadcast_shapes(*(a.shape for a in arrays)))

    def replace(self, **changes: Any) -> Parameters:
        """A copy with some fields changed; keys may be names or paper symbols.

        Values are numbers or arrays in base units (seconds, req/s, fractions);
        use :func:`rejuv.model.apply_overrides` for text such as ``"59s"``.
        Raises :class:`~rejuv.errors.UnknownParameterError` for an unknown key.
        """
        named: dict[str, Any] = {}
        for key, value in changes.items():
            named[key if key in PROFILE_FIELDS else lookup(key).name] = value
        return dataclasses.replace(self, **named)

    def check_grid(self, axes: Mapping[str, Array]) -> None:
        """Raise :class:`~rejuv.errors.ParameterError` unless every point of the Cartesian product of ``axes`` is valid.

        ``axes`` maps descriptive field names to 1-D float64 arrays that
        replace those fields; the product is never built. Each axis value is
        checked on its own, then the 2^k corners (each axis reduced to its
        smallest and largest value, along a dimension of its own) are checked
        whole. The corners suffice because, once each field passes on its own,
        every rule that combines fields compares sums and products of
        non-negative times over positive intervals with a bound, so it only
        grows or only shrinks with each field (float rounding keeps that order).
        """
        if any(values.size == 0 for values in axes.values()):
            return  # an empty product has no point to check
        dimensions = len(axes) + len(self.shape)  # the axes' corners ahead of this set's own dimensions
        corners: dict[str, Array] = {}
        for k, (name, values) in enumerate(axes.items()):
            _check_field(name, values)
            extremes = np.array([values.min(), values.max()])
            corners[name] = extremes.reshape((1,) * k + (2,) + (1,) * (dimensions - k - 1))
        self.replace(**corners)

    def _with_checked_values(self, **named: Array) -> Parameters:
        """A copy with some fields (descriptive names) set to float64 arrays, running no check.

        Only for values known to be valid here: cut from this set or from a
        grid that :meth:`check_grid` passed, or computed and checked (γ).
        Everything else goes through :meth:`replace`.
        """
        fields = dict(self.__dict__)
        for name, value in named.items():
            array = np.asarray(value, dtype=np.float64)
            if array.flags.writeable:  # a read-only view; the caller's array stays as it was
                array = array.view()
                array.flags.writeable = False
            fields[name] = array
        copy = object.__new__(Parameters)
        copy.__dict__.update(fields)
        return copy

    def point(self, index: tuple[int, ...]) -> Parameters:
        """The single parameter set at ``index`` of the broadcast shape."""
        shape = self.shape
        picked: dict[str, Any] = {}
        for name in NUMERIC_FIELDS:
            value = getattr(self, name)
            if value is not None:
                picked[name] = np.broadcast_to(value, shape)[index]
        return dataclasses.replace(self, **picked)

    def points(self) -> Iterator[tuple[tuple[int, ...], Parameters]]:
        """Every single parameter set of a grid, with its index."""
        for index in np.ndindex(*self.shape):
            yield index, self.point(index)

    def as_dict(self) -> dict[str, Any]:
        """Numeric fields as Python floats or lists (None when unset), by descriptive name."""
        out: dict[str, Any] = {}
        for name in NUMERIC_FIELDS:
            value = getattr(self, name)
            out[name] = None if value is None else value.tolist()
        return out
