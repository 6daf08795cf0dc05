"""Per-VM functions of the migration index i, described as data.

The paper's Table 1 fits V_s(i), V_m(i), V_d(i) and M(i) with linear,
exponential and constant pieces, some of them split at an index ("22 for
i = 2, exp(-0.71 i + 5.7) for i > 2"). A :class:`Curve` is such a list of
:class:`Piece` objects, read from a preset file rather than written as code:

    linear        slope * i + intercept
    exponential   exp(slope * i + intercept)
    constant      value

Each piece covers the indices ``first <= i <= last`` (``last`` None: no end).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rejuv.errors import ParameterError

__all__ = ["Curve", "Form", "Piece"]


class Form(enum.Enum):
    """The shapes Table 1 uses."""

    LINEAR = "linear"
    EXPONENTIAL = "exponential"
    CONSTANT = "constant"


@dataclass(frozen=True)
class Piece:
    """One shape on a range of indices ``first..last`` (inclusive)."""

    form: Form
    slope: float = 0.0
    intercept: float = 0.0
    value: float = 0.0
    first: int = 1
    last: int | None = None

    def __call__(self, index: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.form is Form.LINEAR:
            return self.slope * index + self.intercept
        if self.form is Form.EXPONENTIAL:
            return np.exp(self.slope * index + self.intercept)
        return np.full_like(index, self.value)

    def covers(self, index: NDArray[np.int64]) -> NDArray[np.bool_]:
        upper = np.iinfo(np.int64).max if self.last is None else self.last
        return (index >= self.first) & (index <= upper)

    def __str__(self) -> str:
        if self.form is Form.LINEAR:
            sign = "+" if self.intercept >= 0 else "-"
            shape = f"{self.slope:g} i {sign} {abs(self.intercept):g}"
        elif self.form is Form.EXPONENTIAL:
            sign = "+" if self.intercept >= 0 else "-"
            shape = f"exp({self.slope:g} i {sign} {abs(self.intercept):g})"
        else:
            shape = f"{self.value:g}"
        if self.first == 1 and self.last is None:
            return shape
        if self.last is None:
            return f"{shape} (i >= {self.first})"
        if self.first == self.last:
            return f"{shape} (i = {self.first})"
        return f"{shape} ({self.first} <= i <= {self.last})"


_FIELDS = {
    Form.LINEAR: {"slope", "intercept"},
    Form.EXPONENTIAL: {"slope", "intercept"},
    Form.CONSTANT: {"value"},
}


@dataclass(frozen=True)
class Curve:
    """A piecewise function of the migration index i (1-based)."""

    pieces: tuple[Piece, ...]

    @classmethod
    def from_data(cls, field: str, data: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> Curve:
        """Build a curve from preset data: a table or a list of tables, one per piece.

        Raises :class:`ParameterError` naming ``field`` for an unknown form or coefficient.
        """
        if not isinstance(data, Mapping | list | tuple):
            raise ParameterError(field, f"expected a table or a list of tables (one per piece), got {data!r:.60}")
        items = [data] if isinstance(data, Mapping) else list(data)
        if not items:
            raise ParameterError(field, "needs at least one piece")
        pieces = []
        for number, item in enumerate(items, start=1):
            where = field if len(items) == 1 else f"{field}[{number}]"
            if not isinstance(item, Mapping):
                raise ParameterError(where, f"a piece must be a table, got {item!r}")
            try:
                form = Form(item.get("form"))
            except ValueError:
                forms = ", ".join(f.value for f in Form)
                raise ParameterError(where, f"form must be one of {forms}, got {item.get('form')!r}") from None
            allowed = _FIELDS[form] | {"form", "first", "last"}
            unknown = sorted(set(item) - allowed)
            if unknown:
                raise ParameterError(where, f"unknown key {unknown[0]!r} for a {form.value} piece")
            missing = sorted(_FIELDS[form] - set(item))
            if missing:
                raise ParameterError(where, f"a {form.value} piece needs {missing[0]!r}")
            try:
                coefficients = {key: float(item[key]) for key in _FIELDS[form]}
                first = int(item.get("first", 1))
                last = None if item.get("last") is None else int(item["last"])
            except (TypeError, ValueError, OverflowError) as err:
                raise ParameterError(where, f"coefficients and bounds must be numbers ({err})") from err
            if not all(math.isfinite(value) for value in coefficients.values()):
                raise ParameterError(where, f"coefficients must be finite numbers, got {coefficients}")
            pieces.append(Piece(form, first=first, last=last, **coefficients))
        return cls(tuple(pieces))

    def to_data(self) -> list[dict[str, Any]]:
        """The inverse of :meth:`from_data`."""
        out = []
        for piece in self.pieces:
            item: dict[str, Any] = {"form": piece.form.value}
            item |= {key: getattr(piece, key) for key in sorted(_FIELDS[piece.form])}
            if piece.first != 1:
                item["first"] = piece.first
            if piece.last is not None:
                item["last"] = piece.last
            out.append(item)
        return out

    def evaluate(self, field: str, index: NDArray[np.int64]) -> NDArray[np.float64]:
        """Values at the integer indices ``index``; the first piece that covers an index wins.

        Raises :class:`ParameterError` naming ``field`` if an index is not covered.
        """
        result = np.full(index.shape, np.nan)
        done = np.zeros(index.shape, dtype=bool)
        for piece in self.pieces:
            take = piece.covers(index) & ~done
            result[take] = piece(index[take].astype(np.float64))
            done |= take
        if not done.all():
            raise ParameterError(field, f"no piece covers i = {int(index[~done][0])}")
        return result

    def __str__(self) -> str:
        return "; ".join(str(piece) for piece in self.pieces)
