"""What an anonymization run lost, what it released, and the risk before and after.

The report goes into the release manifest and is printed by ``ctdc harmonize``.
Loss is reported per variable and per organization, the row accounting always
balances (``records_in == records_out + records_suppressed``), and the utility
and risk figures a data steward needs to judge a release are added
(docs/anonymization.md, "The report"):

* ``loss_metric``: Iyengar's LM, the mean over every QI cell of every *input*
  record of (leaves covered by the published value - 1) / (leaves in the domain
  - 1); a suppressed cell and every cell of a removed record cost 1, a leaf 0,
  an input NA 0 as published and 0.1 when suppressed (no value was there to lose,
  only the knowledge that none was recorded: ``WITHHELD_NOT_RECORDED``);
* ``levels``: per QI, how many released records were published at each level
  (local recoding lets classes choose different levels);
* ``class_sizes``: the equivalence-class size distribution of the release;
* ``risk_before``/``risk_after``: sample uniques, records in classes smaller
  than k, and the maximum and mean prosecutor risk (1 / class size).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ctdc.anonymize.recode.keys import row_classes

if TYPE_CHECKING:
    from ctdc.anonymize.hierarchy import Encoded

#: upper bounds of the class-size buckets reported (the last bucket is open)
SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 1000)


def _class_sizes(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the size of its class (rows equal in every column), and the size of each
    class; rows: (n, m) ints."""
    classes, _ = row_classes(rows)
    counts = np.bincount(classes) if len(classes) else np.zeros(0, dtype=np.int64)
    return counts[classes], counts


def risk_profile(rows: np.ndarray, k: int) -> dict[str, float | int]:
    """Re-identification risk of a table of QI codes (NA a value of its own)."""
    return _risk(_class_sizes(rows)[0], k)


def _risk(sizes: np.ndarray, k: int) -> dict[str, float | int]:
    """Risk figures from each row's class size."""
    n = len(sizes)
    if n == 0:
        return {"records": 0, "classes": 0, "sample_uniques": 0, "records_below_k": 0,
                "max_prosecutor_risk": 0.0, "mean_prosecutor_risk": 0.0}  # fmt: skip
    return {
        "records": int(n),
        "classes": int((1.0 / sizes).sum().round()),
        "sample_uniques": int((sizes == 1).sum()),
        "records_below_k": int((sizes < k).sum()),
        "max_prosecutor_risk": float(1.0 / sizes.min()),
        "mean_prosecutor_risk": round(float((1.0 / sizes).mean()), 6),
    }


def _bucket_label(lo: int, hi: int | None) -> str:
    if hi is None:
        return f"{lo}+"
    return str(lo) if hi == lo else f"{lo}-{hi}"


def class_size_distribution(counts: np.ndarray) -> dict[str, dict[str, int]]:
    """Classes and records per class-size bucket (``"10-19": {"classes": 3, "records": 41}``),
    from the size of each class."""
    if not len(counts):
        return {}
    edges = [*SIZE_BUCKETS, None]
    out: dict[str, dict[str, int]] = {}
    for lo, nxt in pairwise(edges):
        assert lo is not None  # None closes the last bucket only
        hi = None if nxt is None else nxt - 1
        mask = (counts >= lo) & (counts <= (hi if hi is not None else counts.max()))
        if mask.any():
            records = int(counts[mask].sum())
            out[_bucket_label(lo, hi)] = {"classes": int(mask.sum()), "records": records}
    return out


class UnbalancedReport(ValueError):
    """A report whose records in are not records out + suppressed: a bug, not a bad input,
    so callers can tell it from the engine's ``ValueError`` for a bad argument."""


@dataclass(frozen=True)
class AnonymizationReport:
    """Counts and measures of one run; plain ``int``/``float``/``str`` so it serializes as is.

    ``cells_suppressed`` counts, per QI, cells the engine turned into NA in
    *released* records (input NAs and cells of removed records do not count:
    the latter are counted once, in ``records_suppressed``). ``..._by_group``
    break the same counts down by ``group_col`` (``{}`` without one).
    ``records_all_suppressed`` are released records whose every QI is NA after
    the run while at least one was known before: released, but with no QI left.
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
    l: int | None = None  # noqa: E741 -- the letter of l-diversity
    records_all_suppressed: int = 0
    cells_generalized: dict[str, int] = field(default_factory=dict)
    loss_metric: float = 0.0
    loss_by_qi: dict[str, float] = field(default_factory=dict)
    levels: dict[str, dict[str, int]] = field(default_factory=dict)
    class_sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    risk_before: dict[str, float | int] = field(default_factory=dict)
    risk_after: dict[str, float | int] = field(default_factory=dict)
    #: protected flag columns enforced (no class all TRUE on any of them)
    protected_columns: int = 0

    def __post_init__(self) -> None:
        # The accounting identity is a promise to the manifest: fail loudly, never publish
        # a report that does not balance.
        if self.records_in != self.records_out + self.records_suppressed:
            raise UnbalancedReport(
                f"row accounting does not balance: {self.records_in} in != "
                f"{self.records_out} out + {self.records_suppressed} suppressed"
            )

    @classmethod
    def build(
        cls,
        *,
        k: int,
        l: int | None,  # noqa: E741
        columns: list[Encoded],
        levels: np.ndarray,
        removed: np.ndarray,
        published: np.ndarray,
        groups: pd.Series | None,
        risk_before: dict[str, float | int],
        protected: int = 0,
    ) -> AnonymizationReport:
        """Account for a run from the engine's encoded columns and chosen levels."""
        qis = tuple(c.name for c in columns)
        n, keep = len(removed), ~removed
        # a value recorded: suppressing a "not recorded" cell loses no value (its cost, 1,
        # is in the LM), so it is not a suppressed cell here; the status column tells it
        known = (np.stack([c.codes[keep] != (c.not_recorded or 0) for c in columns], axis=1)
                 if columns else None)  # fmt: skip
        suppressed = (published == 0) & known if known is not None else np.zeros((0, 0), bool)
        generalized = (published > np.array([c.domain for c in columns])) if columns else None

        loss = [  # summed per QI, column by column: no (n x m) float table at 3M rows
            float(np.where(removed, 1.0, c.cost[np.maximum(levels[:, j], 0), c.codes]).sum())
            for j, c in enumerate(columns)
        ]
        loss_by_qi = {q: round(loss[j] / n, 6) if n else 0.0 for j, q in enumerate(qis)}

        records_by_group: dict[str, int] = {}
        cells_by_group: dict[str, dict[str, int]] = {}
        if groups is not None and n:
            codes, names = pd.factorize(groups, sort=True)
            g = len(names)
            removed_per = np.bincount(codes[removed], minlength=g)
            kept_codes = codes[keep]
            per_qi = [np.bincount(kept_codes[suppressed[:, j]], minlength=g)
                      for j in range(len(qis))]  # fmt: skip
            for i, name in enumerate(str(v) for v in names):
                records_by_group[name] = int(removed_per[i])
                cells_by_group[name] = {q: int(per_qi[j][i]) for j, q in enumerate(qis)}

        sizes, class_counts = _class_sizes(published)
        all_na = (published == 0).all(axis=1) & known.any(axis=1) if known is not None else []
        levels_used = {}
        for j, q in enumerate(qis):
            used, counts = np.unique(levels[keep, j], return_counts=True)
            levels_used[q] = {str(lv): int(c) for lv, c in zip(used, counts, strict=True)}
        return cls(
            k=k,
            quasi_identifiers=qis,
            records_in=n,
            records_out=int(keep.sum()),
            records_suppressed=int(removed.sum()),
            cells_suppressed={q: int(suppressed[:, j].sum()) for j, q in enumerate(qis)},
            records_suppressed_by_group=records_by_group,
            cells_suppressed_by_group=cells_by_group,
            classes=round(float((1.0 / sizes).sum())) if len(sizes) else 0,
            min_class_size=int(sizes.min()) if len(sizes) else 0,
            l=l,
            records_all_suppressed=int(np.sum(all_na)),
            cells_generalized={
                q: int(generalized[:, j].sum()) if generalized is not None else 0
                for j, q in enumerate(qis)
            },
            loss_metric=round(sum(loss) / (n * len(qis)), 6) if n and qis else 0.0,
            loss_by_qi=loss_by_qi,
            levels=levels_used,
            class_sizes=class_size_distribution(class_counts),
            risk_before=risk_before,
            risk_after=_risk(sizes, k),
            protected_columns=protected,
        )

    @property
    def cells_suppressed_total(self) -> int:
        """All cells turned NA in released records, over every quasi-identifier."""
        return sum(self.cells_suppressed.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy: plain ``dict``/``list``/``int``/``float``/``str`` only."""
        return {
            "k": int(self.k),
            "l": self.l,
            "quasi_identifiers": [str(q) for q in self.quasi_identifiers],
            "records_in": int(self.records_in),
            "records_out": int(self.records_out),
            "records_suppressed": int(self.records_suppressed),
            "records_all_suppressed": int(self.records_all_suppressed),
            "cells_suppressed": {str(q): int(n) for q, n in self.cells_suppressed.items()},
            "cells_generalized": {str(q): int(n) for q, n in self.cells_generalized.items()},
            "records_suppressed_by_group": {
                str(g): int(n) for g, n in self.records_suppressed_by_group.items()
            },
            "cells_suppressed_by_group": {
                str(g): {str(q): int(n) for q, n in per_qi.items()}
                for g, per_qi in self.cells_suppressed_by_group.items()
            },
            "classes": int(self.classes),
            "min_class_size": int(self.min_class_size),
            "loss_metric": float(self.loss_metric),
            "loss_by_qi": {str(q): float(v) for q, v in self.loss_by_qi.items()},
            "levels": {str(q): dict(v) for q, v in self.levels.items()},
            "class_sizes": {b: dict(v) for b, v in self.class_sizes.items()},
            "risk_before": dict(self.risk_before),
            "risk_after": dict(self.risk_after),
            "protected_columns": int(self.protected_columns),
        }


@dataclass(frozen=True)
class AnonymizationResult:
    """The released rows and the report that accounts for them.

    ``frame`` has the input's columns in the input's order; surviving rows keep
    their input order, with a fresh ``RangeIndex``. ``status`` tells, per released
    row and QI, how the cell was published (:data:`CELL_STATUS`): as recorded,
    generalized, suppressed, or not recorded. The last two are both NA in ``frame``
    but were distinct values for k, so a release may publish the status too.
    """

    frame: pd.DataFrame
    report: AnonymizationReport
    status: pd.DataFrame | None = None


#: how a QI cell was published, in the order of the codes of ``AnonymizationResult.status``
CELL_STATUS = ("as_recorded", "generalized", "suppressed", "not_recorded")


def cell_status(published: np.ndarray, domain: int, not_recorded: int | None) -> pd.Categorical:
    """The :data:`CELL_STATUS` of each published id of one QI (0 suppressed, above the
    leaves generalized, the "not recorded" leaf, or a leaf)."""
    code = np.where(published > domain, 1, 0)
    code = np.where(published == 0, 2, code)
    if not_recorded is not None:
        code = np.where(published == not_recorded, 3, code)
    return pd.Categorical.from_codes(code, categories=list(CELL_STATUS))
