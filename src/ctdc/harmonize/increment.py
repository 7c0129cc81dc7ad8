"""One night of the series: frozen rows plus a k-anonymous increment, and the next ledger.

:mod:`ctdc.harmonize.series` decides what stays, leaves and waits; this module
runs the anonymizer on the pending pool alone, holds back what the policy
says waits, and assembles the release frame (``build_tables`` sorts it by its
released content) and the publication ledger that goes with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ctdc.anonymize import AnonymizationResult
from ctdc.anonymize.report import AnonymizationReport
from ctdc.errors import CtdcError
from ctdc.harmonize.derive import apply_derivations
from ctdc.harmonize.series import (
    ORG,
    PSEUDONYM,
    Plan,
    SeriesPolicy,
    State,
    cancelling,
    content_hash,
    hold_back,
    increment_due,
    normalize,
    whole_groups_wait,
)
from ctdc.harmonize.settings import RunSettings, field_hierarchy
from ctdc.harmonize.steps import Anonymized, Merged, anonymize_records, protected_flags
from ctdc.schema import Schema
from ctdc.slugs import Slug


@dataclass(frozen=True)
class SeriesOutcome:
    """What this run did to the series: the release frame, the next ledger, the counts."""

    anonymized: Anonymized
    ledger: pd.DataFrame
    frozen: int
    added: int
    held: pd.Series  # organization of each record still pending
    withheld: pd.Series  # organization of each live record withheld for the epoch

    def summary(self, plan: Plan, epoch: int, digest: str, today: str) -> dict[str, Any]:
        """The private manifest's ``series`` section (the public one shows only rows)."""
        waits = (
            pd.Timestamp(today)
            - pd.to_datetime(self.ledger.loc[self.ledger["state"] == State.PENDING, "first_seen"])
        ).dt.days
        return {
            "epoch": epoch,
            "epoch_digest": digest,
            "frozen": self.frozen,
            "added": self.added,
            "left": plan.left,
            "corrected": plan.corrected,
            "withheld_to_pad": plan.padded,
            "withheld": len(self.withheld),
            "withdrawn": len(plan.withdrawn_orgs),
            "held": len(self.held),
            "held_median_days": float(waits.median()) if len(waits) else 0.0,
            "held_max_days": int(waits.max()) if len(waits) else 0,
        }


def _empty_report(k: int, qis: list[str]) -> AnonymizationReport:
    return AnonymizationReport(k=k, quasi_identifiers=tuple(qis), records_in=0, records_out=0,
                               records_suppressed=0, cells_suppressed={},
                               records_suppressed_by_group={}, cells_suppressed_by_group={},
                               classes=0, min_class_size=0)  # fmt: skip


def run_increment(
    plan: Plan,
    merged: pd.DataFrame,
    schema: Schema,
    settings: RunSettings,
    policy: SeriesPolicy,
    today: str,
    *,
    first_of_epoch: bool,
) -> SeriesOutcome:
    """Anonymize the pending pool on its own, hold back what waits, assemble the release."""
    k, qis = settings.k, schema.release_keys  # k counts every QI with its status
    hierarchies = {n: field_hierarchy(schema[n]) for n in settings.levels}
    pending = plan.pending
    added = pending.iloc[0:0]
    report = _empty_report(k, schema.quasi_identifiers)
    due = first_of_epoch or increment_due(plan.frozen, policy, today)
    if due and len(pending) >= k:  # not due: every pending record waits for the rhythm
        try:
            done = anonymize_records(Merged(pending, {}), schema, settings)
            added, report = done.frame, done.result.report
        except CtdcError as exc:
            if exc.slug != Slug.TOO_FEW_RECORDS:
                raise
    protected = protected_flags(schema)
    if not first_of_epoch and len(added):
        wait = hold_back(added, pending, plan.first_seen, qis, policy, today)
        added = added[~whole_groups_wait(added, wait, qis, protected)]
    new_rows = None
    if len(added):  # as released: derived fields follow their published source
        new_rows = apply_derivations(normalize(added, schema, settings.levels), schema,
                                     hierarchies)  # fmt: skip
        wait = cancelling(new_rows, plan.removed, qis, schema.release_row, k, protected)
        wait = whole_groups_wait(new_rows, wait, qis, protected)
        if wait.any():
            new_rows, added = new_rows[~wait], added[~wait]
    frozen = plan.frozen[[*schema.release_row, ORG, PSEUDONYM]]
    parts = [p for p in (frozen, new_rows) if p is not None and len(p)]
    frame = pd.concat(parts, ignore_index=True) if parts else frozen  # build_tables sorts it
    anonymized = Anonymized(AnonymizationResult(frame=frame, report=report), hierarchies)

    published_now = set(added[PSEUDONYM]) if len(added) else set()
    waiting = pending[~pending[PSEUDONYM].isin(published_now)]
    live_orgs = merged.set_index(PSEUDONYM)[ORG]
    withheld = plan.withheld[plan.withheld.isin(live_orgs.index)]
    ledger = _next_ledger(plan, new_rows, waiting, withheld, live_orgs, merged, schema, today)
    withheld_orgs = live_orgs.reindex(withheld).fillna("")
    return SeriesOutcome(anonymized, ledger, frozen=len(frozen), added=len(published_now),
                         held=waiting[ORG], withheld=withheld_orgs)  # fmt: skip


def _next_ledger(
    plan: Plan,
    new_rows: pd.DataFrame | None,
    waiting: pd.DataFrame,
    withheld: pd.Series,
    live_orgs: pd.Series,
    merged: pd.DataFrame,
    schema: Schema,
    today: str,
) -> pd.DataFrame:
    """Every live record's state; a published one with its released form and content hash."""
    content = pd.Series(content_hash(merged, schema), index=merged[PSEUDONYM].to_numpy())
    frozen = plan.frozen.assign(state=str(State.PUBLISHED))
    seen = pd.Series(plan.first_seen.to_numpy(), index=plan.pending[PSEUDONYM].to_numpy())
    parts = [frozen]
    if new_rows is not None and len(new_rows):
        ids = new_rows[PSEUDONYM]
        parts.append(new_rows.assign(content=content.reindex(ids).to_numpy(),
                                     state=str(State.PUBLISHED), published_on=today,
                                     first_seen=seen.reindex(ids).to_numpy()))  # fmt: skip
    parts.append(pd.DataFrame({
        ORG: waiting[ORG].to_numpy(), PSEUDONYM: waiting[PSEUDONYM].to_numpy(),
        "content": content.reindex(waiting[PSEUDONYM]).to_numpy(),
        "state": str(State.PENDING),
        "first_seen": plan.first_seen.reindex(waiting.index).to_numpy()}))  # fmt: skip
    parts.append(pd.DataFrame({
        ORG: live_orgs.reindex(withheld).to_numpy(), PSEUDONYM: withheld.to_numpy(),
        "content": content.reindex(withheld).to_numpy(),
        "state": str(State.WITHHELD)}))  # fmt: skip
    columns = [
        *schema.release_row,
        ORG,
        PSEUDONYM,
        "content",
        "state",
        "first_seen",
        "published_on",
    ]
    ledger = pd.concat([p.reindex(columns=columns) for p in parts if len(p)], ignore_index=True)
    return ledger.sort_values(PSEUDONYM, ignore_index=True)
