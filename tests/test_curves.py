"""Table 1 as data: piecewise curves of the migration index i, and the γ they imply."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rejuv.model import Curve, Form, MigrationProfile, Parameters, Piece, migration_degradation
from strategies import PAPER, PAPER_PER_VM_THROUGHPUT

PROFILES = ("stop_and_copy_profile", "live_migration_profile", "live_migration_profile_rate_control")


def at(curve: Curve, *index: int) -> list[float]:
    return curve.evaluate("test", np.array(index, dtype=np.int64)).tolist()


def test_linear_exponential_and_constant_pieces_follow_their_formula() -> None:
    """linear: slope i + intercept; exponential: exp(slope i + intercept); constant: value."""
    assert at(Curve((Piece(Form.LINEAR, slope=4.4, intercept=21),)), 1, 5) == [4.4 + 21, 4.4 * 5 + 21]
    assert at(Curve((Piece(Form.EXPONENTIAL, slope=-0.71, intercept=5.7),)), 3) == [math.exp(-0.71 * 3 + 5.7)]
    assert at(Curve((Piece(Form.CONSTANT, value=50),)), 1, 7, 1000) == [50.0, 50.0, 50.0]


def test_each_index_takes_the_first_piece_that_covers_it() -> None:
    """Pieces cover first <= i <= last; where two overlap, the earlier one wins."""
    curve = Curve(
        (
            Piece(Form.CONSTANT, value=1, first=2, last=3),
            Piece(Form.CONSTANT, value=2, first=3),
            Piece(Form.CONSTANT, value=3),
        )
    )
    assert at(curve, 1, 2, 3, 4, 50) == [3.0, 1.0, 1.0, 2.0, 2.0]


def test_the_papers_step_functions_switch_where_table_1_says(paper: Parameters) -> None:
    """V_d = 22 at i = 2 and exp(-0.71 i + 5.7) after; rate control's V_s = 50 below i = 6 and 34 from it (Table 1)."""
    stop_and_copy = paper.stop_and_copy_profile.destination_throughput
    assert at(stop_and_copy, 2, 3, 11) == [22.0, math.exp(-0.71 * 3 + 5.7), math.exp(-0.71 * 11 + 5.7)]
    rate_control = paper.live_migration_profile_rate_control
    assert at(rate_control.source_throughput, 5, 6) == [50.0, 34.0]
    assert at(rate_control.moving_throughput, 5, 6) == [48.0, 29.0]  # type: ignore[arg-type]
    assert at(rate_control.destination_throughput, 4, 5) == [48.0, 30.0]


def test_curves_print_as_the_paper_writes_them(paper: Parameters) -> None:
    """str(curve) reads like a Table 1 cell, each piece with its range of i."""
    profile = paper.stop_and_copy_profile
    assert str(profile.source_throughput) == "4.4 i + 21"
    assert str(profile.destination_throughput) == "22 (1 <= i <= 2); exp(-0.71 i + 5.7) (i >= 3)"
    assert str(paper.live_migration_profile_rate_control.move_time) == "-0.55 i + 89"
    assert str(Curve((Piece(Form.CONSTANT, value=19, first=2, last=2),))) == "19 (i = 2)"


pieces = st.builds(
    lambda form, a, b, first, span: Piece(
        form,
        slope=a if form is not Form.CONSTANT else 0.0,
        intercept=b if form is not Form.CONSTANT else 0.0,
        value=a if form is Form.CONSTANT else 0.0,
        first=first,
        last=None if span is None else first + span,
    ),
    st.sampled_from(Form),
    st.floats(-100, 100),
    st.floats(-100, 100),
    st.integers(1, 20),
    st.one_of(st.none(), st.integers(0, 20)),
)


@given(st.lists(pieces, min_size=1, max_size=4))
def test_curves_round_trip_through_preset_data(items: list[Piece]) -> None:
    """Curve.from_data(to_data()) gives the same curve back, for any pieces."""
    curve = Curve(tuple(items))
    assert Curve.from_data("test", curve.to_data()) == curve


def test_a_single_table_is_a_one_piece_curve() -> None:
    """A piece given as a table rather than a list of tables is a curve of one piece."""
    assert Curve.from_data("test", {"form": "constant", "value": 3}) == Curve((Piece(Form.CONSTANT, value=3),))


@pytest.mark.parametrize("field", PROFILES)
def test_a_profile_table_lists_every_curve_at_i_from_1_to_n(paper: Parameters, field: str) -> None:
    """profile.table(n) gives i = 1..n and each curve there; V_d(1) is NaN, as no VM is on the destination yet."""
    profile: MigrationProfile = getattr(paper, field)
    rows = profile.table(11)
    assert rows["i"].tolist() == list(range(1, 12))
    assert math.isnan(rows["destination_throughput"][0])
    assert rows["destination_throughput"][1:].tolist() == at(profile.destination_throughput, *range(2, 12))
    assert rows["move_time"].tolist() == at(profile.move_time, *range(1, 12))
    assert ("moving_throughput" in rows) == profile.is_live
    assert profile.total_time(11) == pytest.approx(float(rows["move_time"].sum()), rel=1e-15)


def test_only_live_migration_has_a_moving_vm(paper: Parameters) -> None:
    """Stop-and-copy stops the moving VM (no V_m); live migration keeps it serving (paper Section 3.3)."""
    assert not paper.stop_and_copy_profile.is_live
    assert paper.live_migration_profile.is_live
    assert paper.live_migration_profile_rate_control.is_live


def direct_degradation(profile: MigrationProfile, n: int, p: float) -> float:
    """γ or γ' by the paper's sum over i = 1..n, one term at a time (Section 3.3)."""
    rows = profile.table(n)
    move = rows["move_time"]
    total = sum(move)
    served = 0.0
    for k in range(n):
        i = k + 1
        term = (n - i) * rows["source_throughput"][k]
        if i > 1:
            term += (i - 1) * rows["destination_throughput"][k]
        if profile.is_live:
            term += rows["moving_throughput"][k]
        served += move[k] / total * term
    if profile.load is not None:  # the throughputs of the measured host, scaled to this one's per-VM load
        served *= (p / n) / profile.load
    return 1.0 - served / (p if profile.is_live else (n - 1) / n * p)


@pytest.mark.parametrize("field", PROFILES)
@given(n=st.integers(2, 40), per_vm=st.floats(PAPER_PER_VM_THROUGHPUT, 1000.0))
def test_degradation_equals_the_papers_sum_over_the_moves(field: str, n: int, per_vm: float) -> None:
    """migration_degradation is γ = 1 - V_c / (((n-1)/n) p) or γ' = 1 - V'_c / p, summed as the paper writes it."""
    profile: MigrationProfile = getattr(PAPER, field)
    rate = float(migration_degradation(profile, n, n * per_vm))
    assert rate == pytest.approx(direct_degradation(profile, n, n * per_vm), rel=1e-12, abs=1e-14)
    assert 0.0 <= rate <= 1.0


@pytest.mark.parametrize("field", PROFILES)
def test_degradation_over_a_grid_equals_each_point_alone(paper: Parameters, field: str) -> None:
    """One call over arrays of n and p gives, at each point, what a call for that point alone gives."""
    profile: MigrationProfile = getattr(paper, field)
    n = np.arange(2, 41)[:, np.newaxis]
    p = n * np.array([PAPER_PER_VM_THROUGHPUT, 80.0, 250.0, 1000.0])[np.newaxis, :]
    grid = migration_degradation(profile, n, p)
    assert grid.shape == p.shape
    for (row, col), value in np.ndenumerate(grid):
        alone = float(migration_degradation(profile, int(n[row, 0]), float(p[row, col])))
        assert value == pytest.approx(alone, rel=1e-15, abs=1e-15)


@pytest.mark.parametrize("field", PROFILES)
def test_degradation_over_host_sizes_at_one_throughput_equals_each_size_alone(paper: Parameters, field: str) -> None:
    """With p one number, γ is looked up per n from a table; each value is what n alone gives, to the last bit."""
    profile: MigrationProfile = getattr(paper, field)
    n = np.array([7, 2, 40, 2, 13])
    rates = migration_degradation(profile, n, 2500.0)  # >= 62.5 req/s per VM: γ stays in [0, 1]
    assert rates.tolist() == [float(migration_degradation(profile, int(k), 2500.0)) for k in n]
