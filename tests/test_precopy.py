"""The pre-copy model (rejuv.model.precopy) against values worked out by hand from its formulas."""

from __future__ import annotations

import pytest

from rejuv.errors import RejuvError
from rejuv.model.precopy import (
    FINAL_REMAINING,
    MAX_ROUNDS,
    MBIT,
    RateRule,
    predict_precopy,
    predict_stop_and_copy,
    stop_reason,
)


def test_stop_and_copy_sends_the_whole_ram_as_downtime() -> None:
    """Stop-and-copy of 256 MiB over 1 Gbit/s: one round, 2^28 B / 1.25e8 B/s = 2.147 s, all of it downtime."""
    prediction = predict_stop_and_copy(2**28, 1000 * MBIT)
    assert prediction.rounds == 1
    assert prediction.total_time == prediction.downtime == pytest.approx(2**28 / 1.25e8)


def test_unlimited_precopy_stops_once_the_rest_fits_in_the_downtime_limit() -> None:
    """100 MB, 50 MB/s dirtied, 100 MB/s: rounds of 100, 50, 25 MB (25 MB <= 100 MB/s x 0.3 s): 1 + 0.5 + 0.25 s."""
    prediction = predict_precopy(100e6, 50e6, 100e6)
    assert prediction.round_bytes == pytest.approx((100e6, 50e6, 25e6))
    assert prediction.total_time == pytest.approx(1.75)
    assert prediction.downtime == pytest.approx(0.25)


def test_a_working_set_bounds_what_one_round_dirties() -> None:
    """With a writable working set of 30 MB the 50 MB/s guest of the test above dirties 30 MB in its first 1 s round."""
    prediction = predict_precopy(100e6, 50e6, 100e6, working_set=30e6)
    assert prediction.round_bytes == pytest.approx((100e6, 30e6))
    assert prediction.total_time == pytest.approx(1.3)


@pytest.mark.parametrize(
    ("dirtying_mbit", "rate_mbit"), [(0.0, 100.0), (40.0, 100.0), (80.0, 130.0), (449.0, 499.0), (600.0, 500.0)]
)
def test_the_rule_sets_the_dirtying_rate_plus_the_increment_between_initial_and_maximum(
    dirtying_mbit: float, rate_mbit: float
) -> None:
    """Next round's rate = previous round's dirtying rate + 50 Mbit/s, never below 100 nor above 500 Mbit/s."""
    assert RateRule().next_rate(dirtying_mbit * MBIT) == pytest.approx(rate_mbit * MBIT)


def test_rate_controlled_precopy_converges_geometrically_and_ends_at_the_maximum() -> None:
    """125 MB, 40 Mbit/s dirtied: every round at 100 Mbit/s (ratio 0.4) until < 256 KiB is left, then 500 Mbit/s.

    Rounds send 125e6 x 0.4^i bytes; 0.4^7 x 125e6 = 204,800 B < 256 KiB is the 8th, the stop-and-copy:
    total = 10 s (1 - 0.4^7) / (1 - 0.4) + 204,800 B / 62.5e6 B/s.
    """
    prediction = predict_precopy(125e6, 40 * MBIT, 1000 * MBIT, RateRule())
    assert prediction.rounds == 8
    assert prediction.round_rates == pytest.approx((12.5e6,) * 7 + (62.5e6,))
    assert prediction.total_time == pytest.approx(10 * (1 - 0.4**7) / 0.6 + 204_800 / 62.5e6)
    assert prediction.downtime == pytest.approx(204_800 / 62.5e6)


def test_a_guest_dirtying_faster_than_the_maximum_allows_gets_one_round_then_stop_and_copy() -> None:
    """480 Mbit/s dirtied: 480 + 50 >= 500, so after the first 10 s round all 125 MB go at 500 Mbit/s (2 s down)."""
    prediction = predict_precopy(125e6, 480 * MBIT, 1000 * MBIT, RateRule())
    assert prediction.round_times == pytest.approx((10.0, 2.0))


def test_the_link_caps_every_rate_of_the_rule() -> None:
    """Over a 100 Mbit/s link the 500 Mbit/s stop-and-copy round runs at 100 Mbit/s."""
    prediction = predict_precopy(125e6, 480 * MBIT, 100 * MBIT, RateRule())
    assert prediction.round_rates == pytest.approx((12.5e6, 12.5e6))


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ((100 * MBIT, FINAL_REMAINING - 1, 3, 0.0, 1e9), "less than 256 KiB left"),
        ((500 * MBIT, 1e6, 3, 0.0, 1e9), "the rate reached the maximum"),
        ((100 * MBIT, 1e6, MAX_ROUNDS, 0.0, 1e9), "30 rounds"),
        ((100 * MBIT, 1e6, 3, 3.1e9, 1e9), "3 times the RAM sent"),
        ((100 * MBIT, 1e6, 3, 0.0, 1e9), None),
    ],
)
def test_pre_copy_stops_for_clark_and_xens_reasons_only(
    arguments: tuple[float, float, int, float, float], reason: str | None
) -> None:
    """Stop-and-copy next: < 256 KiB left, the rate at its maximum, 30 rounds, or 3x the RAM sent; else go on."""
    assert stop_reason(RateRule(), *arguments) == reason


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: predict_precopy(-1.0, 0.0, 1.0), "ram"),
        (lambda: predict_precopy(1.0, float("nan"), 1.0), "dirtying_rate"),
        (lambda: predict_precopy(1.0, 0.0, 0.0), "bandwidth"),
        (lambda: RateRule(600 * MBIT, 50 * MBIT, 500 * MBIT), "rate_control"),
        (lambda: RateRule(100 * MBIT, -1.0, 500 * MBIT), "rate_control"),
    ],
)
def test_impossible_inputs_are_refused_naming_the_field(call: object, field: str) -> None:
    """A negative or non-finite size or rate, or initial above maximum, raises RejuvError naming it."""
    assert callable(call)
    with pytest.raises(RejuvError) as caught:
        call()
    assert caught.value.what == field
