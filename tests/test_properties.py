"""Invariants of the closed-form model over every valid parameter set (property-based).

The parameter sets come from :mod:`strategies`; the rules are those of the paper's
equations (1) to (6), whatever the numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rejuv.model import NUMERIC_FIELDS, STRATEGIES, Parameters
from strategies import (
    DEGRADATION_RATES,
    DEGRADED_PERIODS,
    DOWNTIMES,
    cold_os_count,
    host_counts,
    interval_pairs,
    parameter_sets,
    raised,
)

SPARE_HOST = [key for key, item in STRATEGIES.items() if item.needs_spare_host]
NO_SPARE_HOST = [key for key, item in STRATEGIES.items() if not item.needs_spare_host]
# Normalised throughputs lie in [0, 1]; a change below this is float rounding, not a trend.
ROUNDING = 1e-12


def normalized(params: Parameters, hosts: int | np.ndarray) -> dict[str, np.ndarray]:
    return {key: item.evaluate(params, hosts).normalized_throughput for key, item in STRATEGIES.items()}


@given(params=parameter_sets(), hosts=host_counts)
def test_normalized_throughput_lies_between_zero_and_one(params: Parameters, hosts: int) -> None:
    """0 <= P / (m p) <= 1 for every strategy, every valid parameter set and every m >= 2."""
    for key, value in normalized(params, hosts).items():
        assert 0.0 <= float(value) <= 1.0, key


@given(params=parameter_sets())
def test_normalized_throughput_lies_between_zero_and_one_on_a_single_host(params: Parameters) -> None:
    """0 <= P / (m p) <= 1 also for m = 1, where only warm and cold reboot apply (no spare host)."""
    for key in NO_SPARE_HOST:
        assert 0.0 <= float(STRATEGIES[key].evaluate(params, 1).normalized_throughput) <= 1.0, key


def assert_not_raised(before: Parameters, after: Parameters, hosts: int) -> None:
    old, new = normalized(before, hosts), normalized(after, hosts)
    for key in STRATEGIES:
        assert float(new[key]) <= float(old[key]) + ROUNDING, key


@pytest.mark.parametrize("key", [key for key in DOWNTIMES if key != "D_c"])
@given(data=st.data(), hosts=host_counts)
def test_more_downtime_never_raises_throughput(key: str, data: st.DataObject, hosts: int) -> None:
    """A longer D_w, D_m or D_os lowers or keeps P / (m p) of every strategy (D_c: see the floor tests)."""
    before, after = data.draw(raised(key))
    assert_not_raised(before, after, hosts)


@given(data=st.data(), hosts=host_counts)
def test_longer_cold_downtime_never_raises_throughput_while_the_os_count_stays(data: st.DataObject, hosts: int) -> None:
    """A longer D_c lowers or keeps P_c / (m p) whenever floor(N_c) stays the same."""

    def ceiling(params: Parameters) -> float:
        """T_vmm - floor(N_c) T_os: the D_c beyond which floor(N_c) drops."""
        return float(params.vmm_interval) - cold_os_count(params) * float(params.os_interval)

    before, after = data.draw(raised("D_c", ceiling=ceiling))
    assume(cold_os_count(after) == cold_os_count(before))  # rounding at the very edge only
    assert_not_raised(before, after, hosts)


def test_a_longer_cold_downtime_can_remove_an_os_rejuvenation_and_raise_throughput(paper: Parameters) -> None:
    """The one exception to monotonicity: a longer D_c can drop floor(N_c) by one, and P_c then rises (eq. 3, 4)."""
    # Paper Section 4 values, but T_vmm = 21 d + 200 s, three T_os of 7 d and a little more.
    params = paper.replace(T_vmm=21 * 86400 + 200)
    shorter, longer = params.replace(D_c=150), params.replace(D_c=219)
    cold = STRATEGIES["cold"]
    # N_c = (21 d + 50 s) / 7 d, just above 3; with D_c = 219 s it is just below 3.
    assert float(cold.os_rejuvenations(shorter)) == cold_os_count(shorter) == 3
    assert float(cold.os_rejuvenations(longer)) == cold_os_count(longer) == 2
    # 69 s more downtime, but one OS rejuvenation less: D_os + δ R_os = 41 + 0.35 * 410 = 184.5 s.
    gained = float(cold.evaluate(longer, 2).normalized_throughput - cold.evaluate(shorter, 2).normalized_throughput)
    assert gained == pytest.approx((184.5 - 69) / (21 * 86400 + 200), rel=1e-9)
    assert gained > 0


@pytest.mark.parametrize("key", DEGRADED_PERIODS)
@given(data=st.data(), hosts=host_counts)
def test_longer_degraded_period_never_raises_throughput(key: str, data: st.DataObject, hosts: int) -> None:
    """A longer R_vmm, R'_vmm, R_os, M_l or M_l_rc lowers or keeps P / (m p) of every strategy."""
    before, after = data.draw(raised(key))
    assert_not_raised(before, after, hosts)


@pytest.mark.parametrize("key", DEGRADATION_RATES)
@given(data=st.data(), hosts=host_counts)
def test_higher_degradation_rate_never_raises_throughput(key: str, data: st.DataObject, hosts: int) -> None:
    """A higher ω, ω', δ, γ, γ' or γ'_rc lowers or keeps P / (m p) of every strategy."""
    before, after = data.draw(raised(key))
    assert_not_raised(before, after, hosts)


@given(params=parameter_sets(), hosts=st.lists(host_counts, min_size=2, max_size=30, unique=True))
def test_spare_host_strategies_rise_with_hosts_towards_their_limit(params: Parameters, hosts: list[int]) -> None:
    """With a spare host, P / (m p) = limit (m - 1) / m: it never falls as m grows and falls short of the limit by limit / m."""
    m = np.array(sorted(hosts), dtype=np.float64)
    for key in SPARE_HOST:
        result = STRATEGIES[key].evaluate(params, m)
        values = result.normalized_throughput
        assert np.all(np.diff(values) >= 0), key
        np.testing.assert_allclose(result.limit - values, result.limit / m, rtol=0, atol=1e-15)


@given(params=parameter_sets(), hosts=host_counts)
def test_spare_host_strategies_never_exceed_their_limit(params: Parameters, hosts: int) -> None:
    """With a spare host, P / (m p) stays at or below its limit as m grows without bound."""
    for key in SPARE_HOST:
        result = STRATEGIES[key].evaluate(params, hosts)
        assert float(result.normalized_throughput) <= float(result.limit), key


@given(params=parameter_sets(), hosts=st.lists(st.integers(1, 10**6), min_size=2, max_size=30))
def test_warm_and_cold_reboot_do_not_depend_on_the_number_of_hosts(params: Parameters, hosts: list[int]) -> None:
    """Without a spare host, P / (m p) is the same for every m (equations 2 and 4)."""
    for key in NO_SPARE_HOST:
        values = STRATEGIES[key].evaluate(params, np.array(hosts)).normalized_throughput
        assert np.all(values == values[0]), key


@given(params=parameter_sets())
def test_cold_reboot_counts_only_whole_os_rejuvenations(params: Parameters) -> None:
    """N_c is floored: floor((T_vmm - D_c) / T_os), and 0 when T_vmm <= T_os (equation 3)."""
    count = float(STRATEGIES["cold"].os_rejuvenations(params))
    exact = float((params.vmm_interval - params.cold_reboot_downtime) / params.os_interval)
    assert count == (0.0 if params.vmm_interval <= params.os_interval else math.floor(exact))


@given(params=parameter_sets(intervals=interval_pairs(vmm_within_os=True)))
def test_cold_reboot_has_no_os_rejuvenation_when_the_vmm_interval_is_at_most_the_os_interval(
    params: Parameters,
) -> None:
    """When T_vmm <= T_os every OS is rebooted with the VMM first, so floor(N_c) = 0 (paper Section 3.2)."""
    assert float(params.vmm_interval) <= float(params.os_interval)
    assert float(STRATEGIES["cold"].os_rejuvenations(params)) == 0.0


def test_cold_reboot_at_equal_intervals_has_no_os_rejuvenation_even_without_downtime(paper: Parameters) -> None:
    """T_vmm = T_os with D_c = 0: floor(N_c) alone would give 1, but each VMM reboot rejuvenates every OS (paper Section 3.2)."""
    params = paper.replace(T_vmm=7 * 86400, D_c=0)
    assert cold_os_count(params) == 1
    assert float(STRATEGIES["cold"].os_rejuvenations(params)) == 0.0


@settings(max_examples=50)  # each example is a grid of up to 5 sets and 4 host counts
@given(
    sets=st.lists(parameter_sets(), min_size=1, max_size=5),
    hosts=st.lists(host_counts, min_size=1, max_size=4),
)
def test_vectorised_evaluation_equals_scalar_evaluation_point_by_point(
    sets: list[Parameters], hosts: list[int]
) -> None:
    """One call over a grid of parameter sets and host counts gives what each point gives alone."""
    fields = {}
    for name in NUMERIC_FIELDS:
        values = [getattr(item, name) for item in sets]
        # γ set in every point: an array of them; unset in any: computed from Table 1 everywhere.
        fields[name] = None if any(v is None for v in values) else np.array([float(v) for v in values])
    grid = sets[0].replace(**fields)
    assert grid.shape == (len(sets),)
    m = np.array(hosts, dtype=np.float64)[:, np.newaxis]
    for item in STRATEGIES.values():
        together = item.evaluate(grid, m)
        shape = (len(hosts), len(sets))
        for j in range(len(sets)):
            point = grid.point((j,))
            assert point.as_dict() == {k: (None if v is None else float(v[j])) for k, v in fields.items()}
            for i, host in enumerate(hosts):
                alone = item.evaluate(point, host)
                for quantity in ("normalized_throughput", "availability", "total_throughput"):
                    np.testing.assert_allclose(
                        np.broadcast_to(getattr(together, quantity), shape)[i, j],
                        getattr(alone, quantity),
                        rtol=1e-15,
                        atol=1e-15,
                    )
