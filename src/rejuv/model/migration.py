"""Throughput while VMs migrate, and the degradation rates gamma and gamma' it implies.

While the i-th of n VMs moves to the spare host, n - i VMs still run on the
source and i - 1 already run on the destination. With the per-VM throughputs
V_s(i), V_d(i), the moving VM's V_m(i) (live migration only) and the move
time M(i), M_t = sum_i M(i), the paper defines (Section 3.3):

stop-and-copy::

    V_c   = sum_{i=1..n} (M(i) / M_t) ((n - i) V_s(i) + (i - 1) V_d(i))
    gamma = 1 - V_c / (((n - 1) / n) p)

live migration::

    V'_c   = sum_{i=1..n} (M(i) / M_t) ((n - i) V_s(i) + V_m(i) + (i - 1) V_d(i))
    gamma' = 1 - V'_c / p

Table 1's throughputs are req/s of the host the curves were measured on; a
profile that knows that host's per-VM load (``load``: p / n there, set when
a preset or parameter file is read) scales them to another host's p / n, so
gamma and gamma' at n do not depend on p. Without it they are taken as they are.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rejuv.errors import ParameterError
from rejuv.model.curves import Curve

__all__ = ["MigrationProfile", "migration_degradation", "raw_migration_degradation"]

_CURVES = {
    "source_throughput": "V_s",
    "moving_throughput": "V_m",
    "destination_throughput": "V_d",
    "move_time": "M",
}


@dataclass(frozen=True)
class MigrationProfile:
    """The Table 1 row of one migration method: per-VM throughputs (req/s) and move times (s).

    ``moving_throughput`` is None for stop-and-copy, where the moving VM is stopped.
    """

    name: str
    source_throughput: Curve
    destination_throughput: Curve
    move_time: Curve
    moving_throughput: Curve | None = None
    #: req/s per VM (p / n) of the host the curves were measured on; None: use the throughputs as they are
    load: float | None = None

    def load_factor(self, vms_per_host: ArrayLike, host_throughput: ArrayLike) -> NDArray[np.float64]:
        """What the throughputs are multiplied by on a host of n VMs and p req/s: (p / n) / :attr:`load`, or 1."""
        if self.load is None:
            return np.ones(np.broadcast_shapes(np.shape(vms_per_host), np.shape(host_throughput)))
        per_vm = np.asarray(host_throughput, np.float64) / np.asarray(vms_per_host, np.float64)
        factor: NDArray[np.float64] = per_vm / self.load
        return factor

    @property
    def is_live(self) -> bool:
        """Live migration: the moving VM keeps serving, at V_m(i)."""
        return self.moving_throughput is not None

    @classmethod
    def from_data(cls, name: str, data: Mapping[str, Any]) -> MigrationProfile:
        """Read a profile from a preset table with keys ``source_throughput`` etc."""
        unknown = sorted(set(data) - set(_CURVES))
        if unknown:
            raise ParameterError(f"{name}.{unknown[0]}", f"unknown curve; expected one of {', '.join(_CURVES)}")
        curves = {key: Curve.from_data(f"{name}.{key}", value) for key, value in data.items()}  # each checked
        for key in ("source_throughput", "destination_throughput", "move_time"):
            if key not in data:
                raise ParameterError(f"{name}.{key}", f"missing ({_CURVES[key]}(i) of Table 1)")
        return cls(
            name,
            curves["source_throughput"],
            curves["destination_throughput"],
            curves["move_time"],
            curves.get("moving_throughput"),
        )

    def to_data(self) -> dict[str, Any]:
        """The inverse of :meth:`from_data`."""
        out = {key: getattr(self, key) for key in _CURVES}
        return {key: curve.to_data() for key, curve in out.items() if curve is not None}

    def table(self, vms_per_host: int) -> dict[str, NDArray[np.float64]]:
        """Values of every curve at i = 1..n: the measured Table 1 of this method.

        V_d(1) is reported as NaN: no VM is on the destination yet, so it never matters.
        Raises :class:`ParameterError` if a curve does not cover 1..n, a move
        time is not positive, or a throughput is negative.
        """
        index = np.arange(1, vms_per_host + 1, dtype=np.int64)
        rows: dict[str, NDArray[np.float64]] = {"i": index.astype(np.float64)}
        for key, symbol in _CURVES.items():
            curve: Curve | None = getattr(self, key)
            if curve is None:
                continue
            field = f"{self.name}.{key} ({symbol}(i))"
            where = index[1:] if key == "destination_throughput" else index
            values = curve.evaluate(field, where)
            bad = values <= 0 if key == "move_time" else values < 0
            if bad.any():
                first = int(where[bad][0])
                need = "positive" if key == "move_time" else "non-negative"
                raise ParameterError(
                    field, f"must be {need} for i = 1..{vms_per_host}, got {values[bad][0]:g} at i = {first}"
                )
            rows[key] = np.concatenate(([np.nan], values)) if key == "destination_throughput" else values
        return rows

    def total_time(self, vms_per_host: int) -> float:
        """M_t = sum_i M(i): the fitted time to move all n VMs, in seconds."""
        return float(self.table(vms_per_host)["move_time"].sum())


def migration_degradation(
    profile: MigrationProfile, vms_per_host: ArrayLike, host_throughput: ArrayLike
) -> NDArray[np.float64]:
    """gamma (stop-and-copy) or gamma' (live), broadcast over n and p.

    Raises :class:`ParameterError` if the profile is not defined on 1..n or
    the result falls outside [0, 1] (:func:`raw_migration_degradation` gives it unchecked).
    """
    rate = raw_migration_degradation(profile, vms_per_host, host_throughput)
    if not (np.min(rate) >= 0 and np.max(rate) <= 1):  # NaN fails too
        outside = ~((rate >= 0) & (rate <= 1))
        symbol = "gamma'" if profile.is_live else "gamma"
        bad = float(np.broadcast_to(rate, outside.shape)[outside].flat[0])
        raise ParameterError(
            f"{profile.name} ({symbol})",
            f"computed {bad:.3g} from its throughput functions and p; must be in [0, 1] "
            "(the functions describe more or less throughput than the host has)",
        )
    return rate


def raw_migration_degradation(
    profile: MigrationProfile, vms_per_host: ArrayLike, host_throughput: ArrayLike
) -> NDArray[np.float64]:
    """gamma or gamma' as the throughput functions and p give it, not checked against [0, 1].

    A measured profile's estimate can fall just outside the range by noise: a
    fit weighs it against its uncertainty (:mod:`rejuv.trace.migration_fit`).
    The sums over i = 1..n depend only on the profile and n: they are prefix
    sums up to max(n), computed once per profile and max(n) and kept, so an
    array of host sizes costs one look-up. Raises :class:`ParameterError` if
    the profile is not defined on 1..n.
    """
    n = np.asarray(vms_per_host, dtype=np.int64)
    p = np.asarray(host_throughput, dtype=np.float64)
    served = _served_by_n(profile, int(n.max()))
    if p.ndim == 0:  # then gamma depends on n alone: compute it for each n once and look it up
        return _rate(profile, served, np.arange(1, len(served) + 1, dtype=np.int64), p)[n - 1]
    return _rate(profile, served[n - 1], n, p)


@functools.lru_cache(maxsize=64)
def _served_by_n(profile: MigrationProfile, largest: int) -> NDArray[np.float64]:
    """V_c (or V'_c) for n = 1..largest, read-only: entry n - 1 is the weighted sum over i = 1..n."""
    rows = profile.table(largest)
    index, move = rows["i"], rows["move_time"]
    source = rows["source_throughput"]
    destination = np.nan_to_num(rows["destination_throughput"])
    moving = rows.get("moving_throughput", np.zeros_like(index))
    # sum M(i) ((n - i) V_s + (i - 1) V_d + V_m) = n S1 - S2 + S3, as prefix sums over i.
    weight_total = np.cumsum(move)
    by_n = np.cumsum(move * source)
    fixed = np.cumsum(move * (-index * source + (index - 1) * destination + moving))
    served: NDArray[np.float64] = (index * by_n + fixed) / weight_total
    served.flags.writeable = False
    return served


def _rate(
    profile: MigrationProfile, served: NDArray[np.float64], n: NDArray[np.int64], p: NDArray[np.float64]
) -> NDArray[np.float64]:
    """1 - V_c / (((n - 1) / n) p) (stop-and-copy) or 1 - V'_c / p (live), elementwise."""
    served = served * profile.load_factor(n, p)  # the curves' throughputs at this host's per-VM load
    ceiling = p if profile.is_live else p * (n - 1) / n
    with np.errstate(divide="ignore", invalid="ignore"):  # n = 1: no ceiling; refused if it is asked for
        rate: NDArray[np.float64] = 1.0 - served / ceiling
    return rate
