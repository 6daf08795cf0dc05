"""What a study runs: every lab procedure the model can fit, on one configuration, and how long it should take.

:func:`study_procedures` asks the lab which procedures it has
(:data:`rejuv.lab.experiment.PROCEDURE_NAMES`) and keeps those whose trace
fits model parameters: an event kind of :func:`rejuv.trace.events.event_kinds`
(warm, cold, os) or a migration strategy of the registry (migration, live, and
live_rate_control once the lab has it). A procedure added to the lab under a
strategy's key joins the study with no change here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rejuv.lab.errors import LabError
from rejuv.lab.experiment import PROCEDURE_NAMES, Experiment
from rejuv.model import STRATEGIES, MigrationStrategy
from rejuv.trace.events import event_kinds

__all__ = ["StudySettings", "DEFAULT_RUN", "study_procedures", "planned_seconds", "time_left", "BOOT_SECONDS"]

BOOT_SECONDS = 20.0  #: s to boot the VMs and find the accelerator, beyond the load (TCG on a loaded 2-core host)
#: s the procedure itself takes per VM, as measured on the 2-core machine (docs/lab.md); others: UNKNOWN_SECONDS
_PER_VM_SECONDS = {"warm": 1.0, "cold": 8.0, "os": 4.0, "migration": 3.0, "live": 3.0, "live_rate_control": 10.0}
UNKNOWN_SECONDS = 30.0


def study_procedures() -> tuple[str, ...]:
    """The lab procedures whose traces give model parameters, in the lab's order."""
    fitted = set(event_kinds()) | {key for key, item in STRATEGIES.items() if isinstance(item, MigrationStrategy)}
    return tuple(name for name in PROCEDURE_NAMES if name in fitted)


#: The study's default run: small enough for the whole study to take about 8 minutes on 2 cores (docs/lab.md).
DEFAULT_RUN = Experiment(vms=3, rate=10.0, before=20.0, after=40.0, memory_mb=128, step=0.25)


@dataclass(frozen=True)
class StudySettings:
    """The one configuration every procedure of a study runs on: ``run`` with each procedure in turn.

    ``run``'s own procedure is replaced; ``link`` (tc units; None: the lab's
    default) goes to the migration procedures. Raises :class:`LabError` naming
    the field for a bad value: ``procedures`` for an unknown procedure, ``link``
    without a migration procedure, every other as :class:`Experiment` checks it.
    """

    procedures: tuple[str, ...] = ()  #: which to run; empty: every one of :func:`study_procedures`
    run: Experiment = DEFAULT_RUN
    link: str | None = None

    def __post_init__(self) -> None:
        known = study_procedures()
        for name in self.procedures:
            if name not in known:
                raise LabError("procedures", f"must be among {', '.join(known)}, got {name!r}")
        if len(set(self.procedures)) != len(self.procedures):
            raise LabError("procedures", f"names a procedure twice: {', '.join(self.procedures)}")
        runs = [self.experiment(name) for name in self.chosen]  # every field checked, before anything runs
        if self.link is not None and not any(run.multi_host for run in runs):
            raise LabError("link", "only the migration procedures use the link, and none is chosen")

    @property
    def chosen(self) -> tuple[str, ...]:
        """The procedures to run, in the lab's order."""
        every = study_procedures()
        return tuple(name for name in every if not self.procedures or name in self.procedures)

    def experiment(self, procedure: str) -> Experiment:
        """The lab run of ``procedure`` on this configuration."""
        plain = replace(self.run, procedure=procedure, link=None, os_vm=0, parallel_moves=1)
        return replace(plain, link=self.link) if plain.multi_host and self.link is not None else plain


def planned_seconds(experiment: Experiment) -> float:
    """The wall time a run should take, s: boot, the load before and after, and the procedure."""
    own = _PER_VM_SECONDS.get(experiment.procedure)
    procedure = UNKNOWN_SECONDS if own is None else own * experiment.vms
    return BOOT_SECONDS + experiment.before + experiment.after + procedure


def time_left(planned: Sequence[float], done: Sequence[tuple[float, float]]) -> float:
    """Seconds left for runs ``planned`` (s each), scaled by how finished runs' (planned, taken) compared."""
    ratio = sum(taken for _, taken in done) / sum(plan for plan, _ in done) if done else 1.0
    return ratio * sum(planned)
