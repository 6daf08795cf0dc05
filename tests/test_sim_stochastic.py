"""Beyond the closed form: random durations, software-aging failures, parallel migrations, replications."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rejuv.errors import ParameterError
from rejuv.model import STRATEGIES, Parameters
from rejuv.sim import AgingModel, DurationModel, MeanInterval, SimConfig, replicate, simulate
from rejuv.sim.phases import vmm_profile

DAY = 86400.0


def _model_loss(params: Parameters, strategy: str, hosts: int) -> float:
    return 1.0 - float(STRATEGIES[strategy].evaluate(params, hosts).normalized_throughput)


@pytest.mark.parametrize("law", ["lognormal", "gamma"])
def test_duration_factors_have_mean_one_and_the_asked_coefficient_of_variation(law: str) -> None:
    """Each law multiplies the means by X with E[X] = 1 and std(X) = c (200,000 seeded draws, 1 % and 3 %)."""
    factors = DurationModel.parse(f"{law}:0.4").factors((200_000,), np.random.default_rng(7))
    assert factors.mean() == pytest.approx(1.0, rel=0.01)
    assert factors.std() == pytest.approx(0.4, rel=0.03)
    assert factors.min() > 0


def test_durations_option_rejects_a_law_without_variation() -> None:
    """``lognormal`` without a coefficient of variation names the option and the form expected."""
    with pytest.raises(ParameterError, match="--durations: expected fixed, lognormal:CV"):
        DurationModel.parse("lognormal")


def test_random_durations_keep_the_models_mean_loss(paper: Parameters) -> None:
    """Warm-VM Reboot, lognormal durations with c = 0.5: the mean loss of 20 replications is the model's within 1 %."""
    config = SimConfig(strategy="warm", hosts=50, durations=DurationModel.parse("lognormal:0.5"), seed=3)
    runs = replicate(paper, config, 20)
    assert runs.loss.mean == pytest.approx(_model_loss(paper, "warm", 50), rel=0.01)
    assert runs.loss.half_width > 0


def test_same_seed_gives_the_same_run_and_another_seed_another(paper: Parameters) -> None:
    """A random run is a function of its seed: equal for equal seeds, different otherwise."""
    config = SimConfig(strategy="cold", hosts=20, durations=DurationModel.parse("gamma:0.3"), seed=11)
    assert simulate(paper, config).loss == simulate(paper, config).loss
    assert simulate(paper, config).loss != simulate(paper, config.replace(seed=12)).loss


def test_variable_migrations_make_one_spare_queue_below_saturation(paper: Parameters) -> None:
    """T_vmm = 1 d, m = 500, instant reboot: one spare is busy 95 % of the time; fixed durations never wait,
    lognormal ones (c = 0.5) do, and lose more than the closed form."""
    daily = paper.replace(T_vmm=DAY)
    fixed = SimConfig(strategy="migration", hosts=500, spare_reboot_time=0.0)
    assert simulate(daily, fixed).wait_seconds == 0
    varied = simulate(daily, fixed.replace(durations=DurationModel.parse("lognormal:0.5")))
    assert varied.wait_seconds > 0
    assert varied.loss > 1.05 * _model_loss(daily, "migration", 500)


def test_weibull_failure_count_is_the_expected_number(paper: Parameters) -> None:
    """k = 2, MTTF 200 d, T_vmm 28 d: each of 2,000 × 13 intervals of T_vmm - D_w fails with F(L) = 1 - exp(-(L/λ)²);
    the count is within 4 standard deviations of m K F(L) (second failures in one interval are rarer than 1 in 60)."""
    aging = AgingModel(2.0, 200 * DAY, 900.0)
    result = simulate(paper, SimConfig(strategy="warm", hosts=2000, aging=aging, seed=5))
    interval = float(paper.vmm_interval - paper.warm_reboot_downtime)
    expected = 2000 * 13 * float(aging.failure_probability(interval))
    assert abs(result.failures - expected) < 4 * math.sqrt(expected)


def test_rejuvenating_more_often_prevents_aging_failures(paper: Parameters) -> None:
    """With a hazard that grows with age (k = 3), T_vmm = 7 d has under a quarter of the failures per day of 28 d."""
    aging = AgingModel(3.0, 60 * DAY, 900.0)
    weekly = simulate(paper.replace(T_vmm=7 * DAY), SimConfig(strategy="warm", hosts=300, periods=52, aging=aging))
    monthly = simulate(paper, SimConfig(strategy="warm", hosts=300, periods=13, aging=aging))
    assert weekly.failures > 0
    assert weekly.failures / weekly.horizon < 0.25 * monthly.failures / monthly.horizon


def test_each_failure_costs_its_downtime_and_a_cold_reboots_degraded_period(paper: Parameters) -> None:
    """Loss in force (lost + overlap) grows by failures × (failure downtime + ω' R'_vmm) host-seconds, exactly."""
    aging = AgingModel(2.0, 40 * DAY, 1800.0)
    base = simulate(paper, SimConfig(strategy="warm", hosts=200))
    aged = simulate(paper, SimConfig(strategy="warm", hosts=200, aging=aging))
    each = 1800.0 + float(paper.cold_reboot_degradation * paper.cold_reboot_degraded_period)
    added = aged.lost_host_seconds + aged.overlap_host_seconds - base.lost_host_seconds - base.overlap_host_seconds
    assert aged.failures > 0
    assert added == pytest.approx(aged.failures * each, rel=1e-9)


def test_aging_option_reads_shape_mean_time_and_downtime() -> None:
    """``2:60d:15min`` is a Weibull shape 2 with a mean of 60 days and a 15-minute failure downtime."""
    aging = AgingModel.parse("2:60d:15min")
    assert (aging.shape, aging.mean_time_to_failure, aging.downtime) == (2.0, 60 * DAY, 900.0)
    assert aging.scale * math.gamma(1.5) == pytest.approx(60 * DAY)


def test_aging_option_names_a_malformed_value() -> None:
    """A wrong --aging value is a ParameterError naming the option and the form expected."""
    with pytest.raises(ParameterError, match="--aging: expected SHAPE:MTTF:DOWNTIME"):
        AgingModel.parse("2:60d")


def test_parallel_moves_keep_the_migration_time_in_fewer_phases(paper: Parameters) -> None:
    """Moving the n = 11 VMs 4 at a time is 3 phases that still take n D_m in all."""
    profile = vmm_profile(paper, SimConfig(strategy="migration", hosts=10, parallel_moves=4))
    assert profile.durations.size == 3
    assert profile.length == pytest.approx(float(paper.vms_per_host * paper.migration_downtime))


def test_parallel_stop_and_copy_loses_more_than_one_by_one(paper: Parameters) -> None:
    """Stop-and-copy 4 at a time stops each VM for its whole batch: more loss than moving them one by one."""
    one = simulate(paper, SimConfig(strategy="migration", hosts=50))
    four = simulate(paper, SimConfig(strategy="migration", hosts=50, parallel_moves=4))
    assert four.lost_host_seconds > one.lost_host_seconds


def test_student_t_interval_of_a_known_sample() -> None:
    """1, 2, 3, 4: mean 2.5, s = 1.2910, t(0.975, 3) = 3.18245 (any t table), half-width 2.0543."""
    interval = MeanInterval.of([1.0, 2.0, 3.0, 4.0])
    assert interval.mean == 2.5
    assert interval.half_width == pytest.approx(3.182446 * math.sqrt(5 / 3) / 2, rel=1e-6)


def test_replication_i_does_not_depend_on_how_many_run(paper: Parameters) -> None:
    """The first three of five replications are the three of a run of three: each has its own child seed."""
    config = SimConfig(strategy="warm", hosts=20, durations=DurationModel.parse("gamma:0.5"), seed=9)
    three = [r.loss for r in replicate(paper, config, 3).results]
    five = [r.loss for r in replicate(paper, config, 5).results]
    assert five[:3] == three
    assert len(set(five)) == 5


def test_deterministic_replications_have_no_spread(paper: Parameters) -> None:
    """Without anything random, every replication is the same run: a zero-width interval."""
    runs = replicate(paper, SimConfig(strategy="live", hosts=20), 3)
    assert runs.loss.half_width == 0.0
