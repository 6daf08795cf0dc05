"""How much of its own throughput each VM kept while it migrated, from a run's request record."""

from __future__ import annotations

from rejuv.lab.experiment import ExperimentResult
from rejuv.lab.load import reply_rates
from rejuv.trace.markers import MarkerKind

__all__ = ["kept_throughput"]


def kept_throughput(result: ExperimentResult, baseline: float) -> dict[str, float]:
    """Each moved VM's replies/s during its move over its own replies/s in the ``baseline`` s before the first move.

    Moves are the run's ``migration-started``/``migration-ended`` markers; a VM whose move
    did not end is left out. The baseline is taken before the evacuation, not before each
    move, so that later VMs are not judged against a window the earlier moves disturbed.
    Raises :class:`~rejuv.lab.errors.LabError` for a ``baseline`` that is not > 0, and
    StopIteration for a run without a move.
    """
    names = list(result.trace.vm_names)
    evacuated = result.start + result.marker_time(MarkerKind.MIGRATION_STARTED)
    before = reply_rates(result.requests, len(names), evacuated - baseline, evacuated)
    began = {m.subject: m.time for m in result.markers if m.kind is MarkerKind.MIGRATION_STARTED}
    kept: dict[str, float] = {}
    for marker in result.markers:
        name = marker.subject
        if marker.kind is MarkerKind.MIGRATION_ENDED and name is not None and name in began:
            vm = names.index(name)
            during = reply_rates(result.requests, len(names), result.start + began[name], result.start + marker.time)
            kept[name] = during[vm] / before[vm]
    return kept
