"""One parameter set as plain floats: Parameters.scalar() and the one error every single-set consumer gives for a grid."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from rejuv.errors import ParameterError
from rejuv.model import NUMERIC_FIELDS, Parameters, crossovers
from rejuv.model.timeline import rejuvenation_timeline
from rejuv.report.figure7 import figure7_data
from rejuv.sim import SimConfig, simulate
from rejuv.trace import event_from_parameters

DAY = 86400.0


def test_a_point_reads_every_set_value_as_a_plain_float(paper: Parameters) -> None:
    """Each set numeric field reads as a Python float equal to the field, by name, by symbol and with get."""
    point = paper.scalar()
    for name in NUMERIC_FIELDS:
        value = getattr(paper, name)
        if value is None:
            continue
        assert type(getattr(point, name)) is float
        assert getattr(point, name) == float(value) == point[name] == point.get(name)
    assert point["D_w"] == 59.0 and point["T_vmm"] == 28 * DAY


def test_a_point_keeps_an_unset_value_unset(paper: Parameters) -> None:
    """An unset γ is None through get and a ParameterError naming it otherwise; an unknown attribute is an AttributeError."""
    point = paper.scalar()
    assert point.get("gamma") is None
    with pytest.raises(ParameterError, match=r"migration_degradation \(gamma\): missing"):
        _ = point.migration_degradation
    with pytest.raises(ParameterError, match="missing"):
        _ = point["gamma"]
    with pytest.raises(AttributeError):
        _ = point.no_such_field
    assert point.parameters is paper


CONSUMERS: dict[str, tuple[str, Callable[[Parameters], object]]] = {
    "timeline": ("a timeline", lambda grid: rejuvenation_timeline(grid, "warm", 1)),
    "simulator": ("the simulator", lambda grid: simulate(grid, SimConfig(hosts=2, periods=13))),
    "synthetic trace": ("a synthetic trace", lambda grid: event_from_parameters(grid, "warm", 0.0)),
    "crossovers": ("crossovers()", crossovers),
    "figure 7": ("Figure 7", figure7_data),
}


@pytest.mark.parametrize("name", CONSUMERS)
def test_every_single_set_consumer_refuses_a_grid_in_one_shape(paper: Parameters, name: str) -> None:
    """A grid given where one parameter set belongs is `parameters: <what> takes one parameter set, got a grid of shape (2,)`."""
    what, consume = CONSUMERS[name]
    grid = paper.replace(T_vmm=np.array([20.0, 28.0]) * DAY)
    with pytest.raises(ParameterError) as caught:
        consume(grid)
    assert str(caught.value).startswith(f"parameters: {what} takes one parameter set, got a grid of shape (2,)")


def test_scalar_refuses_a_grid_and_says_what_wanted_one(paper: Parameters) -> None:
    """scalar(purpose, hint) names the purpose and adds the hint; one point of the grid is accepted."""
    grid = paper.replace(D_w=np.array([30.0, 60.0]))
    with pytest.raises(
        ParameterError, match=r"^parameters: this takes one parameter set, got a grid of shape \(2,\); try x$"
    ):
        grid.scalar(hint="; try x")
    assert grid.point((1,)).scalar().warm_reboot_downtime == 60.0
