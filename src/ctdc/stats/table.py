"""A safe table as a result: its cells and margins with every suppressed number left out.

The types hold published numbers only: a suppressed count or share is None,
with the reason beside it, so a report built from a ``SafeTable`` cannot
print a hidden number by mistake. Renderers for the CLI's CSV and JSON (and
any report) live here; the rich table is ``ctdc.report.stats``.

Labels: a category is its value's text; NULL is ``(null)`` and, in a margin
row, the columns summed over are ``(all)``. A value whose own text is one of
those markers (possibly already in quotes) gets one more pair of single
quotes, so no label stands for two things. Each record says its ``level``:
``cell``, ``margin`` (a 1-column margin) or ``total``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ctdc.stats.suppress import Suppression

NULL_LABEL = "(null)"
ALL_LABEL = "(all)"
_MARKER = re.compile(r"'*\((null|all)\)'*")


def label(value: str | None) -> str:
    """A category's text for display: ``(null)`` for NULL, markers quoted when real values."""
    if value is None:
        return NULL_LABEL
    return f"'{value}'" if _MARKER.fullmatch(value) else value


@dataclass(frozen=True)
class Cell:
    """One combination of the ``--by`` columns that occurs in the (filtered) release."""

    values: tuple[str | None, ...]
    """each ``--by`` column's value as text (None: NULL)"""
    count: int | None
    """None when suppressed"""
    suppressed: Suppression | None
    share: float | None = None
    """TRUE rows / rows; None when suppressed or not asked for"""
    share_suppressed: Suppression | None = None


@dataclass(frozen=True)
class Margin:
    """A 1-column margin (the rows with ``column`` = ``value``) or the grand total."""

    column: str | None
    """the ``--by`` column it sums by; None for the grand total"""
    value: str | None
    """the category (None: NULL, or the grand total)"""
    count: int | None
    suppressed: Suppression | None
    share: float | None = None
    share_suppressed: Suppression | None = None


@dataclass(frozen=True)
class SafeTable:
    """Counts (and shares) by ``by`` over one public release, safe to publish at ``k``."""

    release_id: str
    by: tuple[str, ...]
    k: int
    where: str | None
    share_of: str | None
    """the BOOLEAN column whose share is given, if any"""
    cells: tuple[Cell, ...]
    """the observed combinations, in category order; one not listed has count 0"""
    margins: tuple[Margin, ...]
    """1-column margins (for 2+ ``by`` columns), column by column, then the grand total"""

    @property
    def total(self) -> Margin:
        return self.margins[-1]

    def suppressed_counts(self) -> dict[str, int]:
        """How many counts (cells and margins) were suppressed, by reason."""
        entries: list[Cell | Margin] = [*self.cells, *self.margins]
        reasons = [entry.suppressed for entry in entries if entry.suppressed]
        return {reason.value: reasons.count(reason) for reason in Suppression}

    def suppressed_shares(self) -> dict[str, int]:
        """How many shares were suppressed, by reason (those of suppressed counts included)."""
        entries: list[Cell | Margin] = [*self.cells, *self.margins]
        reasons = [entry.share_suppressed for entry in entries if entry.share_suppressed]
        return {reason.value: reasons.count(reason) for reason in Suppression}

    def records(self) -> list[dict[str, Any]]:
        """One dict per cell, then per margin and the total (the CSV's and JSON's rows)."""
        out = [self._record(cell.values, "cell", cell) for cell in self.cells]
        for margin in self.margins:
            if margin.column is None:
                values: tuple[str | None, ...] = (None,) * len(self.by)
                level = "total"
            else:
                values = tuple(margin.value if c == margin.column else None for c in self.by)
                level = "margin"
            out.append(self._record(values, level, margin, summed=margin.column))
        return out

    def _record(self, values: tuple[str | None, ...], level: str, entry: Cell | Margin,
                summed: str | None = None) -> dict[str, Any]:  # fmt: skip
        """``summed``: a margin's own column; every other column of a margin or total is (all)."""
        record: dict[str, Any] = {}
        for column, value in zip(self.by, values, strict=True):
            own = level == "cell" or column == summed
            record[column] = label(value) if own else ALL_LABEL
        record["level"] = level
        record["count"] = entry.count
        if self.share_of is not None:
            record["share"] = entry.share
        record["suppressed"] = entry.suppressed.value if entry.suppressed else None
        if self.share_of is not None:
            shared = entry.share_suppressed
            record["share_suppressed"] = shared.value if shared else None
        return record

    def to_frame(self) -> pd.DataFrame:
        """The records as a frame; a suppressed count is <NA> (nullable Int64), never a number."""
        frame = pd.DataFrame.from_records(self.records(), columns=self._columns())
        frame["count"] = frame["count"].astype("Int64")
        if self.share_of is not None:
            frame["share"] = frame["share"].astype("Float64")
        return frame

    def _columns(self) -> list[str]:
        extra = ["share"] if self.share_of is not None else []
        tail = ["suppressed", "share_suppressed"] if self.share_of is not None else ["suppressed"]
        return [*self.by, "level", "count", *extra, *tail]

    def to_csv(self) -> str:
        """The records as CSV: a suppressed number is an empty field."""
        return str(self.to_frame().to_csv(index=False))

    def to_dict(self) -> dict[str, Any]:
        """What was asked (release, k, by, where, share) and the records."""
        return {
            "release_id": self.release_id,
            "k": self.k,
            "by": list(self.by),
            "where": self.where,
            "share": self.share_of,
            "records": self.records(),
        }

    def to_json(self) -> str:
        """``to_dict`` as JSON (non-ASCII text kept as is)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)
