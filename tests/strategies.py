"""Hypothesis strategies for valid parameter sets of the cluster model.

Every set satisfies the validation rules of :class:`rejuv.model.Parameters` by
construction, so no example is thrown away:

- T_os from 1 h to 100 d and T_vmm from 1 h to 1 y (or T_vmm <= T_os on request);
- the OS rejuvenations take a share ``s`` <= 0.95 of T_os ((D_os + R_os) = s T_os), and every
  VMM activity (D_w + R_vmm, D_c + R'_vmm, n D_m, M_l, M_l_rc) at most 0.95 of what is left,
  (1 - s) T_vmm: so each downtime stays below its interval and nothing overlaps, with a margin
  that float rounding cannot eat;
- rates uniformly in [0, 1]; n from 2 to 40 VMs;
- p = n times a per-VM throughput from 560/11 req/s (the paper's) to 1,000 req/s, which keeps
  γ and γ' computed from the paper's Table 1 inside [0, 1] for every n up to 40 (the
  rate-control move time M(i) = -0.55 i + 89 stays positive up to i = 161);
- γ, γ' and γ'_rc each either set to a drawn rate or left unset (computed from Table 1).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st

from rejuv.model import Parameters, degradation_rates, load_preset, lookup

HOUR = 3600.0
DAY = 86400.0
YEAR = 365.25 * DAY
MOST = 0.95  # the largest share of a time budget one activity takes

PAPER = load_preset()  # supplies the Table 1 profiles; every number is drawn anew
PAPER_PER_VM_THROUGHPUT = 560.0 / 11.0  # p / n of paper Section 4, req/s

#: Fields that a cost can only grow with: downtimes, degraded periods and degradation rates.
DOWNTIMES = ("D_w", "D_c", "D_m", "D_os")
DEGRADED_PERIODS = ("R_vmm", "R_vmm_c", "R_os", "M_l", "M_l_rc")
DEGRADATION_RATES = ("omega", "omega_c", "delta", "gamma", "gamma_l", "gamma_l_rc")

rates = st.floats(0.0, 1.0)
shares = st.floats(0.0, MOST)
host_counts = st.integers(2, 10**6)


@st.composite
def interval_pairs(draw: st.DrawFn, vmm_within_os: bool = False) -> tuple[float, float]:
    """(T_vmm, T_os): T_os in [1 h, 100 d]; T_vmm in [1 h, 1 y], or in [1 h, T_os] if ``vmm_within_os``."""
    os_interval = draw(st.floats(HOUR, 100 * DAY))
    vmm_interval = draw(st.floats(HOUR, os_interval if vmm_within_os else YEAR))
    return vmm_interval, os_interval


#: T_vmm and T_os over their whole ranges, either one the longer.
ANY_INTERVALS = interval_pairs()


@st.composite
def parameter_sets(draw: st.DrawFn, intervals: st.SearchStrategy[tuple[float, float]] = ANY_INTERVALS) -> Parameters:
    """A valid parameter set (see the module docstring for the ranges)."""
    vmm_interval, os_interval = draw(intervals)
    n = draw(st.integers(2, 40))
    os_share = draw(shares)
    vmm_budget = (1.0 - os_share) * vmm_interval

    def split(total: float) -> tuple[float, float]:
        """A downtime and the degraded period after it, adding up to ``total``."""
        downtime = draw(st.floats(0.0, 1.0)) * total
        return downtime, max(total - downtime, 0.0)

    warm = split(draw(shares) * vmm_budget)
    cold = split(draw(shares) * vmm_budget)
    os_ = split(os_share * os_interval)
    optional_rate = st.one_of(st.none(), rates)
    return PAPER.replace(
        n=n,
        p=n * draw(st.floats(PAPER_PER_VM_THROUGHPUT, 1000.0)),
        T_vmm=vmm_interval,
        T_os=os_interval,
        D_w=warm[0],
        R_vmm=warm[1],
        D_c=cold[0],
        R_vmm_c=cold[1],
        D_os=os_[0],
        R_os=os_[1],
        D_m=draw(shares) * vmm_budget / n,
        M_l=draw(shares) * vmm_budget,
        M_l_rc=draw(shares) * vmm_budget,
        omega=draw(rates),
        omega_c=draw(rates),
        delta=draw(rates),
        gamma=draw(optional_rate),
        gamma_l=draw(optional_rate),
        gamma_l_rc=draw(optional_rate),
    )


def headroom(params: Parameters, key: str) -> float:
    """The largest value of ``key`` that the validation rules allow with every other field fixed."""
    f = {name: float(value) for name, value in params.as_dict().items() if value is not None}
    vmm, os_, n = f["vmm_interval"], f["os_interval"], f["vms_per_host"]
    vmm_free = vmm * (1.0 - (f["os_downtime"] + f["os_degraded_period"]) / os_)
    vmm_busy = max(
        f["warm_reboot_downtime"] + f["warm_reboot_degraded_period"],
        f["cold_reboot_downtime"] + f["cold_reboot_degraded_period"],
        n * f["migration_downtime"],
        f["live_migration_time"],
        f["live_migration_time_rate_control"],
    )
    os_free = os_ * (1.0 - vmm_busy / vmm)
    limits = {
        "D_w": vmm_free - f["warm_reboot_degraded_period"],
        "R_vmm": vmm_free - f["warm_reboot_downtime"],
        "D_c": vmm_free - f["cold_reboot_degraded_period"],
        "R_vmm_c": vmm_free - f["cold_reboot_downtime"],
        "D_m": vmm_free / n,
        "M_l": vmm_free,
        "M_l_rc": vmm_free,
        "D_os": os_free - f["os_degraded_period"],
        "R_os": os_free - f["os_downtime"],
    }
    return limits.get(key, 1.0)


def current(params: Parameters, key: str) -> float | None:
    """The value of ``key`` in ``params`` (None: an unset γ)."""
    value = params.as_dict()[lookup(key).name]
    return None if value is None else float(value)


@st.composite
def raised(
    draw: st.DrawFn,
    key: str,
    ceiling: Callable[[Parameters], float] | None = None,
    intervals: st.SearchStrategy[tuple[float, float]] = ANY_INTERVALS,
) -> tuple[Parameters, Parameters]:
    """A valid set and a copy in which ``key`` is at least as large, still valid and at most ``ceiling(set)``.

    An unset γ starts from the value computed from Table 1. The raise goes up to 99 % of the
    headroom, so the copy satisfies the rules with a margin.
    """
    params = draw(parameter_sets(intervals))
    before = current(params, key)
    if before is None:  # an unset γ: pin it to its Table 1 value first
        owner = {"gamma": "migration", "gamma_l": "live", "gamma_l_rc": "live_rate_control"}[key]
        before = float(degradation_rates(params)[owner])
        params = params.replace(**{key: before})
    top = headroom(params, key) if ceiling is None else min(headroom(params, key), ceiling(params))
    after = before + draw(st.floats(0.0, 0.99)) * max(top - before, 0.0)
    return params, params.replace(**{key: after})


def cold_os_count(params: Parameters) -> float:
    """floor(N_c) = floor((T_vmm - D_c) / T_os), the OS rejuvenations per T_vmm with cold reboots."""
    return float(np.floor((params.vmm_interval - params.cold_reboot_downtime) / params.os_interval))
