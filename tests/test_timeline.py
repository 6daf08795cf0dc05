"""The rejuvenation timeline (Figures 1 and 2) keeps the schedule the model's formulas count."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rejuv.errors import ParameterError
from rejuv.model import STRATEGIES, Parameters, load_preset
from rejuv.model.timeline import Interval, IntervalKind, Timeline, rejuvenation_timeline
from strategies import DAY, HOUR, YEAR, parameter_sets

# At most a few hundred OS rejuvenations per period, so that every example builds quickly.
FEW_PER_PERIOD = st.tuples(st.floats(HOUR, YEAR), st.floats(DAY, 100 * DAY))
VMM_WITHIN_OS = st.floats(DAY, 100 * DAY).flatmap(lambda os_: st.tuples(st.floats(HOUR, os_), st.just(os_)))
periods = st.integers(1, 4)
FAST = settings(max_examples=60)
PAPER = load_preset()
# Interval ends are times up to P T_vmm; a duration is exact to a few units in the last place of those.
ROUNDING = 1e-12


def n_warm(params: Parameters) -> float:
    """N_w = (T_vmm - D_w) / T_os, paper Section 2.1."""
    return float(STRATEGIES["warm"].os_rejuvenations(params))


def floor_n_cold(params: Parameters) -> int:
    """⌊N_c⌋, paper equation (3), with none when T_vmm <= T_os."""
    return int(STRATEGIES["cold"].os_rejuvenations(params))


def unavailable_time(params: Parameters, key: str) -> float:
    """(1 - A) T_vmm: downtime per period from paper equations (1) and (3)."""
    return float((1.0 - STRATEGIES[key].evaluate(params).availability) * params.vmm_interval)


def overlap(a: Interval, b: Interval) -> bool:
    return a.start < b.end and b.start < a.end


def last_os_downtime_fits(params: Parameters) -> bool:
    """The cold schedule's last OS downtime ends before the next cold reboot (the model assumes it)."""
    count = floor_n_cold(params)
    end = params.cold_reboot_downtime + count * params.os_interval + params.os_downtime
    return count == 0 or bool(end <= params.vmm_interval)


@FAST
@given(params=parameter_sets(FEW_PER_PERIOD), count=periods)
def test_cold_timeline_has_floor_n_c_os_rejuvenations_per_period(params: Parameters, count: int) -> None:
    """With Cold-VM Reboot every period holds exactly ⌊N_c⌋ = ⌊(T_vmm - D_c) / T_os⌋ OS rejuvenations."""
    timeline = rejuvenation_timeline(params, "cold", count)
    starts = np.array(timeline.os_rejuvenations)
    for k in range(count):
        in_period = (starts > k * timeline.vmm_interval) & (starts <= (k + 1) * timeline.vmm_interval)
        assert int(np.sum(in_period)) == floor_n_cold(params)


@FAST
@given(params=parameter_sets(VMM_WITHIN_OS), count=periods)
def test_cold_timeline_has_no_os_rejuvenation_when_t_vmm_is_at_most_t_os(params: Parameters, count: int) -> None:
    """When T_vmm <= T_os each cold reboot resets the OS timer first, so no OS rejuvenation ever happens."""
    timeline = rejuvenation_timeline(params, "cold", count)
    assert timeline.os_rejuvenations == ()
    assert timeline.of(IntervalKind.OS_DOWNTIME) == ()


@FAST
@given(params=parameter_sets(FEW_PER_PERIOD), count=periods)
def test_cold_os_rejuvenations_come_t_os_apart_after_each_timer_reset(params: Parameters, count: int) -> None:
    """A cold reboot restarts the OS timer when its downtime ends: OS rejuvenations follow at T_os, 2 T_os, ..."""
    timeline = rejuvenation_timeline(params, "cold", count)
    per_period = floor_n_cold(params)
    assert timeline.os_timer_resets == pytest.approx(
        [k * timeline.vmm_interval + float(params.cold_reboot_downtime) for k in range(count)]
    )
    expected = [
        reset + j * timeline.os_interval for reset in timeline.os_timer_resets for j in range(1, per_period + 1)
    ]
    assert timeline.os_rejuvenations == pytest.approx(expected, rel=1e-12)


@FAST
@given(params=parameter_sets(FEW_PER_PERIOD), count=periods)
def test_warm_os_rejuvenations_fall_short_of_periods_times_n_w_by_less_than_one(params: Parameters, count: int) -> None:
    """The OS clock runs T_vmm - D_w per period, so P periods hold the whole rejuvenations of P N_w: P N_w - 1 <= count < P N_w."""
    timeline = rejuvenation_timeline(params, "warm", count)
    expected = count * n_warm(params)
    assert expected - 1.0 - 1e-9 <= len(timeline.os_rejuvenations) <= expected + 1e-9


def test_warm_os_rejuvenations_per_period_approach_n_w(paper: Parameters) -> None:
    """Over many periods the mean count of OS rejuvenations per period tends to the unfloored N_w (3.99990 for the paper)."""
    for count in (10, 100, 1000):
        timeline = rejuvenation_timeline(paper, "warm", count)
        assert abs(len(timeline.os_rejuvenations) / count - n_warm(paper)) <= 1.0 / count
    assert len(rejuvenation_timeline(paper, "cold", 1000).os_rejuvenations) == 3 * 1000  # ⌊N_c⌋ = 3


@FAST
@given(params=parameter_sets(FEW_PER_PERIOD), count=periods, key=st.sampled_from(["warm", "cold"]))
def test_timeline_intervals_never_overlap_in_a_way_the_model_forbids(params: Parameters, count: int, key: str) -> None:
    """VMM intervals never overlap each other, OS intervals never overlap each other, and no OS interval overlaps a VMM downtime."""
    timeline = rejuvenation_timeline(params, key, count)
    vmm = [item for item in timeline.intervals if item.kind.is_vmm]
    os_ = [item for item in timeline.intervals if not item.kind.is_vmm]
    for track in (vmm, os_):
        for before, after in itertools.pairwise(track):
            assert before.end <= after.start
    for down in timeline.of(IntervalKind.VMM_DOWNTIME):
        assert not any(overlap(down, item) for item in os_)
    assert all(0.0 <= item.start < item.end <= timeline.horizon for item in timeline.intervals)


@FAST
@given(params=parameter_sets(FEW_PER_PERIOD), count=periods)
def test_cold_downtime_per_period_is_the_models_exactly(params: Parameters, count: int) -> None:
    """Cold-VM Reboot: total downtime over P periods is P (1 - A_c) T_vmm, while the last OS downtime ends before the next reboot."""
    timeline = rejuvenation_timeline(params, "cold", count)
    if last_os_downtime_fits(params):
        model = count * unavailable_time(params, "cold")
        assert timeline.downtime == pytest.approx(model, rel=1e-12, abs=ROUNDING * timeline.horizon)
    else:  # the next cold reboot cuts the last OS downtime short; the model counts it whole
        assert timeline.downtime < count * unavailable_time(params, "cold")


@FAST
@given(params=parameter_sets(FEW_PER_PERIOD), count=periods)
def test_warm_downtime_over_whole_periods_is_the_models_up_to_the_fractional_n_w(
    params: Parameters, count: int
) -> None:
    """Warm-VM Reboot: P D_w + the OS downtimes, within 2 D_os of P (1 - A_w) T_vmm (N_w is fractional, the timeline whole)."""
    timeline = rejuvenation_timeline(params, "warm", count)
    vmm_downtime = count * float(params.warm_reboot_downtime)
    assert timeline.total(IntervalKind.VMM_DOWNTIME) == pytest.approx(vmm_downtime, abs=ROUNDING * timeline.horizon)
    model = count * unavailable_time(params, "warm")
    assert abs(timeline.downtime - model) <= 2.0 * float(params.os_downtime) + ROUNDING * timeline.horizon


def test_warm_downtime_per_period_tends_to_the_models(paper: Parameters) -> None:
    """Over 1,000 periods of the paper's parameters the mean downtime per period is (1 - A_w) T_vmm within 2 D_os / 1,000."""
    timeline = rejuvenation_timeline(paper, "warm", 1000)
    assert abs(timeline.downtime / 1000 - unavailable_time(paper, "warm")) <= 2.0 * 41.0 / 1000


def test_a_cold_reboot_cuts_short_an_os_rejuvenation_still_running() -> None:
    """Cold: an OS rejuvenation still under way at the next cold reboot ends there (the reboot restarts the OS anyway)."""
    params = PAPER.replace(T_vmm=20 * DAY, T_os=(20 * DAY - 219.0 - 20.0) / 2)  # the 2nd starts 20 s before
    timeline = rejuvenation_timeline(params, "cold", 1)
    downtimes = timeline.of(IntervalKind.OS_DOWNTIME)
    assert len(timeline.os_rejuvenations) == 2
    assert downtimes[-1].end == 20 * DAY and downtimes[-1].duration == pytest.approx(20.0)


def test_a_warm_reboot_freezes_an_os_rejuvenation_under_way() -> None:
    """Warm: an OS rejuvenation under way at a warm reboot stops with the OS and goes on after the VMM downtime."""
    params = PAPER.replace(T_vmm=20 * DAY, T_os=20 * DAY - 59.0 - 20.0)  # due 20 s before the 2nd reboot
    timeline = rejuvenation_timeline(params, "warm", 2)
    first, second = timeline.of(IntervalKind.OS_DOWNTIME)[:2]
    assert timeline.os_rejuvenations[0] == pytest.approx(20 * DAY - 20.0)
    assert first.end == 20 * DAY and first.duration == pytest.approx(20.0)
    assert second.start == 20 * DAY + 59.0 and second.duration == pytest.approx(21.0)


def test_each_period_starts_with_the_vmm_rejuvenation(paper: Parameters) -> None:
    """Period k starts at k T_vmm with the VMM downtime, followed at once by its degraded period."""
    for key, down, degraded in (("warm", 59.0, 25.0), ("cold", 219.0, 397.0)):
        timeline = rejuvenation_timeline(paper, key, 3)
        assert [item.start for item in timeline.of(IntervalKind.VMM_DOWNTIME)] == list(timeline.vmm_rejuvenations)
        for item in timeline.of(IntervalKind.VMM_DOWNTIME):
            assert item.duration == pytest.approx(down)
        for item in timeline.of(IntervalKind.VMM_DEGRADED):
            assert item.duration == pytest.approx(degraded)


def test_timeline_rejects_what_it_cannot_draw(paper: Parameters) -> None:
    """Only warm and cold, a whole number of periods >= 1 and one parameter set are accepted."""
    with pytest.raises(ParameterError, match="strategy 'live'"):
        rejuvenation_timeline(paper, "live", 3)
    with pytest.raises(ParameterError, match="periods"):
        rejuvenation_timeline(paper, "warm", 0)
    grid = paper.replace(T_vmm=np.array([20.0, 28.0]) * DAY)
    with pytest.raises(ParameterError, match="one parameter set"):
        rejuvenation_timeline(grid, "warm", 1)


def test_timeline_is_a_frozen_value(paper: Parameters) -> None:
    """A timeline cannot be changed after it is built, and building it twice gives the same one."""
    timeline = rejuvenation_timeline(paper, "cold", 2)
    assert isinstance(timeline, Timeline)
    assert timeline == rejuvenation_timeline(paper, "cold", 2)
    with pytest.raises(AttributeError):
        timeline.periods = 3  # type: ignore[misc]
    assert math.isclose(timeline.horizon, 2 * 28 * DAY)
