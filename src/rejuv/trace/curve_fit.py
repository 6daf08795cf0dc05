"""Fitting a per-VM column of Table 1 with the forms the paper uses, chosen by AICc.

Candidate forms of y(i), all least squares on y itself:

    constant            c
    linear              a i + b
    exponential         exp(a i + b)
    step                c1 for i < k, c2 for i >= k
    step-exponential    c for i < k, exp(a i + b) for i >= k

The corrected Akaike information criterion
AICc = N ln(RSS / N) + 2 q + 2 q (q + 1) / (N - q - 1) (q parameters, N
points; a breakpoint counts as a parameter) ranks them. Forms within 2 of
the best are as well supported by the data, so the simplest of them wins, in
the order listed: a slightly curved exponential does not replace a line. A fit whose RMSE exceeds 20%
of the mean of y raises a :class:`~rejuv.errors.RejuvWarning`, not an error.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import RejuvWarning, TraceError
from rejuv.model import Curve, Form, Piece

__all__ = ["CurveFit", "fit_curve", "POOR_FIT"]

Array = NDArray[np.float64]
POOR_FIT = 0.2  #: relative RMSE above which a fit is reported as poor


@dataclass(frozen=True)
class CurveFit:
    """The chosen form for one column, and how well it fits."""

    field: str
    curve: Curve
    form: str
    points: int
    rss: float  #: residual sum of squares
    aicc: float
    relative_rmse: float  #: RMSE over the mean of the data

    def __str__(self) -> str:
        return f"{self.curve}  ({self.form}, RMSE {100 * self.relative_rmse:.1f}% of the mean, {self.points} points)"


def _exponential(index: Array, values: Array) -> tuple[float, float] | None:
    if np.any(values <= 0) or len(index) < 2:
        return None
    slope, intercept = np.polyfit(index, np.log(values), 1)

    def model(i: Array, a: float, b: float) -> Array:
        result: Array = np.exp(a * i + b)
        return result

    from scipy.optimize import OptimizeWarning, curve_fit  # 0.5 s to import: only where an exponential is fitted

    try:
        with warnings.catch_warnings():  # two points fix the curve: no covariance, which is not used anyway
            warnings.simplefilter("ignore", OptimizeWarning)
            (a, b), _ = curve_fit(model, index, values, p0=(slope, intercept), maxfev=2000)
    except (RuntimeError, ValueError):
        a, b = slope, intercept
    return float(a), float(b)


def _candidates(index: Array, values: Array) -> list[tuple[str, int, Curve]]:
    """Every form that can be fitted to these points, with its parameter count and curve."""
    found: list[tuple[str, int, Curve]] = [("constant", 1, Curve((Piece(Form.CONSTANT, value=float(values.mean())),)))]
    if len(index) >= 3:
        slope, intercept = np.polyfit(index, values, 1)
        found.append(("linear", 2, Curve((Piece(Form.LINEAR, slope=float(slope), intercept=float(intercept)),))))
        exponential = _exponential(index, values)
        if exponential is not None:
            found.append(
                ("exponential", 2, Curve((Piece(Form.EXPONENTIAL, slope=exponential[0], intercept=exponential[1]),)))
            )
    for split in range(1, len(index)):
        head, tail = values[:split], values[split:]
        first = int(index[split])
        head_piece = Piece(Form.CONSTANT, value=float(head.mean()), last=first - 1)
        found.append(("step", 3, Curve((head_piece, Piece(Form.CONSTANT, value=float(tail.mean()), first=first)))))
        if len(tail) >= 3:
            exponential = _exponential(index[split:], tail)
            if exponential is not None:
                tail_piece = Piece(Form.EXPONENTIAL, slope=exponential[0], intercept=exponential[1], first=first)
                found.append(("step-exponential", 4, Curve((head_piece, tail_piece))))
    return sorted(found, key=lambda item: item[1])  # simplest first (stable within a count)


def fit_curve(
    field: str, index: NDArray[np.int64], values: Array, on_poor_fit: Callable[[str], None] | None = None
) -> CurveFit:
    """The best form for ``values`` at integer ``index`` (NaN values are left out).

    Raises :class:`~rejuv.errors.TraceError` naming ``field`` with fewer than 2 points.
    """
    keep = np.isfinite(values)
    at, values = index[keep].astype(np.float64), values[keep]
    if len(values) < 2:
        raise TraceError(field, f"needs at least 2 measured points to fit, got {len(values)}")
    fits: list[CurveFit] = []
    for form, parameters, curve in _candidates(at, values):
        if len(values) - parameters - 1 <= 0:
            continue
        rss = float(np.sum((curve.evaluate(field, index[keep]) - values) ** 2))
        n = len(values)
        aicc = (
            n * math.log(max(rss, 1e-12) / n)
            + 2 * parameters
            + 2 * parameters * (parameters + 1) / (n - parameters - 1)
        )
        mean = float(np.mean(np.abs(values))) or 1.0
        fits.append(CurveFit(field, curve, form, n, rss, aicc, math.sqrt(rss / n) / mean))
    if fits:
        lowest = min(fit.aicc for fit in fits)
        best = next(fit for fit in fits if fit.aicc <= lowest + 2.0)  # candidates come simplest first
    else:  # two points: only a constant or a line through them
        slope, intercept = np.polyfit(at, values, 1)
        curve = Curve((Piece(Form.LINEAR, slope=float(slope), intercept=float(intercept)),))
        best = CurveFit(field, curve, "linear", len(values), 0.0, -math.inf, 0.0)
    if best.relative_rmse > POOR_FIT:
        message = f"{field}: poor fit: the best form ({best.form}) leaves an RMSE of {100 * best.relative_rmse:.0f}% of the mean"
        (on_poor_fit or (lambda text: warnings.warn(text, RejuvWarning, stacklevel=3)))(message)
    return best
