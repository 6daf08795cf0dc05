"""The deterministic simulator does the closed form's accounting: its loss 1 - P/(m p) matches the model's."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rejuv.model import STRATEGIES, Parameters
from rejuv.sim import SimConfig, periods_for, simulate, validate_against_model
from rejuv.sim.phases import vmm_profile
from strategies import parameter_sets

TOLERANCE = 1e-3  #: the issue's 0.1 % on the loss


@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize("hosts", [2, 10, 100, 1000])
def test_paper_preset_loss_matches_closed_form_within_a_tenth_of_a_percent(
    paper: Parameters, strategy: str, hosts: int
) -> None:
    """On the paper's parameters every strategy's simulated loss is the model's to within 0.1 % relative."""
    (comparison,) = validate_against_model(paper, [hosts], [strategy])
    assert comparison.reasons == ()
    assert comparison.sim_loss == pytest.approx(comparison.model_loss, rel=TOLERANCE)


@pytest.mark.parametrize("strategy", ["migration", "live", "live_rate_control"])
def test_serving_hosts_loss_matches_the_model_limit(paper: Parameters, strategy: str) -> None:
    """Without the spare factor, the serving hosts' loss is the model's 1 - (A - degradation) (its m -> ∞ limit)."""
    result = simulate(paper, SimConfig(strategy=strategy, hosts=100, periods=13))
    limit = float(STRATEGIES[strategy].evaluate(paper, 100).limit)
    assert result.serving_loss == pytest.approx(1.0 - limit, rel=TOLERANCE)


def test_live_migration_and_cold_reboot_match_to_rounding(paper: Parameters) -> None:
    """Where the model counts whole events (cold: ⌊N_c⌋; live: the whole migration), the match is exact to 1e-9."""
    for strategy in ("cold", "live"):
        (comparison,) = validate_against_model(paper, [100], [strategy])
        assert abs(comparison.relative_difference) < 1e-9


def test_warm_reboot_whole_os_rejuvenations_approximate_the_fractional_average(paper: Parameters) -> None:
    """Warm-VM Reboot's N_w is fractional; whole OS rejuvenations over 13 periods differ from it by < 1e-4 relative, not 0."""
    (comparison,) = validate_against_model(paper, [100], ["warm"], periods=13)
    assert 0 < abs(comparison.relative_difference) < 1e-4


def test_event_count_is_every_state_change(paper: Parameters) -> None:
    """Warm reboot: 3 state changes per VMM rejuvenation (down, degraded, normal) and 3 per OS rejuvenation."""
    result = simulate(paper, SimConfig(strategy="warm", hosts=10, periods=13))
    assert result.vmm_rejuvenations == 10 * 13
    assert result.events == 3 * result.vmm_rejuvenations + 3 * result.os_rejuvenations
    expected_os = 11 * 10 * 13 * float(STRATEGIES["warm"].os_rejuvenations(paper))
    assert abs(result.os_rejuvenations - expected_os) <= 11


def _events_estimate(params: Parameters, hosts: int, periods: int) -> float:
    per_period = float(params.vmm_interval / params.os_interval)
    return hosts * periods * (2 + 3 * float(params.vms_per_host) * (per_period + 1))


@settings(max_examples=60)
@given(params=parameter_sets(), strategy=st.sampled_from(list(STRATEGIES)), draw=st.data())
def test_random_valid_parameters_match_where_the_assumptions_hold(
    params: Parameters, strategy: str, draw: st.DataObject
) -> None:
    """On random valid parameter sets, with no spare-host wait, overlap or capacity cut, the loss is the model's within 0.1 %.

    The serving hosts' lost host-seconds are compared with the model's 1 - (its m -> ∞ limit): the same
    quantity without the spare factor, and without the cancellation of 1 - P/(m p) when losses are tiny.
    """
    config = SimConfig(strategy=strategy, spare_reboot_time=0.0)
    serving_most = 30
    if config.uses_spares:
        hold = vmm_profile(params, config).spare_hold
        if hold > 0:
            serving_most = max(1, math.floor(min(30.0, float(params.vmm_interval) / hold)))
    hosts = draw.draw(st.integers(2, serving_most + 1 if config.uses_spares else serving_most), label="hosts")
    periods = periods_for(params, strategy, hosts, TOLERANCE)
    assume(_events_estimate(params, hosts, periods) < 400_000)
    (comparison,) = validate_against_model(params, [hosts], [strategy], config, TOLERANCE, periods)
    assume(comparison.reasons == ())
    result = comparison.result
    simulated = result.lost_host_seconds / (result.config.serving_hosts * result.horizon)
    model = 1.0 - float(STRATEGIES[strategy].evaluate(params, hosts).limit)
    # the model's 1 - limit cannot hold a loss below a few float epsilons; the absolute floor is that resolution
    assert simulated == pytest.approx(model, rel=TOLERANCE, abs=1e-14)
