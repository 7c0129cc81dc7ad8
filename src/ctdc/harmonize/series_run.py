"""The series step of a harmonize run: which epoch, what the ledger says, and the accounting.

``harmonize()`` first compares the run's inputs with the current release's
(:func:`input_digest`: equal means unchanged, before any record is read), then
opens the series after the merge (:func:`open_series`), runs it
(:meth:`SeriesRun.run`), accounts for every record (:func:`account_series`),
writes the next ledger (``<data>/series/<release>.parquet``,
:meth:`SeriesRun.write_ledger`) and runs the audit gate on the release
(:meth:`SeriesRun.audit`) before it is published.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ctdc import __version__
from ctdc.audit import AuditReport
from ctdc.errors import CtdcError
from ctdc.harmonize.accounting import Accounting, account, check_balanced
from ctdc.harmonize.gate import audit_gate
from ctdc.harmonize.increment import SeriesOutcome, run_increment
from ctdc.harmonize.publish import Release
from ctdc.harmonize.series import (
    ORG,
    Plan,
    SeriesPolicy,
    epoch_digest,
    plan,
    today_utc,
    write_ledger,
)
from ctdc.harmonize.settings import RunSettings, field_hierarchy
from ctdc.harmonize.steps import Batches, Merged, protected_flags
from ctdc.schema import Schema
from ctdc.slugs import Slug
from ctdc.store.keys import STAGING_FINGERPRINT_META
from ctdc.store.publication import ledger_path, read_ledger
from ctdc.store.rollback_state import RolledBack, read_state
from ctdc.store.withdrawals import read_withdrawals
from ctdc.store.workspace import Workspace


@dataclass(frozen=True)
class SeriesRun:
    """One run's place in the series: its epoch, its plan, and what it needs to finish."""

    ws: Workspace
    schema: Schema
    settings: RunSettings
    epoch: int
    digest: str
    first_of_epoch: bool
    plan: Plan
    today: str
    policy: SeriesPolicy
    #: the last ledger of the epoch this run ends (``--new-epoch``), to count what is re-coded
    ended: pd.DataFrame | None = None

    def run(self, merged: Merged) -> SeriesOutcome:
        outcome = run_increment(self.plan, merged.frame, self.schema, self.settings,
                                self.policy, self.today,
                                first_of_epoch=self.first_of_epoch)  # fmt: skip
        if outcome.anonymized.frame.empty:
            raise CtdcError(Slug.TOO_FEW_RECORDS, f"no record of {len(merged.frame)} can be "
                            f"released with k={self.settings.k}"
                            + (f" and l={self.settings.l}" if self.settings.l else ""))  # fmt: skip
        return outcome

    def summary(self, outcome: SeriesOutcome) -> dict[str, Any]:
        doc = outcome.summary(self.plan, self.epoch, self.digest, self.today)
        if self.ended is not None:
            doc["recoded_since_previous_epoch"] = recoded(self.ended, outcome.ledger,
                                                          self.schema.release_row)  # fmt: skip
        return doc

    def audit(self, folder: Path, release_id: str, previous: Release | None) -> AuditReport:
        """The gate: every attack on the release in ``folder``; its ledger is removed when one
        succeeds, since that release never becomes current."""
        against = previous.path if previous is not None and self.ended is None else None
        try:
            return audit_gate(self.ws, self.schema, folder, release_id, against,
                              self.settings.k)  # fmt: skip
        except CtdcError:
            ledger_path(self.ws.root, release_id).unlink(missing_ok=True)
            raise

    def write_ledger(self, release_id: str, outcome: SeriesOutcome) -> None:
        """Before the release becomes current: its ledger then always exists (a crash
        between the two leaves a ledger of a release that never was, read by no one)."""
        meta = {STAGING_FINGERPRINT_META: (self.ws.stored_fingerprint() or "").encode("ascii")}
        write_ledger(ledger_path(self.ws.root, release_id), outcome.ledger, self.schema,
                     self.settings.levels, meta)  # fmt: skip


def open_series(
    ws: Workspace,
    schema: Schema,
    settings: RunSettings,
    previous: Release | None,
    merged: Merged,
    *,
    new_epoch: bool,
) -> SeriesRun:
    """The epoch this run belongs to and its plan; ``new-epoch-needed`` when the settings
    changed since the epoch began and ``new_epoch`` was not asked."""
    protected = protected_flags(schema)
    digest = settings_digest(schema, settings)
    before = previous.manifest.series if previous is not None else None
    if before is not None and before.get("epoch_digest") != digest and not new_epoch:
        raise CtdcError(Slug.NEW_EPOCH_NEEDED, "this run's schema, k, l, levels or protected "
                        f"flags differ from those of epoch {before.get('epoch')}")  # fmt: skip
    continuing = before is not None and not new_epoch
    epoch = int(before["epoch"]) + (0 if continuing else 1) if before is not None else 1
    last = read_ledger(ws.root, previous.path.name) if previous is not None else None
    ledger = last if continuing else None
    today = today_utc()
    the_plan = plan(merged.frame, ledger, schema, settings.k, protected, read_withdrawals(ws),
                    today, keep_out=kept_out(ws, previous))  # fmt: skip
    return SeriesRun(ws, schema, settings, epoch, digest, ledger is None, the_plan, today,
                     series_policy(settings), ended=None if continuing else last)  # fmt: skip


def rollback_applies(ws: Workspace, previous: Release | None) -> RolledBack | None:
    """The state a rollback left, while its target is still the current release."""
    state = read_state(ws)
    if state is None or previous is None or state.target != previous.path.name:
        return None
    return state


def kept_out(ws: Workspace, previous: Release | None) -> frozenset[str]:
    """The records a rollback to the current release keeps out of its epoch."""
    state = rollback_applies(ws, previous)
    return state.pseudonyms if state is not None else frozenset()


def series_policy(settings: RunSettings) -> SeriesPolicy:
    """The workspace policy's hold-back rule (``ctdc policy set series_hold_days=7``)."""
    policy = settings.policy
    return SeriesPolicy(policy.series_hold_cells, policy.series_hold_days,
                        policy.series_increment_days)  # fmt: skip


def settings_digest(schema: Schema, settings: RunSettings) -> str:
    """The epoch's digest of this run's schema and hierarchies, k, l, levels and protected
    flags (a hierarchy file edited in place changes what a label means: a new epoch)."""
    hierarchies = {n: hashlib.sha256(json.dumps(field_hierarchy(schema[n]).rows).encode())
                   .hexdigest() for n in settings.levels}  # fmt: skip
    schema_sha = settings.policy.schema_sha256 + json.dumps(sorted(hierarchies.items()))
    return epoch_digest(schema_sha, settings.k, settings.l, settings.levels,
                        protected_flags(schema))  # fmt: skip


def input_digest(ws: Workspace, schema: Schema, settings: RunSettings, batches: Batches,
                 held: bool, today: str, rollback: RolledBack | None = None) -> str:  # fmt: skip
    """Everything a series run's release depends on, known before a record is read.

    The live batches, the withdrawals, the epoch's settings, the series policy and
    ctdc's version; and the day, while records are ``held`` (their waits decide what is
    published); and what a ``rollback`` to the current release keeps out. Equal to the
    current release's: the run would publish it again, so
    harmonize says ``unchanged`` without merging or anonymizing anything.
    """
    withdrawn = withdrawals_digest(ws)
    doc = [__version__, settings_digest(schema, settings), list(batches.ids), withdrawn,
           asdict(series_policy(settings)), today if held else "",
           *([settings.policy.licence_mark] if settings.policy.licence_mark else []),
           *([f"rollback={rollback.digest}"] if rollback is not None else [])]  # fmt: skip
    return hashlib.sha256(json.dumps(doc).encode()).hexdigest()


def withdrawals_digest(ws: Workspace) -> str:
    """A hash of every withdrawn pseudonym ("" before the first withdrawal)."""
    withdrawn = read_withdrawals(ws)
    return hashlib.sha256("\n".join(sorted(withdrawn)).encode()).hexdigest() if withdrawn else ""


def recoded(before: pd.DataFrame, after: pd.DataFrame, released: list[str]) -> int:
    """Records published in both ledgers whose released row differs: what someone diffing
    the last release of an epoch against the first of the next can intersect."""

    def published(ledger: pd.DataFrame) -> pd.DataFrame:
        rows = ledger[ledger["state"] == "published"].set_index("case_pseudonym")
        return rows.reindex(columns=released).astype("string")

    old, new = published(before), published(after)
    both = old.index.intersection(new.index)
    a, b = old.loc[both].fillna("\0"), new.loc[both].fillna("\0")
    return int((a != b).any(axis=1).sum())


def account_series(
    batches: Batches, merged: Merged, series: SeriesRun, outcome: SeriesOutcome
) -> Accounting:
    """Every staged record released, merged, held, withheld or withdrawn."""
    accounting = account(batches.entries, merged.duplicates, outcome.anonymized.frame[ORG], {},
                         held=outcome.held, withheld=outcome.withheld,
                         withdrawn=series.plan.withdrawn_orgs)  # fmt: skip
    check_balanced(accounting)
    return accounting
