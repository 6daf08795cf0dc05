"""The model's parameters: one frozen, validated value per paper symbol.

Every numeric field is a read-only float64 numpy array (0-d for a scalar), so
a parameter set can stand for one cluster or for a whole grid of them: fields
broadcast against each other and against host counts. Field names, units and
paper symbols come from :mod:`rejuv.model.symbols`. The paper's parameters
are typed fields; a registered strategy's own parameters (symbols it brings)
live in :attr:`Parameters.extra`, by descriptive name, and every method here
(:meth:`~Parameters.replace`, validation, :meth:`~Parameters.point`,
:meth:`~Parameters.as_dict`, :meth:`~Parameters.scalar`) treats them alike.

Checks made when a set is built (each failure names the field):

- every value is finite; n is a whole number >= 1; p > 0; intervals > 0;
  other times >= 0; rates (ω, ω', δ, γ, γ') in [0, 1];
- each downtime lies below its interval (D_w, D_c, n D_m, M_l < T_vmm; D_os < T_os),
  as each strategy states it (:class:`Occupancy`);
- a VMM rejuvenation and the OS rejuvenations fit in the time they share:
  (VMM downtime + degraded period) / T_vmm + (D_os + R_os) / T_os <= 1.
  The model never lets them overlap, and this keeps 0 <= P / (m p) <= 1.

D_w(n) and D_c(n) are proportional to n, as the paper has them: changing n
alone (:meth:`Parameters.replace`, ``--set n=22``, a grid over n) scales them
by new n / old n; a change that gives them too takes them as given, for that n.

The first two groups check one field at a time; every rule that combines
fields only grows (or only shrinks) with each field, so a whole grid is valid
when each axis value passes on its own and the corners pass
(:meth:`Parameters.check_grid`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import ParameterError
from rejuv.model.migration import MigrationProfile
from rejuv.model.symbols import SYMBOLS, Kind, all_symbols, describe, is_registered, lookup
from rejuv.model.units import format_duration

__all__ = [
    "NUMERIC_FIELDS",
    "Occupancy",
    "Parameters",
    "ScalarParameters",
    "add_occupancy_rule",
    "check_value",
    "remove_occupancy_rule",
]

Array = NDArray[np.float64]

#: Names of the numeric fields, in symbol-table order.
NUMERIC_FIELDS: tuple[str, ...] = tuple(symbol.name for symbol in SYMBOLS)


@dataclass(frozen=True)
class Occupancy:
    """What one VMM rejuvenation of a strategy takes of T_vmm, for the rules that combine fields.

    ``length`` (blamed on ``length_field``) must stay below T_vmm; where it is
    a multiple of that field (n D_m), ``length_label`` names it and
    ``length_rule`` says how. ``busy`` (downtime + degraded period, blamed on
    ``busy_field``) over T_vmm plus (D_os + R_os) / T_os must stay <= 1.
    """

    length_field: str
    length: Array
    busy_field: str
    busy: Array
    length_label: str = ""  #: ``n D_m``: how ``length`` is made from its field, if not the field itself
    length_rule: str = ""  #: what that means, before "must stay below T_vmm"


#: Each registered strategy's occupancy rule, by strategy key (None: a value it needs is unset).
_OCCUPANCY_RULES: dict[str, Callable[[Parameters], Occupancy | None]] = {}


def add_occupancy_rule(key: str, rule: Callable[[Parameters], Occupancy | None]) -> None:
    """Check every parameter set built from now on against strategy ``key``'s occupancy."""
    _OCCUPANCY_RULES[key] = rule


def remove_occupancy_rule(key: str) -> None:
    """Stop checking strategy ``key``'s occupancy (it is no longer registered)."""
    _OCCUPANCY_RULES.pop(key, None)


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


def check_value(key: str, value: float) -> None:
    """Check one value alone against its parameter's range (by symbol or name): finite, in [0, 1] for a rate...

    The rules on a field by itself, not those that combine fields. Raises
    :class:`~rejuv.errors.ParameterError` ``<name (symbol)>: <rule>, got <value>``.
    """
    name = lookup(key).name
    _check_field(name, _as_value(name, value))


def _as_value(name: str, raw: Any) -> Array:
    """``raw`` as a read-only float64 array; raise :class:`ParameterError` naming ``name`` if it is not a number."""
    try:
        value = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ParameterError(describe(name), f"must be a number, got {raw!r}") from err
    value.flags.writeable = False
    return value


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
    #: registered strategies' own parameters, by descriptive name (see :func:`rejuv.model.register`)
    extra: Mapping[str, Array] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in NUMERIC_FIELDS:
            raw = getattr(self, name)
            if raw is None:
                if not lookup(name).optional:
                    raise ParameterError(describe(name), "missing")
                continue
            object.__setattr__(self, name, _as_value(name, raw))
        extra: dict[str, Array] = {}
        for key, raw in self.extra.items():
            name = lookup(key).name
            if not is_registered(name):
                raise ParameterError(describe(name), "a paper parameter goes in its own field, not in extra")
            extra[name] = _as_value(name, raw)
        object.__setattr__(self, "extra", extra)
        self._validate()

    def _value(self, name: str) -> Array | None:
        """The value of the numeric field or registered parameter ``name`` (descriptive), None if unset."""
        if name in self.extra:
            return self.extra[name]
        value: Array | None = getattr(self, name, None) if name in NUMERIC_FIELDS else None
        return value

    def value(self, key: str) -> Array | None:
        """A numeric value by paper symbol or descriptive name, the paper's or a registered strategy's (None: unset).

        Raises :class:`~rejuv.errors.UnknownParameterError` for an unknown key.
        """
        return self._value(lookup(key).name)

    def required(self, key: str) -> Array:
        """:meth:`value` for a value that must be set; raises :class:`~rejuv.errors.ParameterError` ``<name>: missing``."""
        value = self.value(key)
        if value is None:
            raise ParameterError(describe(key), "missing")
        return value

    def _numeric(self) -> Iterator[tuple[str, Array]]:
        """Every set numeric value, the paper's fields then the registered ones, by descriptive name."""
        for name in NUMERIC_FIELDS:
            value = getattr(self, name)
            if value is not None:
                yield name, value
        yield from self.extra.items()

    # -- checks -------------------------------------------------------------

    def _validate(self) -> None:
        for name, value in self._numeric():
            _check_field(name, value)
        self._check_combinations()

    def _check_combinations(self) -> None:
        """The rules that combine fields; each holds for all values if it holds for the extreme ones.

        What each strategy's VMM rejuvenation occupies comes from the strategy
        itself (:func:`add_occupancy_rule`), in the order strategies were registered.
        """
        vmm, os_ = self.vmm_interval, self.os_interval
        occupancies = [o for o in (rule(self) for rule in _OCCUPANCY_RULES.values()) if o is not None]
        for item in occupancies:
            bad = item.length >= vmm
            if not np.any(bad):
                continue
            limit = f"must stay below T_vmm ({_show('vmm_interval', _first(vmm, bad))})"
            if item.length_label:
                whole = f" ({item.length_label} = {_show(item.length_field, _first(item.length, bad))})"
                own = self.required(item.length_field)
                _fail_where(item.length_field, bad, own, f"{item.length_rule}{limit}", whole)
            _fail_where(item.length_field, bad, item.length, limit)
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
        for item in occupancies:
            vmm_share = item.busy / vmm
            overlap = vmm_share + os_share > 1
            if np.any(overlap):
                _fail_where(
                    item.busy_field,
                    overlap,
                    self.required(item.busy_field),
                    "the VMM rejuvenation (downtime + degraded period, per T_vmm) and the OS "
                    "rejuvenations ((D_os + R_os) per T_os) add up to more than the whole time "
                    f"({_first(vmm_share, overlap):.2%} + {_first(os_share, overlap):.2%}); "
                    "the model assumes they never overlap",
                )

    # -- use ----------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The broadcast shape of all numeric values (``()`` for one cluster)."""
        return tuple(np.broadcast_shapes(*(value.shape for _, value in self._numeric())))

    def scalar(self, purpose: str = "this", hint: str = "") -> ScalarParameters:
        """This one parameter set as plain floats (:class:`ScalarParameters`).

        Raises :class:`~rejuv.errors.ParameterError` ``parameters: <purpose>
        takes one parameter set, got a grid of shape (…)<hint>`` for a grid.
        """
        if self.shape != ():
            raise ParameterError(
                "parameters", f"{purpose} takes one parameter set, got a grid of shape {self.shape}{hint}"
            )
        return ScalarParameters(self)

    def _named(self, changes: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``changes`` split into dataclass fields and registered parameters, by descriptive name."""
        fields: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in changes.items():
            if key in PROFILE_FIELDS:
                fields[key] = value
                continue
            name = lookup(key).name
            (extra if is_registered(name) else fields)[name] = value
        return fields, extra

    def replace(self, **changes: Any) -> Parameters:
        """A copy with some values changed; keys may be names or paper symbols, the paper's or a registered strategy's.

        Values are numbers or arrays in base units (seconds, req/s, fractions);
        use :func:`rejuv.model.apply_overrides` for text such as ``"59s"``.
        Raises :class:`~rejuv.errors.UnknownParameterError` for an unknown key.
        """
        fields, extra = self._named(changes)
        for name, value in self._follow_n({**fields, **extra}).items():
            (extra if is_registered(name) else fields)[name] = value
        if extra:
            fields["extra"] = {**self.extra, **extra}
        return dataclasses.replace(self, **fields)

    def _follow_n(self, named: Mapping[str, Any]) -> dict[str, Array]:
        """The per-VM values (D_w(n), D_c(n)) scaled to the new n in ``named``, those ``named`` does not set itself.

        The paper's D_w(n) and D_c(n) are proportional to n: a value given for n
        alone carries each of them to D (new n) / (old n). Raises
        :class:`~rejuv.errors.ParameterError` naming n if the new n is not a number.
        """
        if "vms_per_host" not in named:
            return {}
        ratio = _as_value("vms_per_host", named["vms_per_host"]) / self.vms_per_host
        scaled = {}
        for entry in all_symbols():
            value = self._value(entry.name)
            if entry.per_vm and entry.name not in named and value is not None:
                scaled[entry.name] = value * ratio
        return scaled

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
        """A copy with some values (descriptive names) set to float64 arrays, running no check.

        Only for values known to be valid here: cut from this set or from a
        grid that :meth:`check_grid` passed, or computed and checked (γ).
        Everything else goes through :meth:`replace`.
        """
        fields = dict(self.__dict__)
        extra = dict(self.extra)
        for name, value in named.items():
            array = np.asarray(value, dtype=np.float64)
            if array.flags.writeable:  # a read-only view; the caller's array stays as it was
                array = array.view()
                array.flags.writeable = False
            if is_registered(name):
                extra[name] = array
            else:
                fields[name] = array
        fields["extra"] = extra
        copy = object.__new__(Parameters)
        copy.__dict__.update(fields)
        return copy

    def point(self, index: tuple[int, ...]) -> Parameters:
        """The single parameter set at ``index`` of the broadcast shape."""
        shape = self.shape
        picked = {name: np.broadcast_to(value, shape)[index] for name, value in self._numeric()}
        fields, extra = self._named(picked)
        return dataclasses.replace(self, **fields, extra=extra)

    def points(self) -> Iterator[tuple[tuple[int, ...], Parameters]]:
        """Every single parameter set of a grid, with its index."""
        for index in np.ndindex(*self.shape):
            yield index, self.point(index)

    def as_dict(self) -> dict[str, Any]:
        """Numeric values as Python floats or lists (None when unset), by descriptive name; registered ones last."""
        out: dict[str, Any] = {}
        for name in NUMERIC_FIELDS:
            value = getattr(self, name)
            out[name] = None if value is None else value.tolist()
        out |= {name: value.tolist() for name, value in self.extra.items()}
        return out


#: Names of the Table 1 profile fields (not in the symbol table: they are curves, not numbers).
PROFILE_FIELDS: tuple[str, ...] = tuple(
    item.name for item in dataclasses.fields(Parameters) if item.name not in NUMERIC_FIELDS and item.name != "extra"
)


class ScalarParameters:
    """One parameter set as plain floats: ``point.vmm_interval`` is T_vmm in seconds, a ``float``.

    Get one with :meth:`Parameters.scalar`, which refuses a grid. Every
    numeric value, the paper's and a registered strategy's, reads as an
    attribute by descriptive name or with ``point["D_w"]`` by symbol or name;
    an optional value that is unset (γ) reads as None only through
    :meth:`get`. The Table 1 profiles stay on :attr:`parameters`.
    """

    __slots__ = ("_values", "parameters")

    def __init__(self, parameters: Parameters) -> None:
        self.parameters = parameters  #: the parameter set this views
        self._values = {name: float(value) for name, value in parameters._numeric()}

    def get(self, key: str) -> float | None:
        """The value of ``key`` (symbol or name) as a float, None if unset.

        Raises :class:`~rejuv.errors.UnknownParameterError` for an unknown key.
        """
        return self._values.get(lookup(key).name)

    def __getitem__(self, key: str) -> float:
        """The value of ``key`` (symbol or name); raises :class:`~rejuv.errors.ParameterError` if it is unset."""
        value = self.get(key)
        if value is None:
            raise ParameterError(describe(key), "missing")
        return value

    def __getattr__(self, name: str) -> float:
        if name.startswith("_"):  # not a parameter; also keeps a half-built copy from recursing into _values
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            if name in NUMERIC_FIELDS or is_registered(name):
                raise ParameterError(describe(name), "missing") from None
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"ScalarParameters({self._values!r})"
