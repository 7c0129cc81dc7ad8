"""The release's row accounting: every staged record is released, suppressed, merged or waits.

Two equations must hold, overall and per organization: ``rows_read = staged +
quarantined`` (what ingest promised) and ``staged = released +
records_suppressed + duplicates_merged + held + withheld + withdrawn`` (what
harmonize did; the last three are the series', docs/privacy.md). A release whose
accounting does not balance lost or doubled a record somewhere between staging
and the written file; it is refused with its own slug, ``accounting-unbalanced``,
so that a bug in the bookkeeping is never reported as a privacy failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from ctdc.errors import CtdcError
from ctdc.slugs import Slug
from ctdc.store.ledger import BatchEntry


@dataclass(frozen=True)
class OrgAccounting:
    """The counts of one organization, or of all of them (``Accounting.total``)."""

    rows_read: int
    quarantined: int
    staged: int
    duplicates_merged: int
    records_suppressed: int
    released: int
    #: the series (docs/privacy.md): pending, withheld for the epoch, withdrawn
    held: int = 0
    withheld: int = 0
    withdrawn: int = 0

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.staged + self.quarantined and self.staged == (
            self.released
            + self.records_suppressed
            + self.duplicates_merged
            + self.held
            + self.withheld
            + self.withdrawn
        )

    def __add__(self, other: OrgAccounting) -> OrgAccounting:
        return OrgAccounting(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))
        )

    def to_dict(self) -> dict[str, int | bool]:
        doc: dict[str, int | bool] = {f.name: int(getattr(self, f.name)) for f in fields(self)}
        doc["balanced"] = self.balanced
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> OrgAccounting:
        """Read back; ``balanced`` is recomputed from the counts, never trusted."""
        return cls(*(int(doc.get(f.name, 0)) for f in fields(cls)))


@dataclass(frozen=True)
class Accounting:
    total: OrgAccounting
    per_org: dict[str, OrgAccounting]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total.to_dict(),
            "per_org": {org: row.to_dict() for org, row in self.per_org.items()},
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Accounting:
        return cls(
            total=OrgAccounting.from_dict(doc["total"]),
            per_org={str(org): OrgAccounting.from_dict(row) for org, row in doc["per_org"].items()},
        )


def account(
    entries: Sequence[BatchEntry],
    duplicates: Mapping[str, int],
    released_orgs: pd.Series,
    suppressed: Mapping[str, int],
    *,
    held: pd.Series | None = None,
    withheld: pd.Series | None = None,
    withdrawn: pd.Series | None = None,
) -> Accounting:
    """Count per organization (sorted) and overall.

    ``released_orgs`` is the organization of each released record,
    ``duplicates`` and ``suppressed`` the records merged and removed per
    organization.
    """
    released_by_org = released_orgs.value_counts().to_dict()
    series = {name: (orgs.value_counts().to_dict() if orgs is not None else {})
              for name, orgs in (("held", held), ("withheld", withheld),
                                 ("withdrawn", withdrawn))}  # fmt: skip
    per_org: dict[str, OrgAccounting] = {}
    for org in sorted({e.org for e in entries}):
        mine = [e for e in entries if e.org == org]
        per_org[org] = OrgAccounting(
            rows_read=sum(e.rows_read for e in mine),
            quarantined=sum(e.quarantined for e in mine),
            staged=sum(e.staged for e in mine),
            duplicates_merged=int(duplicates.get(org, 0)),
            records_suppressed=int(suppressed.get(org, 0)),
            released=int(released_by_org.get(org, 0)),
            **{name: int(counts.get(org, 0)) for name, counts in series.items()},
        )
    total = OrgAccounting(0, 0, 0, 0, 0, 0)
    for row in per_org.values():
        total = total + row
    return Accounting(total=total, per_org=per_org)


def check_balanced(accounting: Accounting) -> None:
    """Raise ``accounting-unbalanced`` unless the overall accounting balances."""
    if not accounting.total.balanced:
        counts = accounting.total.to_dict()
        raise CtdcError(
            Slug.ACCOUNTING_UNBALANCED,
            "overall: " + ", ".join(f"{key} {value}" for key, value in counts.items()),
        )
