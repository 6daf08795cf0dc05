"""Fitting a study's traces into one parameter set: measured where the traces allow, the preset elsewhere.

Each procedure's trace is fitted as ``rejuv fit`` fits it: a reboot or an OS
rejuvenation by segmenting its events (:func:`rejuv.trace.events.measure`), a
migration as Table 1 (:func:`rejuv.trace.migration_fit.fit_migration`). Every
value is then applied to the preset one at a time: a value the model refuses
(out of its range, or not finite) is not written; the note says why, and the
preset's value stays. n is the study's VMs; p the host's throughput before the
first procedure, measured in every trace and pooled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from rejuv.errors import RejuvError, TraceError
from rejuv.model import STRATEGIES, MigrationProfile, MigrationStrategy, Parameters, apply_overrides, lookup
from rejuv.trace.data import Trace
from rejuv.trace.events import Measured, combine, measure
from rejuv.trace.markers import MarkerKind
from rejuv.trace.migration_fit import fit_migration, migration_parameters
from rejuv.trace.segment import Estimate, Settings

__all__ = ["StudyFit", "fit_study", "host_throughput"]


@dataclass
class StudyFit:
    """What a study measured, and the parameters it makes with the preset."""

    parameters: Parameters  #: the preset with every valid measured value applied
    estimates: dict[str, Estimate] = field(default_factory=dict)  #: measured and applied, by paper symbol
    source: dict[str, str] = field(default_factory=dict)  #: the procedure each symbol was measured in
    profiles: dict[str, MigrationProfile] = field(default_factory=dict)  #: fitted Table 1 curves, by preset section
    events: dict[str, list[Measured]] = field(default_factory=dict)  #: segmented events, by procedure (figures)
    notes: list[str] = field(default_factory=list)  #: what could not be measured, and why
    #: rates the preset derives from its own n and p (γ, γ'), set for the migrations not measured here
    paper_rates: dict[str, float] = field(default_factory=dict)

    def apply(self, procedure: str, symbol: str, estimate: Estimate) -> None:
        """Apply ``estimate`` if the model takes it; else note it and keep the preset's value."""
        preset = self.parameters.as_dict().get(lookup(symbol).name)
        if not (math.isfinite(estimate.value) and math.isfinite(estimate.uncertainty)):
            self.notes.append(f"{symbol}: {procedure} gave {estimate.value:g}, not a number; the preset's is kept")
            return
        try:
            self.parameters = apply_overrides(self.parameters, {symbol: estimate.value})
        except RejuvError as err:
            self.notes.append(
                f"{symbol}: {procedure} measured {estimate}, which the model refuses ({err}); the preset's {preset} is kept"
            )
            return
        self.estimates[symbol] = estimate
        self.source[symbol] = procedure


def host_throughput(trace: Trace) -> Estimate:
    """p: the host's replies/s from the load's start to the procedure's first marker, with its standard error."""
    began = next((m.time for m in trace.markers if m.kind is MarkerKind.LOAD_STARTED), 0.0)
    first = min((m.time for m in trace.markers if m.kind is not MarkerKind.LOAD_STARTED), default=trace.duration)
    window = trace.host_throughput[math.ceil(began / trace.step) : int(first / trace.step)]
    if len(window) < 2:
        raise TraceError(trace.source, "fewer than 2 samples before the procedure to measure p")
    return Estimate(float(window.mean()), float(window.std(ddof=1) / math.sqrt(len(window))), "req/s")


def _pooled(estimates: list[Estimate]) -> Estimate:
    values = np.array([e.value for e in estimates])
    error = math.sqrt(sum(e.uncertainty**2 for e in estimates)) / len(estimates)
    return Estimate(float(values.mean()), error, estimates[0].unit)


def fit_study(traces: Mapping[str, Trace], base: Parameters, settings: Settings, vms: int) -> StudyFit:
    """Fit every procedure's trace (by procedure name) onto ``base``; ``vms`` is the study's n."""
    fit = StudyFit(base)
    fit.apply("the study", "n", Estimate(float(vms), 0.0, ""))
    rates = []
    for trace in traces.values():
        try:
            rates.append(host_throughput(trace))
        except RejuvError as err:
            fit.notes.append(f"p: {err}")
    if rates:
        fit.apply(", ".join(traces), "p", _pooled(rates))
    for procedure, trace in traces.items():
        item = STRATEGIES.get(procedure)
        try:
            if isinstance(item, MigrationStrategy):
                _fit_migration(fit, procedure, item, trace, settings)
            else:
                fit.events[procedure] = measure(trace, procedure, settings)
                for symbol, estimate in combine(fit.events[procedure]).items():
                    fit.apply(procedure, symbol, estimate)
        except RejuvError as err:
            fit.notes.append(f"{procedure}: could not be fitted ({err}); its parameters stay the preset's")
    _paper_rates(fit, base)
    return fit


def _paper_rates(fit: StudyFit, base: Parameters) -> None:
    """Set γ of each migration not measured here to the paper's, as its own n and p give it.

    The paper's Table 1 curves were measured over its 11 VMs at 560 req/s; read at this study's n and p
    (scaled by the per-VM load) they give the γ of the paper's first n moves only (0.43 for stop-and-copy at
    n = 3, p = 30, against 0.60), an extrapolation nobody measured. The rate they gave the paper is what the
    paper compared.
    """
    for item in STRATEGIES.values():
        if not isinstance(item, MigrationStrategy) or (symbol := lookup(item.rate_field).symbol) in fit.estimates:
            continue
        rate = float(item.degradation_rate(base))
        fit.parameters = apply_overrides(fit.parameters, {symbol: rate})
        fit.paper_rates[symbol] = rate


def _fit_migration(fit: StudyFit, procedure: str, item: MigrationStrategy, trace: Trace, settings: Settings) -> None:
    fitted = fit_migration([trace], live=item.live, settings=settings)
    fit.notes += [f"{procedure}: {note}" for note in fitted.notes]
    for symbol, estimate in migration_parameters(fitted, item).items():
        fit.apply(procedure, symbol, estimate)
    if fitted.degradation is None:
        return  # the curves without their rate would give the model a γ nobody measured
    try:
        fit.parameters = fit.parameters.replace(**{item.profile_field: fitted.profile})
    except RejuvError as err:
        fit.notes.append(f"{procedure}: its Table 1 curves are refused by the model ({err}); the preset's are kept")
        return
    fit.profiles[item.profile_section] = fitted.profile
