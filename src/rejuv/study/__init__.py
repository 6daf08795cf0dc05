"""rejuv.study: the whole paper measured on the user's own machine, in one command (``rejuv lab study``).

A study runs every lab procedure the model can fit on one configuration
(:mod:`~rejuv.study.plan`), each into its own trace, resuming where an
earlier run stopped (:mod:`~rejuv.study.run`); fits the traces into one
parameter set, measured where it can be and the paper's preset elsewhere
(:mod:`~rejuv.study.measure`); and writes ``measured.toml``, Figures 3 to 7
and a summary that sets the verdict from these measurements beside the
paper's (:mod:`~rejuv.study.outputs`). It sits on top of the lab, the trace
fits and the report; the command line only parses and prints.
"""

from __future__ import annotations

from rejuv.study.measure import StudyFit, fit_study
from rejuv.study.outputs import MEASURED_FILE, report_study
from rejuv.study.plan import StudySettings, planned_seconds, study_procedures
from rejuv.study.run import Cost, Runner, run_study, trace_path

__all__ = [
    "StudySettings",
    "study_procedures",
    "planned_seconds",
    "run_study",
    "report_study",
    "Runner",
    "Cost",
    "trace_path",
    "StudyFit",
    "fit_study",
    "MEASURED_FILE",
]
