"""The cluster model in plain Python: the independent reference for the vectorised model.

Written again from the paper's equations (K. Kourai, "Comparison of cluster
performance under VMM software rejuvenation", Section 3; restated in
``/work/shared/paper/README.md``) with floats and :mod:`math` only: no numpy,
and nothing from :mod:`rejuv.model` but the Table 1 curve data it reads.
Each function returns the normalized total throughput P / (m p) of one
parameter point on a cluster of m hosts::

    Warm-VM Reboot   N_w = (T_vmm - D_w) / T_os
                     A_w = 1 - (D_w + N_w D_os) / T_vmm                                (1)
                     P_w / (m p) = A_w - (ω R_vmm + N_w δ R_os) / T_vmm                (2)
    Cold-VM Reboot   N_c = (T_vmm - D_c) / T_os, ⌊N_c⌋ = 0 when T_vmm <= T_os
                     A_c = 1 - (D_c + ⌊N_c⌋ D_os) / T_vmm                              (3)
                     P_c / (m p) = A_c - (ω' R'_vmm + ⌊N_c⌋ δ R_os) / T_vmm            (4)
    stop-and-copy    N_m = (T_vmm - D_m) / T_os
                     A_m = 1 - (D_m + N_m D_os) / T_vmm
                     P_m / (m p) = (A_m - (γ (n-1) D_m + N_m δ R_os) / T_vmm) (m-1)/m  (5)
    live migration   N_l = T_vmm / T_os
                     A_l = 1 - N_l D_os / T_vmm
                     P_l / (m p) = (A_l - (γ' M_l + N_l δ R_os) / T_vmm) (m-1)/m       (6)

with γ and γ' (when a point does not set them) summed over i = 1..n from the
per-VM functions V_s, V_m, V_d and M of Table 1 (Section 3.3)::

    γ  = 1 - [sum_i (M(i)/M_t) ((n-i) V_s(i) + (i-1) V_d(i))] / (((n-1)/n) p)
    γ' = 1 - [sum_i (M(i)/M_l) ((n-i) V_s(i) + V_m(i) + (i-1) V_d(i))] / p

(each throughput times (p / n) / load where the profile gives the per-VM load it was measured at)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KEYS",
    "Point",
    "Profile",
    "ScalarModel",
    "degradation",
    "live_migration",
    "stop_and_copy",
    "cold_reboot",
    "warm_reboot",
]

#: The strategies in the order of ``rejuv.model.STRATEGIES``.
KEYS: tuple[str, ...] = ("warm", "cold", "migration", "live", "live_rate_control")

PerVm = Callable[[int], float]  # one Table 1 function of the migration index i
_RATE_FIELDS = {
    "migration": "migration_degradation",
    "live": "live_migration_degradation",
    "live_rate_control": "live_migration_degradation_rate_control",
}


@dataclass(frozen=True, slots=True)
class Point:
    """One parameter set as Python floats, by the model's descriptive names (s, req/s, fractions).

    The three γ are None when they are to be computed from Table 1.
    """

    vms_per_host: int
    host_throughput: float
    vmm_interval: float
    os_interval: float
    warm_reboot_downtime: float
    warm_reboot_degradation: float
    warm_reboot_degraded_period: float
    cold_reboot_downtime: float
    cold_reboot_degradation: float
    cold_reboot_degraded_period: float
    os_downtime: float
    os_degradation: float
    os_degraded_period: float
    migration_downtime: float
    live_migration_time: float
    live_migration_time_rate_control: float
    migration_degradation: float | None = None
    live_migration_degradation: float | None = None
    live_migration_degradation_rate_control: float | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Point:
        """A point from ``{name: number or None}``, as ``Parameters.as_dict()`` gives for one set."""
        fields = {name: values[name] for name in cls.__dataclass_fields__}
        n = float(fields.pop("vms_per_host"))
        if n != int(n):
            raise ValueError(f"vms_per_host must be a whole number, got {n}")
        rest: dict[str, Any] = {name: None if value is None else float(value) for name, value in fields.items()}
        return cls(vms_per_host=int(n), **rest)


# -- Table 1 curves, evaluated in plain Python ------------------------------------


def _piece_function(piece: Any) -> Callable[[int], float]:
    form = piece.form.value
    if form == "linear":
        slope, intercept = float(piece.slope), float(piece.intercept)
        return lambda i: slope * i + intercept
    if form == "exponential":
        slope, intercept = float(piece.slope), float(piece.intercept)
        return lambda i: math.exp(slope * i + intercept)
    if form == "constant":
        value = float(piece.value)
        return lambda i: value
    raise ValueError(f"unknown piece form {form!r}")


def curve_function(curve: Any) -> PerVm:
    """A Table 1 curve (``rejuv.model.Curve``) as a function of i: the first piece covering i wins."""
    pieces = [
        (int(piece.first), math.inf if piece.last is None else int(piece.last), _piece_function(piece))
        for piece in curve.pieces
    ]

    def value(i: int) -> float:
        for first, last, function in pieces:
            if first <= i <= last:
                return function(i)
        raise ValueError(f"no piece covers i = {i}")

    return value


@dataclass(frozen=True)
class Profile:
    """One row of Table 1 as plain functions of i; ``moving`` is None for stop-and-copy."""

    source: PerVm
    destination: PerVm
    move: PerVm
    moving: PerVm | None = None
    load: float | None = None  # p / n of the host the functions were measured on: they scale to p / n from there

    @classmethod
    def from_migration_profile(cls, profile: Any) -> Profile:
        """Read the pieces of a ``rejuv.model.MigrationProfile`` (its data only, not its methods)."""
        moving = profile.moving_throughput
        return cls(
            source=curve_function(profile.source_throughput),
            destination=curve_function(profile.destination_throughput),
            move=curve_function(profile.move_time),
            moving=None if moving is None else curve_function(moving),
            load=profile.load,
        )


def degradation(profile: Profile, n: int, p: float) -> float:
    """γ (stop-and-copy, ``profile.moving`` None) or γ' (live): the paper's sums, term by term."""
    total = 0.0  # M_t (stop-and-copy) or M_l (live): sum_i M(i)
    for i in range(1, n + 1):
        total += profile.move(i)
    served = 0.0  # V_c or V'_c
    for i in range(1, n + 1):
        rate = (n - i) * profile.source(i)
        if i > 1:  # V_d(1) never matters: no VM is on the destination yet
            rate += (i - 1) * profile.destination(i)
        if profile.moving is not None:
            rate += profile.moving(i)
        served += profile.move(i) / total * rate
    if profile.load is not None:  # every throughput scaled from the measured host's p / n to this one's
        served *= p / n / profile.load
    ceiling = p if profile.moving is not None else (n - 1) / n * p
    return 1.0 - served / ceiling


# -- the five strategies, equations (1) to (6) ------------------------------------


def warm_reboot(x: Point) -> float:
    """P_w / (m p), equations (1) and (2); it does not depend on m."""
    count = (x.vmm_interval - x.warm_reboot_downtime) / x.os_interval
    availability = 1.0 - (x.warm_reboot_downtime + count * x.os_downtime) / x.vmm_interval
    loss = x.warm_reboot_degradation * x.warm_reboot_degraded_period + count * x.os_degradation * x.os_degraded_period
    return availability - loss / x.vmm_interval


def cold_reboot(x: Point) -> float:
    """P_c / (m p), equations (3) and (4), with ⌊N_c⌋ = 0 when T_vmm <= T_os."""
    count = 0.0
    if x.vmm_interval > x.os_interval:
        count = float(math.floor((x.vmm_interval - x.cold_reboot_downtime) / x.os_interval))
    availability = 1.0 - (x.cold_reboot_downtime + count * x.os_downtime) / x.vmm_interval
    loss = x.cold_reboot_degradation * x.cold_reboot_degraded_period + count * x.os_degradation * x.os_degraded_period
    return availability - loss / x.vmm_interval


def stop_and_copy(x: Point, hosts: float, gamma: float) -> float:
    """P_m / (m p), equation (5), with γ given."""
    count = (x.vmm_interval - x.migration_downtime) / x.os_interval
    availability = 1.0 - (x.migration_downtime + count * x.os_downtime) / x.vmm_interval
    loss = gamma * (x.vms_per_host - 1) * x.migration_downtime + count * x.os_degradation * x.os_degraded_period
    return (availability - loss / x.vmm_interval) * (hosts - 1.0) / hosts


def live_migration(x: Point, hosts: float, gamma: float, migration_time: float) -> float:
    """P_l / (m p), equation (6), with γ' and M_l given (with or without rate control)."""
    count = x.vmm_interval / x.os_interval
    availability = 1.0 - count * x.os_downtime / x.vmm_interval
    loss = gamma * migration_time + count * x.os_degradation * x.os_degraded_period
    return (availability - loss / x.vmm_interval) * (hosts - 1.0) / hosts


class ScalarModel:
    """All five strategies for one point at a time, γ and γ' computed by :func:`degradation`.

    γ depends on (n, p) only, so by default each computed value is kept per
    (n, p): a grid over other parameters sums Table 1 once, as a careful
    scalar program would. With ``memoise=False`` every point sums it again.
    """

    def __init__(
        self, stop_and_copy: Profile, live: Profile, live_rate_control: Profile, *, memoise: bool = True
    ) -> None:
        self._profiles = {"migration": stop_and_copy, "live": live, "live_rate_control": live_rate_control}
        self._computed: dict[tuple[str, int, float], float] = {}
        self._memoise = memoise

    @classmethod
    def from_parameters(cls, params: Any, *, memoise: bool = True) -> ScalarModel:
        """The Table 1 profiles of a ``rejuv.model.Parameters`` (only their curve data is read)."""
        return cls(
            Profile.from_migration_profile(params.stop_and_copy_profile),
            Profile.from_migration_profile(params.live_migration_profile),
            Profile.from_migration_profile(params.live_migration_profile_rate_control),
            memoise=memoise,
        )

    def rate(self, key: str, x: Point) -> float:
        """γ (``migration``), γ' (``live``) or γ'_rc (``live_rate_control``) of ``x``: set or computed."""
        given = getattr(x, _RATE_FIELDS[key])
        return self.computed_rate(key, x) if given is None else given

    def computed_rate(self, key: str, x: Point) -> float:
        """The γ of ``key`` summed from Table 1 for the n and p of ``x`` (once per (n, p) when memoising)."""
        if not self._memoise:
            return degradation(self._profiles[key], x.vms_per_host, x.host_throughput)
        known = (key, x.vms_per_host, x.host_throughput)
        value = self._computed.get(known)
        if value is None:
            value = self._computed[known] = degradation(self._profiles[key], x.vms_per_host, x.host_throughput)
        return value

    def normalized_throughputs(self, x: Point, hosts: float) -> tuple[float, float, float, float, float]:
        """P / (m p) of every strategy, in the order of :data:`KEYS`, on ``hosts`` hosts (m >= 2)."""
        gamma = x.migration_degradation
        gamma_l = x.live_migration_degradation
        gamma_l_rc = x.live_migration_degradation_rate_control
        return (
            warm_reboot(x),
            cold_reboot(x),
            stop_and_copy(x, hosts, self.computed_rate("migration", x) if gamma is None else gamma),
            live_migration(
                x, hosts, self.computed_rate("live", x) if gamma_l is None else gamma_l, x.live_migration_time
            ),
            live_migration(
                x,
                hosts,
                self.computed_rate("live_rate_control", x) if gamma_l_rc is None else gamma_l_rc,
                x.live_migration_time_rate_control,
            ),
        )

    def evaluate_many(self, points: Iterable[Point], hosts: float) -> list[tuple[float, float, float, float, float]]:
        """:meth:`normalized_throughputs` of every point, in order: the scalar loop the benchmark times."""
        evaluate = self.normalized_throughputs
        return [evaluate(x, hosts) for x in points]
