"""Segmentation behaviour the mutation check found untested by the exact and statistical tests (docs/mutation.md)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rejuv.trace.segment import Settings, _change_point


def split_error(values: list[float], level: float, k: int) -> float:
    """Squared error, summed directly, of the valid samples' own mean on [0, k) and ``level`` on [k, end)."""
    head = [v for v in values[:k] if not math.isnan(v)]
    tail = [v for v in values[k:] if not math.isnan(v)]
    mean = sum(head) / len(head) if head else 0.0
    return sum((v - mean) ** 2 for v in head) + sum((v - level) ** 2 for v in tail)


samples = st.lists(st.one_of(st.floats(0.0, 3.0), st.just(math.nan)), min_size=1, max_size=12)


@given(values=samples, level=st.floats(0.0, 3.0))
def test_the_change_point_is_the_split_with_the_least_squared_error(values: list[float], level: float) -> None:
    """_change_point's k has the least squared error of every split 0..len, even where splits differ by under 1 (req/s)²."""
    found = _change_point(np.array(values), level)
    best = min(split_error(values, level, k) for k in range(len(values) + 1))
    assert 0 <= found <= len(values)
    assert split_error(values, level, found) <= best + 1e-9


def test_a_recovery_window_shorter_than_a_sample_is_one_sample() -> None:
    """recovery_window is in seconds, at least one sample: 5 s is 5 samples at 1 s, 1 at 5 s, and still 1 at 15 s."""
    settings = Settings(recovery_window=5.0)
    assert [settings.recovery_samples(step) for step in (1.0, 5.0, 15.0)] == [5, 1, 1]
