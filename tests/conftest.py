"""Shared test set-up: one seeded hypothesis profile, and the paper's parameters as fixtures."""

from __future__ import annotations

import pytest
from hypothesis import settings

from rejuv.model import Parameters, Preset, read_preset

# Property tests are specifications, not fuzzing campaigns: the same examples on every run
# (derandomize), no wall-clock deadline on a loaded 2-core machine, and enough examples to
# cover the parameter space while the whole model suite stays well under a minute.
settings.register_profile("rejuv", deadline=None, derandomize=True, max_examples=100, print_blob=True)
settings.load_profile("rejuv")


@pytest.fixture(scope="session")
def paper_preset() -> Preset:
    """The kourai2008 preset: paper Section 4 and Table 1, with the values the paper reports."""
    return read_preset("kourai2008")


@pytest.fixture(scope="session")
def paper(paper_preset: Preset) -> Parameters:
    """The paper's measured parameters (Section 4, Table 1)."""
    return paper_preset.parameters
