"""What an anonymization run lost, and what it released.

The report is what goes into a release manifest: DESIGN.md asks that loss be
reported per variable and per organization, and that row accounting always
balances (``records_in == records_out + records_suppressed``). It is kept
separate from the engine so that later engines (generalization hierarchies,
lattice search, l-diversity) can fill the same report, or a subclass of it,
without the manifest code having to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class AnonymizationReport:
    """Counts of one anonymization run; all plain ``int``/``str`` so it serializes as is.

    ``cells_suppressed`` counts, per quasi-identifier, the cells the engine turned
    into NA in *released* records. Cells that were already NA do not count (no
    information was lost), nor do cells of removed records (their loss is counted
    once, in ``records_suppressed``). Every quasi-identifier is a key, with 0 when
    nothing was lost, so a manifest always has the same shape.

    ``records_suppressed_by_group`` and ``cells_suppressed_by_group`` break the same
    counts down by the value of ``group_col`` (e.g. the contributing organization);
    every group present in the input is a key. Both are ``{}`` without ``group_col``.
    """

    k: int
    quasi_identifiers: tuple[str, ...]
    records_in: int
    records_out: int
    records_suppressed: int
    cells_suppressed: dict[str, int]
    records_suppressed_by_group: dict[str, int]
    cells_suppressed_by_group: dict[str, dict[str, int]]
    classes: int
    min_class_size: int

    def __post_init__(self) -> None:
        # The accounting identity is a promise to the manifest: fail loudly, never publish
        # a report that does not balance.
        if self.records_in != self.records_out + self.records_suppressed:
            raise ValueError(
                f"row accounting does not balance: {self.records_in} in != "
                f"{self.records_out} out + {self.records_suppressed} suppressed"
            )

    @property
    def cells_suppressed_total(self) -> int:
        """All cells turned NA in released records, over every quasi-identifier."""
        return sum(self.cells_suppressed.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy: plain ``dict``/``list``/``int``/``str`` only, fresh containers."""
        return {
            "k": int(self.k),
            "quasi_identifiers": [str(q) for q in self.quasi_identifiers],
            "records_in": int(self.records_in),
            "records_out": int(self.records_out),
            "records_suppressed": int(self.records_suppressed),
            "cells_suppressed": {str(q): int(n) for q, n in self.cells_suppressed.items()},
            "records_suppressed_by_group": {
                str(g): int(n) for g, n in self.records_suppressed_by_group.items()
            },
            "cells_suppressed_by_group": {
                str(g): {str(q): int(n) for q, n in per_qi.items()}
                for g, per_qi in self.cells_suppressed_by_group.items()
            },
            "classes": int(self.classes),
            "min_class_size": int(self.min_class_size),
        }


@dataclass(frozen=True)
class AnonymizationResult:
    """The released rows and the report that accounts for them.

    ``frame`` has the input's columns in the input's order; surviving rows keep
    their input order, with a fresh ``RangeIndex``.
    """

    frame: pd.DataFrame
    report: AnonymizationReport
