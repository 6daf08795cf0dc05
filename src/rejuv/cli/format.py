"""Plain-text tables for people."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["table"]


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "", indent: str = "  ") -> str:
    """Columns aligned: ``align`` has one letter per column, ``l`` or ``r`` (default: first left, rest right)."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    align = align or "l" + "r" * (len(header) - 1)

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.ljust(width) if side == "l" else cell.rjust(width)
            for cell, width, side in zip(cells, widths, align, strict=True)
        )
        return indent + "  ".join(padded).rstrip()

    return "\n".join([line(header), *(line(row) for row in rows)])
