"""Quantities with units: durations in seconds, rates as fractions, throughputs and counts as numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rejuv.model import format_duration, parse_duration, parse_rate
from rejuv.model.units import parse_number


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("59s", 59.0),  # D_w, paper Section 4
        ("6.5min", 390.0),
        ("28d", 28 * 86400.0),  # T_vmm, paper Section 4
        ("7 days", 7 * 86400.0),  # T_os, paper Section 4
        ("2 weeks", 14 * 86400.0),
        ("1.5h", 5400.0),
        ("250ms", 0.25),
        ("1 y", 365.25 * 86400.0),
        ("3 Hours", 10800.0),
        (" 41 s ", 41.0),
        ("1e3 s", 1000.0),
        (".5 min", 30.0),
    ],
)
def test_durations_read_with_their_unit(text: str, seconds: float) -> None:
    """A number with a time unit is read in seconds."""
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900.0), ("1h30m", 5400.0), ("90s", 90.0), ("2d12h", 216000.0), ("1m30s500ms", 90.5), ("1w1d", 691200.0)],
)
def test_prometheus_style_durations_read_in_seconds(text: str, seconds: float) -> None:
    """Prometheus' durations (15m, 1h30m, 90s: m is a minute) are read wherever a duration is."""
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-15)


@pytest.mark.parametrize("text", ["30m1h", "1h1h", "1m1min"])
def test_a_compound_duration_names_each_unit_once_largest_first(text: str) -> None:
    """A compound out of order or repeating a unit is refused, with an example of the right form."""
    with pytest.raises(ValueError, match=r"1h30m|cannot read"):
        parse_duration(text)


@pytest.mark.parametrize(("value", "seconds"), [("59", 59.0), ("219.5", 219.5), (59, 59.0), (1.5, 1.5)])
def test_bare_numbers_are_seconds(value: str | float, seconds: float) -> None:
    """A duration without a unit, as text or as a number, is in seconds."""
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(("value", "fraction"), [("61%", 0.61), ("35 %", 0.35), ("0.72", 0.72), (0.6, 0.6), (1, 1.0)])
def test_rates_read_as_fractions_or_percentages(value: str | float, fraction: float) -> None:
    """A rate is a fraction, or a percentage with "%" ("61%" is ω = 0.61, paper Section 4)."""
    assert parse_rate(value) == pytest.approx(fraction, rel=1e-15)


@pytest.mark.parametrize(("value", "number"), [("11", 11.0), ("560 req/s", 560.0), ("11 VMs", 11.0), (560, 560.0)])
def test_counts_and_throughputs_read_as_plain_numbers(value: str | float, number: float) -> None:
    """n and p are plain numbers, optionally with their own unit ("560 req/s", paper Section 4)."""
    assert parse_number(value) == number


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("59 parsecs", "unknown time unit 'parsecs' in '59 parsecs'; use one of s, min, h, d, w, y"),
        ("fast", "cannot read 'fast' as a number with an optional unit"),
        ("", "cannot read '' as a number with an optional unit"),
        ("5 5 s", "cannot read '5 5 s' as a number with an optional unit"),
        ("s", "cannot read 's' as a number with an optional unit"),
    ],
)
def test_bad_duration_text_is_refused_with_a_clear_message(text: str, message: str) -> None:
    """Text that is no number with a known time unit fails, quoting the text (and the units understood)."""
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("61 s", "unexpected unit 's' in '61 s'; a rate is a fraction or a percentage"),
        ("sixty", "cannot read 'sixty' as a number with an optional unit"),
    ],
)
def test_bad_rate_text_is_refused_with_a_clear_message(text: str, message: str) -> None:
    """A rate with a unit other than "%" fails, quoting the text."""
    with pytest.raises(ValueError, match="^" + message):
        parse_rate(text)


@pytest.mark.parametrize("reader", [parse_duration, parse_rate, parse_number])
def test_booleans_are_not_numbers(reader: object) -> None:
    """True is refused, not read as 1 (TOML `D_w = true` is a mistake, not one second)."""
    with pytest.raises(ValueError, match="got True"):
        reader(True)  # type: ignore[operator]


def test_a_throughput_in_other_units_is_refused() -> None:
    """p only takes req/s: "560 req/min" is refused rather than misread."""
    with pytest.raises(ValueError, match="unexpected unit 'req/min'"):
        parse_number("560 req/min")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (28 * 86400.0, "28 d"),  # T_vmm, paper Section 4
        (7 * 86400.0, "7 d"),
        (1_500_000.0, "17.36 d"),  # at least 10 d: days, to four digits
        (6.5 * 3600.0, "390 min"),  # not a whole number of hours, below 10 h: minutes state it exactly
        (36 * 3600.0, "36 h"),  # a whole number of hours below 10 d
        (390.0, "390 s"),  # not whole minutes and below 10 min: seconds
        (59.0, "59 s"),
        (1500.0, "25 min"),
        (0.0, "0 s"),
        (float("inf"), "inf"),
    ],
)
def test_durations_format_in_the_largest_unit_that_states_them(seconds: float, text: str) -> None:
    """d, h or min when the value is a whole number of that unit or at least 10 of it; else seconds."""
    assert format_duration(seconds) == text


@given(st.floats(1e-3, 1e9))
def test_formatted_durations_read_back_to_four_digits(seconds: float) -> None:
    """parse_duration(format_duration(x)) gives x back to the four significant digits shown."""
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=5e-4)
