"""The conclusions drawn from the model (crossovers, best strategy, phase maps) agree with direct evaluation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rejuv.errors import ParameterError
from rejuv.model import (
    NUMERIC_FIELDS,
    STRATEGIES,
    Axis,
    Parameters,
    best_strategy,
    crossovers,
    degradation_rates,
    evaluate_all,
    iter_grid,
    lookup,
    normalized_throughputs,
    overtaking_hosts,
    phase_map,
)
from rejuv.model.analysis import BLOCK_POINTS
from strategies import host_counts, parameter_sets

KEYS = tuple(STRATEGIES)
PAIRS = [(a, b) for a, b in itertools.permutations(KEYS, 2)]
YEAR = 365.25 * 86400.0
# Host counts at which "never overtakes" is checked directly; beyond 10^12 hosts a
# spare host's share 1/m is below float64's resolution of P / (m p) near 1.
FAR = (2, 3, 10, 1_000, 10**6, 10**9, 10**12)


def ahead(params: Parameters, challenger: str, incumbent: str, hosts: float) -> bool:
    """Direct evaluation: is ``challenger``'s P / (m p) above ``incumbent``'s at m = ``hosts``?"""
    a = STRATEGIES[challenger].evaluate(params, hosts).normalized_throughput
    b = STRATEGIES[incumbent].evaluate(params, hosts).normalized_throughput
    return bool(a > b)


@given(params=parameter_sets())
def test_overtaking_hosts_is_the_smallest_whole_m_where_the_challenger_is_ahead(params: Parameters) -> None:
    """overtaking_hosts gives m with the challenger ahead at m and not at m - 1 (or NaN: behind at every m).

    Who is ahead changes at most once as m grows (one side is flat or both scale alike, or the
    spare-host side rises monotonically), so checking m and m - 1 pins the smallest such m.
    """
    for challenger, incumbent in PAIRS:
        hosts = float(overtaking_hosts(params, challenger, incumbent))
        if np.isnan(hosts):
            assert not any(ahead(params, challenger, incumbent, m) for m in FAR), (challenger, incumbent)
            continue
        assert hosts == round(hosts) and hosts >= 2
        assert ahead(params, challenger, incumbent, hosts), (challenger, incumbent, hosts)
        if hosts > 2:
            assert not ahead(params, challenger, incumbent, hosts - 1), (challenger, incumbent, hosts)


def test_overtaking_hosts_is_exact_where_the_closed_form_lands_on_a_whole_number(paper: Parameters) -> None:
    """Where a / (a - b) is a whole number (1000) the challenger only ties there, and is ahead from 1001 on."""
    # Keep stop-and-copy's limit a and give cold the limit b = a (1 - 1/1000), so a / (a - b) = 1000.
    a = float(STRATEGIES["migration"].evaluate(paper, 2).limit)
    target_cold_limit = a * (1 - 1 / 1000)
    cold = STRATEGIES["cold"].evaluate(paper, 2)
    # Lower cold's limit by raising ω' R'_vmm / T_vmm: R'_vmm = R'_vmm + (b_now - b_target) T_vmm / ω'.
    extra = (float(cold.limit) - target_cold_limit) * float(paper.vmm_interval) / float(paper.cold_reboot_degradation)
    params = paper.replace(R_vmm_c=float(paper.cold_reboot_degraded_period) + extra)
    tie = STRATEGIES["migration"].evaluate(params, 1000).normalized_throughput
    assert float(tie) == float(STRATEGIES["cold"].evaluate(params, 1000).normalized_throughput)
    assert float(overtaking_hosts(params, "migration", "cold")) == 1001.0
    assert ahead(params, "migration", "cold", 1001)


@settings(max_examples=40)  # each example is a grid of up to 4 sets and 20 pairs
@given(sets=st.lists(parameter_sets(), min_size=1, max_size=4))
def test_overtaking_hosts_over_a_grid_equals_each_point_alone(sets: list[Parameters]) -> None:
    """overtaking_hosts over a grid of parameter sets gives each point's answer."""
    numeric = {
        name: np.array([float(value) for value in values])
        for name, *values in zip(sets[0].as_dict(), *(item.as_dict().values() for item in sets), strict=True)
        if all(v is not None for v in values)
    }
    unset = {name: None for name in sets[0].as_dict() if name not in numeric}
    grid = sets[0].replace(**numeric, **unset)
    for challenger, incumbent in PAIRS:
        together = overtaking_hosts(grid, challenger, incumbent)
        alone = [float(overtaking_hosts(grid.point((j,)), challenger, incumbent)) for j in range(len(sets))]
        np.testing.assert_array_equal(together, alone)


BRUTE_FORCE_HOSTS = 3000


@given(params=parameter_sets())
def test_crossovers_agree_with_brute_force_over_small_clusters(params: Parameters) -> None:
    """crossovers() lists each pair behind at m = 2 with the first m in 2..3000 where it is ahead, if any."""
    hosts = np.arange(2, BRUTE_FORCE_HOSTS + 1, dtype=np.float64)
    values = {key: item.normalized_throughput for key, item in evaluate_all(params, hosts).items()}
    found = {(c.strategy, c.overtakes): c.hosts for c in crossovers(params)}
    behind_at_two = {(a, b) for a, b in PAIRS if not values[a][0] > values[b][0]}
    assert set(found) == behind_at_two
    for (challenger, incumbent), reported in found.items():
        overtaken = np.flatnonzero(values[challenger] > values[incumbent])
        first = int(hosts[overtaken[0]]) if overtaken.size else None
        if reported is not None and reported <= BRUTE_FORCE_HOSTS:
            assert first == reported, (challenger, incumbent)
        else:
            assert first is None, (challenger, incumbent, reported)


def test_crossovers_agree_with_brute_force_with_the_papers_values(paper: Parameters) -> None:
    """With paper Section 4's values, every m from 2 to 20,000 confirms the reported crossovers."""
    hosts = np.arange(2, 20_001, dtype=np.float64)
    values = {key: item.normalized_throughput for key, item in evaluate_all(paper, hosts).items()}
    for crossover in crossovers(paper):
        overtaken = np.flatnonzero(values[crossover.strategy] > values[crossover.overtakes])
        first = int(hosts[overtaken[0]]) if overtaken.size else None
        if crossover.hosts is None or crossover.hosts > hosts[-1]:
            assert first is None, crossover
        else:
            assert first == crossover.hosts, crossover


def test_crossovers_take_one_parameter_set(paper: Parameters) -> None:
    """crossovers() refuses a grid, pointing to overtaking_hosts()."""
    with pytest.raises(ValueError, match="use overtaking_hosts"):
        crossovers(paper.replace(D_w=np.array([59.0, 60.0])))


@given(params=parameter_sets(), hosts=st.lists(host_counts, min_size=1, max_size=10))
def test_best_strategy_is_the_argmax_of_the_evaluations(params: Parameters, hosts: list[int]) -> None:
    """best_strategy picks, at each m, the strategy with the highest P / (m p) (the first one on a tie)."""
    winners = best_strategy(params, np.array(hosts))
    for m, winner in zip(hosts, winners.tolist(), strict=True):
        values = [float(item.evaluate(params, m).normalized_throughput) for item in STRATEGIES.values()]
        assert winner == values.index(max(values)), m


def test_best_strategy_respects_the_keys_asked_for(paper: Parameters) -> None:
    """Without warm reboot, cold wins small clusters and live migration large ones (paper Section 4)."""
    keys = ("cold", "migration", "live")
    winners = best_strategy(paper, [2, 11_189, 11_190, 10**6], keys)
    assert [keys[i] for i in winners.tolist()] == ["cold", "cold", "live", "live"]


def assert_phase_map_matches_points(params: Parameters, x: Axis, y: Axis, hosts: int) -> None:
    result = phase_map(params, x, y, hosts)
    assert result.winner.shape == result.lead.shape == (len(y.values), len(x.values))
    for (j, i), winner in np.ndenumerate(result.winner):
        point = params.replace(**{x.name: x.values[i], y.name: y.values[j]})
        values = [float(item.evaluate(point, hosts).normalized_throughput) for item in STRATEGIES.values()]
        assert winner == values.index(max(values)), (i, j)
        ordered = sorted(values)
        assert result.lead[j, i] == ordered[-1] - ordered[-2]
    assert sum(result.share(key) for key in KEYS) == pytest.approx(1.0)


def test_phase_map_winner_agrees_with_evaluating_each_point(paper: Parameters) -> None:
    """Over T_vmm from 1 d to 90 d and T_os from 1 d to 30 d, each cell's winner and lead are its own evaluation's."""
    x = Axis.parse("T_vmm=1d:90d", points=9)
    y = Axis.parse("T_os=1d:30d", points=7)
    assert_phase_map_matches_points(paper, x, y, hosts=20_000)


@given(params=parameter_sets(), hosts=host_counts)
def test_phase_map_over_degradation_rates_agrees_with_each_point(params: Parameters, hosts: int) -> None:
    """Over ω and δ in [0, 1], for any valid parameter set, each cell's winner is its own evaluation's."""
    x = Axis("warm_reboot_degradation", np.linspace(0.0, 1.0, 4))
    y = Axis("os_degradation", np.linspace(0.0, 1.0, 3))
    assert_phase_map_matches_points(params, x, y, hosts)


def test_phase_map_axes_read_names_units_and_ranges() -> None:
    """ "T_vmm=1d:90d" is T_vmm from 86,400 s to 7,776,000 s; an n axis holds whole, distinct numbers."""
    axis = Axis.parse("T_vmm=1d:90d", points=5)
    assert axis.name == "vmm_interval"
    assert axis.symbol == "T_vmm"
    np.testing.assert_allclose(axis.values, np.linspace(86400.0, 90 * 86400.0, 5))
    logarithmic = Axis.parse("D_w=1s:1000s", points=4, log=True)
    np.testing.assert_allclose(logarithmic.values, [1.0, 10.0, 100.0, 1000.0])
    assert Axis.parse("n=2:5", points=10).values.tolist() == [2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize(
    ("text", "points", "log", "what", "why"),
    [
        ("T_vmm", 5, False, "axis 'T_vmm'", "expected NAME=START:STOP, for example T_vmm=1d:90d"),
        ("T_vmm=1d", 5, False, "axis 'T_vmm=1d'", "expected NAME=START:STOP, for example T_vmm=1d:90d"),
        ("T_vmm=90d:1d", 5, False, "axis T_vmm", "START must be below STOP, got 90d:1d"),
        ("T_vmm=1d:90d", 1, False, "axis T_vmm", "needs at least 2 points, got 1"),
        ("D_w=0s:10s", 5, True, "axis D_w", "a logarithmic axis must start above 0"),
    ],
)
def test_a_malformed_axis_is_refused_naming_it(text: str, points: int, log: bool, what: str, why: str) -> None:
    """An axis without NAME=START:STOP, with START >= STOP, under 2 points or a log axis from 0 fails naming it."""
    with pytest.raises(ParameterError) as info:
        Axis.parse(text, points=points, log=log)
    assert (info.value.what, info.value.why) == (what, why)


def test_a_phase_map_needs_two_parameters_two_strategies_and_two_hosts(paper: Parameters) -> None:
    """The same parameter on both axes, a single strategy or m < 2 fail naming the problem."""
    x = Axis.parse("T_vmm=1d:90d", points=3)
    with pytest.raises(ParameterError, match="x and y must be different parameters"):
        phase_map(paper, x, x, 100)
    y = Axis.parse("T_os=1d:30d", points=3)
    with pytest.raises(ParameterError, match="at least two strategies"):
        phase_map(paper, x, y, 100, strategies=("warm",))
    with pytest.raises(ParameterError, match="hosts"):
        phase_map(paper, x, y, 1)


def test_a_phase_map_over_invalid_points_names_the_field(paper: Parameters) -> None:
    """A grid that reaches invalid parameter sets (D_w up to 30 d against T_vmm of 28 d) fails naming the field."""
    x = Axis.parse("D_w=1s:30d", points=3)
    y = Axis.parse("D_c=1s:1d", points=3)
    with pytest.raises(ParameterError, match=r"^warm_reboot_downtime \(D_w\): must stay below T_vmm"):
        phase_map(paper, x, y, 100)


@pytest.mark.parametrize("chunk_points", [1, 4, 7, 1000])
def test_iter_grid_covers_the_cartesian_product_in_c_order(paper: Parameters, chunk_points: int) -> None:
    """iter_grid yields every combination of the axes exactly once, in C order, in chunks of at most chunk_points."""
    axes = {"T_vmm": [86400.0, 2 * 86400.0, 3 * 86400.0], "omega": [0.1, 0.5], "n": [2.0, 4.0]}
    expected = list(itertools.product(*axes.values()))
    seen: list[tuple[float, float, float]] = []
    position = 0
    for where, chunk in iter_grid(paper, axes, chunk_points=chunk_points):
        assert where.start == position and where.stop - where.start <= chunk_points
        position = where.stop
        rows = zip(
            chunk.vmm_interval.tolist(),
            chunk.warm_reboot_degradation.tolist(),
            chunk.vms_per_host.tolist(),
            strict=True,
        )
        seen += list(rows)
        # D_w(n) follows the n axis; everything else is the base's
        np.testing.assert_allclose(chunk.warm_reboot_downtime, 59.0 * chunk.vms_per_host / 11, rtol=1e-15)
        assert float(chunk.warm_reboot_degraded_period) == 25.0
    assert seen == expected


def test_iter_grid_needs_a_positive_chunk(paper: Parameters) -> None:
    """chunk_points below 1 is refused."""
    with pytest.raises(ValueError, match="chunk_points must be >= 1"):
        list(iter_grid(paper, {"omega": [0.1]}, chunk_points=0))


def test_evaluate_all_and_degradation_rates_cover_their_strategies(paper: Parameters) -> None:
    """evaluate_all evaluates every strategy asked for; degradation_rates gives γ, γ', γ'_rc for the migrations."""
    assert list(evaluate_all(paper, 2)) == list(KEYS)
    assert list(evaluate_all(paper, 2, ("cold", "live"))) == ["cold", "live"]
    assert list(degradation_rates(paper)) == ["migration", "live", "live_rate_control"]


@given(params=parameter_sets(), hosts=host_counts)
def test_total_throughput_and_lost_requests_follow_from_the_normalised_throughput(
    params: Parameters, hosts: int
) -> None:
    """P = (P / (m p)) m p; lost requests per T_vmm = (1 - P / (m p)) m p T_vmm, and per year scale by year / T_vmm."""
    for item in STRATEGIES.values():
        result = item.evaluate(params, hosts)
        share = float(result.normalized_throughput)
        full = hosts * float(params.host_throughput)
        assert float(result.total_throughput) == pytest.approx(share * full, rel=1e-12)
        lost = (1 - share) * full * float(params.vmm_interval)
        assert float(result.lost_requests_per_interval) == pytest.approx(lost, rel=1e-12, abs=1e-6)
        per_year = lost * YEAR / float(params.vmm_interval)
        assert float(result.lost_requests_per_year) == pytest.approx(per_year, rel=1e-12, abs=1e-6)


def relative_gap(got: object, expected: object) -> float:
    """max |got - expected| / |expected| over broadcast arrays (P / (m p) > 0 for valid sets)."""
    got_array, expected_array = np.broadcast_arrays(np.asarray(got), np.asarray(expected))
    return float(np.max(np.abs(got_array - expected_array) / np.abs(expected_array), initial=0.0))


@given(params=parameter_sets(), hosts=st.lists(host_counts, min_size=1, max_size=5))
def test_normalized_throughputs_equal_the_evaluations(params: Parameters, hosts: list[int]) -> None:
    """normalized_throughputs gives each strategy's evaluate(...).normalized_throughput, shape and all, to 1e-12."""
    m = np.array(hosts)
    fast = normalized_throughputs(params, m)
    assert list(fast) == list(KEYS)
    for key, item in STRATEGIES.items():
        expected = item.evaluate(params, m).normalized_throughput
        assert np.shape(fast[key]) == np.shape(expected), key
        assert relative_gap(fast[key], expected) <= 1e-12, key


@settings(max_examples=20)
@given(sets=st.lists(parameter_sets(), min_size=1, max_size=6), hosts=host_counts)
def test_normalized_throughputs_in_blocks_equal_the_evaluations(sets: list[Parameters], hosts: int) -> None:
    """Over a 1-D set longer than one block, normalized_throughputs equals evaluate(...) at every point, to 1e-12."""
    size = BLOCK_POINTS * 2 + 17  # two whole blocks and a partial one
    columns: dict[str, object] = {}
    for name in NUMERIC_FIELDS:
        values = [getattr(one, name) for one in sets]
        # A γ left unset in any set is computed from Table 1 everywhere, from each point's n and p.
        columns[name] = None if any(v is None for v in values) else np.resize(np.array(values, dtype=float), size)
    grid = sets[0].replace(**columns)
    fast = normalized_throughputs(grid, hosts)
    for key, item in STRATEGIES.items():
        assert relative_gap(fast[key], item.evaluate(grid, hosts).normalized_throughput) <= 1e-12, key


def test_normalized_throughputs_refuse_what_evaluate_refuses(paper: Parameters) -> None:
    """A spare-host strategy on one host, or stop-and-copy with one VM, is refused naming the cause."""
    with pytest.raises(ParameterError, match="holds one host back"):
        normalized_throughputs(paper, 1, ("warm", "live"))
    with pytest.raises(ParameterError, match=r"needs n >= 2"):
        normalized_throughputs(paper.replace(n=np.full(BLOCK_POINTS + 1, 1.0)), 2, ("migration",))


# Fields in the rules that combine fields (downtimes below intervals, no overlap of VMM and OS rejuvenations).
COMBINED = ("T_vmm", "T_os", "D_w", "R_vmm", "D_c", "R_vmm_c", "D_m", "M_l", "M_l_rc", "D_os", "R_os")


@st.composite
def grid_axes(draw: st.DrawFn) -> tuple[Parameters, dict[str, list[float]]]:
    """A valid set and up to three axes around its values, reaching past the rules' limits (and below 0) now and then."""
    params = draw(parameter_sets())
    names = draw(st.lists(st.sampled_from((*COMBINED, "n")), min_size=1, max_size=3, unique=True))
    axes: dict[str, list[float]] = {}
    for name in names:
        if name == "n":
            axes[name] = [float(v) for v in draw(st.lists(st.integers(1, 200), min_size=1, max_size=3))]
            continue
        value = float(getattr(params, lookup(name).name))
        factors = draw(st.lists(st.floats(-0.1, 3.0), min_size=1, max_size=3))
        axes[name] = [value * factor for factor in factors]
    return params, axes


@given(case=grid_axes(), chunk_points=st.integers(1, 30))
def test_iter_grid_refuses_a_grid_exactly_when_one_of_its_points_is_invalid(
    case: tuple[Parameters, dict[str, list[float]]], chunk_points: int
) -> None:
    """iter_grid checks the grid once, from each value and the corners; it refuses it iff some point fails alone."""
    params, axes = case
    last = len(axes) - 1
    product = {
        name: np.reshape(values, (1,) * k + (-1,) + (1,) * (last - k)) for k, (name, values) in enumerate(axes.items())
    }
    try:
        params.replace(**product)
    except ParameterError:
        with pytest.raises(ParameterError):
            list(iter_grid(params, axes, chunk_points=chunk_points))
    else:
        assert sum(chunk.shape[0] for _, chunk in iter_grid(params, axes, chunk_points=chunk_points)) == (
            np.prod([len(v) for v in axes.values()])
        )
