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


def test_stop_and_copy_reports_its_one_round_bytes_and_rate() -> None:
    """Stop-and-copy's one round carries the whole RAM at the link's rate."""
    prediction = predict_stop_and_copy(2**28, 1000 * MBIT)
    assert (prediction.round_bytes, prediction.round_rates) == ((2.0**28,), (1000 * MBIT,))


def test_a_link_slower_than_one_byte_per_second_is_still_a_link() -> None:
    """Any positive finite bandwidth is accepted: 1 byte at 0.5 bytes/s takes 2 s."""
    assert predict_stop_and_copy(1.0, 0.5).downtime == 2.0


def test_a_guest_with_no_ram_migrates_in_no_time() -> None:
    """RAM 0 is a size, not an error: nothing to send, so no time."""
    assert predict_precopy(0.0, 0.0, 1.0).total_time == 0.0


def test_unlimited_precopy_stops_once_three_times_the_ram_has_been_sent() -> None:
    """100 MB dirtied at 90 MB/s over 100 MB/s never fits 0.3 s soon: after 100 + 90 + 81 + 72.9 MB (> 300 MB) it stops."""
    prediction = predict_precopy(100e6, 90e6, 100e6)
    assert prediction.round_bytes == pytest.approx((100e6, 90e6, 81e6, 72.9e6, 65.61e6))


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ((100 * MBIT, FINAL_REMAINING, 3, 0.0, 1e9), None),
        ((100 * MBIT, 1e6, 3, 3e9, 1e9), None),
    ],
)
def test_pre_copy_goes_on_at_exactly_256_kib_left_or_exactly_three_times_the_ram_sent(
    arguments: tuple[float, float, int, float, float], reason: str | None
) -> None:
    """The bounds are strict: exactly 256 KiB left, or exactly 3x the RAM sent, is no reason to stop yet."""
    assert stop_reason(RateRule(), *arguments) == reason


def test_the_narrowest_rate_rule_is_accepted() -> None:
    """initial = maximum = 1 byte/s with no increment meets 0 < initial <= maximum and increment >= 0."""
    assert RateRule(1.0, 0.0, 1.0).next_rate(0.0) == 1.0


def test_a_rate_rule_starting_at_zero_is_refused() -> None:
    """An initial rate of 0 would never send the first round: refused, naming rate_control."""
    with pytest.raises(RejuvError) as caught:
        RateRule(0.0, 50 * MBIT, 500 * MBIT)
    assert caught.value.what == "rate_control"


def test_an_impossible_rate_rule_says_the_rule_and_its_rates_in_mbit_per_s() -> None:
    """initial above maximum: the error states the rule and the rates given, in Mbit/s."""
    with pytest.raises(RejuvError) as caught:
        RateRule(600 * MBIT, 50 * MBIT, 500 * MBIT)
    assert caught.value.why == "needs 0 < initial <= maximum and increment >= 0, got 600, 50, 500 Mbit/s"


def test_a_non_finite_rate_rule_is_refused_naming_rate_control_and_the_rates() -> None:
    """An infinite maximum is refused as rate_control, saying the rates must be finite."""
    with pytest.raises(RejuvError) as caught:
        RateRule(100 * MBIT, 50 * MBIT, float("inf"))
    assert (caught.value.what, caught.value.why) == (
        "rate_control",
        f"rates must be finite, got {(100 * MBIT, 50 * MBIT, float('inf'))}",
    )


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (lambda: predict_precopy(-1.0, 0.0, 1.0), "must be a finite number >= 0, got -1"),
        (lambda: predict_precopy(1.0, 0.0, 0.0), "must be a finite number > 0 bytes/s, got 0"),
    ],
)
def test_an_impossible_size_or_bandwidth_says_what_is_allowed(call: object, why: str) -> None:
    """The error for a negative RAM or a zero bandwidth states the allowed range and the value given."""
    assert callable(call)
    with pytest.raises(RejuvError) as caught:
        call()
    assert caught.value.why == why
