"""The warnings of ``ctdc status``: one small rule each, over the facts the readers gave.

Each rule takes plain facts and a threshold and returns its warnings, so a
test gives it a clock (``now``) rather than sleeping, and a new policy setting
is wired by passing it in. ``code`` is stable (docs/operations.md lists them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ctdc.quarantine.retention import Expiring
from ctdc.status.model import KeyStatus, OrgStatus, QuarantineStatus, RunStatus, StatusWarning


def silent_orgs(orgs: Sequence[OrgStatus], days: int) -> list[StatusWarning]:
    """An organization whose last committed batch is ``days`` or more old, or that has none."""
    out = []
    for o in orgs:
        if o.days_since_last is None:
            out.append(StatusWarning("silent-org", f"{o.org}: no batch ingested yet (only "
                                     "rejected files in the quarantine)", o.org))  # fmt: skip
        elif o.days_since_last >= days:
            out.append(StatusWarning("silent-org", f"{o.org}: no batch for {o.days_since_last} "
                                     f"days (last {o.last_ingested_at}; silent_org_days={days})",
                                     o.org))  # fmt: skip
    return out


def quarantine_past_retention(
    quarantines: Sequence[QuarantineStatus], retention_days: int | None
) -> list[StatusWarning]:
    """A quarantine whose oldest file is older than the retention; None: no retention set."""
    if retention_days is None:
        return []
    return [
        StatusWarning("quarantine-past-retention", f"{q.org}: quarantined rows {q.oldest_days} "
                      f"days old, past the {retention_days}-day retention (raw rows: export "
                      f"them back and run `ctdc quarantine purge --org {q.org}`)", q.org)
        for q in quarantines
        if q.oldest_days is not None and q.oldest_days > retention_days
    ]  # fmt: skip


def unfinished_quarantine(quarantines: Sequence[QuarantineStatus]) -> list[StatusWarning]:
    """Temp files of interrupted ingests: raw rows that no list shows."""
    return [
        StatusWarning("unfinished-quarantine", f"{q.org}: {q.unfinished} unfinished quarantine "
                      "file(s) of an interrupted ingest hold raw rows (the next ingest of the "
                      "organization or `ctdc quarantine purge` removes them)", q.org)
        for q in quarantines if q.unfinished
    ]  # fmt: skip


def key_warnings(key: KeyStatus) -> list[StatusWarning]:
    """A key refused, never backed up, or rotated since its last backup."""
    if key.problem is not None:
        return [StatusWarning("key-refused", f"the key is refused ({key.problem}): every "
                              "command that needs it stops; see docs/errors.md")]  # fmt: skip
    if key.backed_up_at is None:
        return [StatusWarning("key-not-backed-up", "no backup of the key is on record: run "
                              "`ctdc key backup --out FILE` (docs/key.md); a lost key splits "
                              "every re-exported person in two")]  # fmt: skip
    if key.backup_fingerprint != key.fingerprint:
        return [StatusWarning("key-not-backed-up", f"the key changed (rotation) since its "
                              f"backup of {key.backed_up_at}: back it up again with "
                              "`ctdc key backup --out FILE`")]  # fmt: skip
    return []


def run_warnings(runs: Sequence[RunStatus]) -> list[StatusWarning]:
    """A command whose last run failed or was interrupted (a later success clears it)."""
    out = []
    for r in runs:
        if r.outcome in ("failed", "interrupted"):
            why = f" ({r.slug})" if r.slug else ""
            code = f"exit {r.exit_code}" if r.exit_code is not None else "no exit code"
            text = (f"the last `ctdc {r.command}` (started {r.started}) {r.outcome}{why}, "
                    f"{code}: see docs/operations.md, what to do on each exit code")  # fmt: skip
            out.append(StatusWarning(f"last-run-{r.outcome}", text))
    return out


#: ``ctdc status`` warns this many days before the retention purge removes quarantined rows
EXPIRING_WITHIN_DAYS = 14


def quarantine_expiring(items: Sequence[Expiring], retention_days: int) -> list[StatusWarning]:
    """Quarantined batches the next harmonizes purge within :data:`EXPIRING_WITHIN_DAYS`: the
    organization still has time to correct and send them back."""
    return [
        StatusWarning("quarantine-expiring", f"{e.org}: {e.rows:,} quarantined row(s) of batch "
                      f"{e.batch_id} are purged from {e.purge_after[:10]} "
                      f"(quarantine_retention_days={retention_days}): send them back for "
                      "correction first "
                      f"(`ctdc quarantine export --org {e.org}`)", e.org)
        for e in items
    ]  # fmt: skip


def stale_mappings(stale: Mapping[str, int]) -> list[StatusWarning]:
    """Organizations with live batches staged under an older version of their mapping."""
    return [
        StatusWarning("mapping-changed", f"{org}: {n} live batch(es) were staged with an "
                      f"earlier version of its mapping: `ctdc reprocess --org {org}` stages them "
                      "again with the current one", org)
        for org, n in sorted(stale.items()) if n
    ]  # fmt: skip
