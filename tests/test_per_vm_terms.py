"""Terms that follow the host's n and p: D_w(n) and D_c(n) are proportional to n; Table 1 to the per-VM load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rejuv.model import Parameters, apply_overrides, degradation_rates, iter_grid, load_parameter_file


@given(n=st.integers(1, 400))
def test_warm_and_cold_downtimes_scale_linearly_with_n(paper: Parameters, n: int) -> None:
    """Changing n alone carries D_w and D_c from the preset's 11 VMs to n: 59 s n / 11 and 219 s n / 11."""
    scaled = paper.replace(n=n)
    assert float(scaled.warm_reboot_downtime) == pytest.approx(59.0 * n / 11, rel=1e-14)
    assert float(scaled.cold_reboot_downtime) == pytest.approx(219.0 * n / 11, rel=1e-14)
    assert float(scaled.warm_reboot_degraded_period) == 25.0  # only the per-VM terms follow n


def test_at_n_11_the_preset_values_stand(paper: Parameters) -> None:
    """The preset at its own n = 11, or set back to it, has the paper's D_w(11) = 59 s and D_c(11) = 219 s."""
    assert float(paper.warm_reboot_downtime) == 59.0 and float(paper.cold_reboot_downtime) == 219.0
    back = paper.replace(n=22).replace(n=11)
    assert float(back.warm_reboot_downtime) == 59.0 and float(back.cold_reboot_downtime) == 219.0


def test_a_downtime_given_with_n_is_taken_as_given(paper: Parameters) -> None:
    """--set n=4 --set D_w=2s: D_w(4) is the 2 s given; D_c, not given, still follows n."""
    mine = apply_overrides(paper, {"n": "4", "D_w": "2s"})
    assert float(mine.warm_reboot_downtime) == 2.0
    assert float(mine.cold_reboot_downtime) == pytest.approx(219.0 * 4 / 11)


def test_a_parameter_file_with_n_but_no_downtime_scales_it(paper: Parameters, tmp_path: Path) -> None:
    """A file that sets n = 2 and D_os (as `rejuv fit` of an OS rejuvenation writes) carries D_w and D_c to n = 2."""
    path = tmp_path / "measured.toml"
    path.write_text('n = 2\np = "20 req/s"\nD_os = "11s"\n')
    mine = load_parameter_file(path, paper)
    assert float(mine.warm_reboot_downtime) == pytest.approx(59.0 * 2 / 11)
    assert float(mine.cold_reboot_downtime) == pytest.approx(219.0 * 2 / 11)


def test_a_grid_over_n_carries_the_downtimes_with_it(paper: Parameters) -> None:
    """iter_grid over n gives D_w(n) = 59 s n / 11 at every point, as replace does."""
    [(_, chunk)] = list(iter_grid(paper, {"n": [1.0, 11.0, 40.0]}))
    np.testing.assert_allclose(chunk.warm_reboot_downtime, [59 / 11, 59.0, 59 * 40 / 11], rtol=1e-14)
    np.testing.assert_allclose(chunk.cold_reboot_downtime, [219 / 11, 219.0, 219 * 40 / 11], rtol=1e-14)


@given(p=st.floats(1.0, 5000.0))
def test_table_1_degradation_does_not_depend_on_p(paper: Parameters, p: float) -> None:
    """Table 1's throughputs scale with the host's per-VM load, so γ, γ' at the paper's n = 11 stay the paper's at any p."""
    rates = degradation_rates(paper.replace(p=p))
    for key, value in degradation_rates(paper).items():
        assert float(rates[key]) == pytest.approx(float(value), rel=1e-12)
    assert float(degradation_rates(paper)["migration"]) == pytest.approx(0.60, abs=0.01)
