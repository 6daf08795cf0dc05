"""The vectorised model equals the plain-Python reference of ``benchmarks/scalar_model.py``.

The reference is written again from the paper's equations (1) to (6) and the sums
that define γ and γ' (Section 3.3), with floats and ``math`` only, so agreement
to 1e-12 checks the vectorised model's algebra (prefix sums, broadcasting,
⌊N_c⌋) against a second, independent reading of the paper.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rejuv.model import STRATEGIES, Parameters, degradation_rates, load_preset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from scalar_model import KEYS, Point, Profile, ScalarModel, degradation

RTOL = 1e-12
HOUR = 3600.0
DAY = 86400.0
YEAR = 365.25 * DAY
MOST = 0.95  # the largest share of a time budget one activity takes (as in tests/strategies.py)
PAPER = load_preset()
PER_VM = 560.0 / 11.0  # p / n of paper Section 4, req/s: keeps γ and γ' in [0, 1] up to n = 40
OPTIONAL_RATES = ("migration_degradation", "live_migration_degradation", "live_migration_degradation_rate_control")


def random_fields(rng: np.random.Generator, size: int, vmm_within_os: bool) -> dict[str, Any]:
    """Arrays of ``size`` valid parameter sets, each satisfying every rule of :class:`Parameters` with a margin."""
    os_interval = rng.uniform(HOUR, 100 * DAY, size)
    vmm_interval = rng.uniform(HOUR, os_interval if vmm_within_os else YEAR, size)
    n = rng.integers(2, 41, size).astype(np.float64)
    os_share = rng.uniform(0.0, MOST, size)
    vmm_budget = (1.0 - os_share) * vmm_interval

    def split(total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        downtime = rng.uniform(0.0, 1.0, size) * total
        return downtime, np.maximum(total - downtime, 0.0)

    def share() -> np.ndarray:
        return rng.uniform(0.0, MOST, size)

    warm = split(share() * vmm_budget)
    cold = split(share() * vmm_budget)
    os_ = split(os_share * os_interval)
    return {
        "n": n,
        "p": n * rng.uniform(PER_VM, 1000.0, size),
        "T_vmm": vmm_interval,
        "T_os": os_interval,
        "D_w": warm[0],
        "R_vmm": warm[1],
        "D_c": cold[0],
        "R_vmm_c": cold[1],
        "D_os": os_[0],
        "R_os": os_[1],
        "D_m": share() * vmm_budget / n,
        "M_l": share() * vmm_budget,
        "M_l_rc": share() * vmm_budget,
        "omega": rng.uniform(0.0, 1.0, size),
        "omega_c": rng.uniform(0.0, 1.0, size),
        "delta": rng.uniform(0.0, 1.0, size),
    }


def vectorised(params: Parameters, hosts: Any) -> np.ndarray:
    """P / (m p) of every strategy, stacked in the order of ``STRATEGIES``."""
    values = [item.evaluate(params, hosts).normalized_throughput for item in STRATEGIES.values()]
    return np.stack(np.broadcast_arrays(*values), axis=-1)


def reference(params: Parameters, hosts: Any) -> np.ndarray:
    """The same, one point at a time by the plain-Python reference."""
    model = ScalarModel.from_parameters(params)
    shape = np.broadcast_shapes(params.shape, np.shape(hosts))
    columns = {
        name: None if value is None else np.broadcast_to(np.asarray(value), shape)
        for name, value in params.as_dict().items()
    }
    m = np.broadcast_to(np.asarray(hosts, dtype=np.float64), shape)
    out = np.empty((*shape, len(KEYS)))
    for index in np.ndindex(*shape):
        point = Point.from_mapping({name: None if c is None else c[index] for name, c in columns.items()})
        out[index] = model.normalized_throughputs(point, float(m[index]))
    return out


def test_reference_follows_the_strategy_order() -> None:
    """The reference lists the five strategies in the order of STRATEGIES."""
    assert tuple(STRATEGIES) == KEYS


def test_paper_preset_matches_reference() -> None:
    """At the paper's Section 4 values, every strategy equals the reference for m from 2 to 10^6."""
    hosts = np.array([2, 3, 10, 100, 11_000, 11_249, 1_000_000], dtype=np.float64)
    np.testing.assert_allclose(vectorised(PAPER, hosts), reference(PAPER, hosts), rtol=RTOL, atol=0)


def test_computed_degradation_matches_reference_sums() -> None:
    """γ, γ' and γ'_rc computed from Table 1 equal the paper's sums over i = 1..n, for n from 2 to 40."""
    n = np.arange(2, 41, dtype=np.float64)
    params = PAPER.replace(n=n, p=n * PER_VM)
    rates = degradation_rates(params)
    profiles = {
        "migration": params.stop_and_copy_profile,
        "live": params.live_migration_profile,
        "live_rate_control": params.live_migration_profile_rate_control,
    }
    for key, profile in profiles.items():
        expected = [degradation(Profile.from_migration_profile(profile), int(k), k * PER_VM) for k in n]
        np.testing.assert_allclose(rates[key], expected, rtol=RTOL, atol=0, err_msg=key)


@pytest.mark.parametrize("vmm_within_os", [False, True], ids=["any-T_vmm", "T_vmm<=T_os"])
def test_random_points_match_reference_one_at_a_time(vmm_within_os: bool) -> None:
    """Each of 200 seeded valid parameter sets, γ set or computed, equals the reference on a random m."""
    rng = np.random.default_rng(20080101 + vmm_within_os)
    fields = random_fields(rng, 200, vmm_within_os)
    rates = rng.uniform(0.0, 1.0, (200, 3))
    is_set = rng.random((200, 3)) < 0.5
    for k in range(200):
        chosen: dict[str, Any] = {key: float(value[k]) for key, value in fields.items()}
        chosen |= {name: float(rates[k, j]) if is_set[k, j] else None for j, name in enumerate(OPTIONAL_RATES)}
        params = PAPER.replace(**chosen)
        hosts = float(rng.integers(2, 10**6))
        np.testing.assert_allclose(
            vectorised(params, hosts), reference(params, hosts), rtol=RTOL, atol=0, err_msg=str(chosen)
        )


@pytest.mark.parametrize("rates_set", [False, True], ids=["gamma-computed", "gamma-set"])
def test_random_grid_matches_reference_point_by_point(rates_set: bool) -> None:
    """One parameter set of 2,000 seeded points (n from 2 to 40, host counts varying) equals the reference at each point."""
    rng = np.random.default_rng(1000 + rates_set)
    size = 2000
    fields = random_fields(rng, size // 2, False)
    within = random_fields(rng, size - size // 2, True)
    chosen: dict[str, Any] = {key: np.concatenate((fields[key], within[key])) for key in fields}
    if rates_set:
        chosen |= {name: rng.uniform(0.0, 1.0, size) for name in OPTIONAL_RATES}
    params = PAPER.replace(**chosen)
    hosts = rng.integers(2, 10**6, size).astype(np.float64)
    np.testing.assert_allclose(vectorised(params, hosts), reference(params, hosts), rtol=RTOL, atol=0)


def test_grid_broadcast_against_hosts_matches_reference() -> None:
    """A 2-D grid (n down, m across) broadcasts like the reference evaluated at every (n, m)."""
    n = np.arange(2, 21, dtype=np.float64)[:, None]
    params = PAPER.replace(n=n, p=n * PER_VM, D_m=15.0)
    hosts = np.array([[2.0, 5.0, 64.0, 11_000.0]])
    np.testing.assert_allclose(vectorised(params, hosts), reference(params, hosts), rtol=RTOL, atol=0)


def test_cold_reboot_at_vmm_interval_equal_to_os_interval_matches_reference() -> None:
    """With T_vmm = T_os and D_c = 0, ⌊N_c⌋ is 0 in both (no OS rejuvenation between cold reboots)."""
    params = PAPER.replace(T_vmm=7 * DAY, T_os=7 * DAY, D_c=0.0)
    np.testing.assert_allclose(vectorised(params, 2.0), reference(params, 2.0), rtol=RTOL, atol=0)
