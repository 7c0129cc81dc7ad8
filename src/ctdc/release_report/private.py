"""What only the private report shows, read from the workspace: intake, quarantine, risk.

Per-organization figures never go in the public report (a night's one new
record could be traced to its organization, docs/privacy.md), and the risk
before anonymization describes data no analyst sees; both are read here, from
the ledger and the private manifest, and only ``build.private_report`` calls
this module. Intake counts batches, not people: they are the steward's own
bookkeeping, not a release, so they are shown as recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ctdc.errors import CtdcError
from ctdc.harmonize.manifest import ReleaseManifest
from ctdc.slugs import Slug
from ctdc.store.ledger import BatchEntry, read_entries
from ctdc.store.release import current_release, read_manifest
from ctdc.store.workspace import Workspace

#: the risk figures charted before and after (``AnonymizationReport.risk_*``), with labels
RISK_MEASURES = {
    "max_prosecutor_risk": "highest risk (1 / smallest class)",
    "mean_prosecutor_risk": "mean risk (1 / class size)",
    "sample_uniques": "share of records unique",
    "records_below_k": "share of records in classes below k",
}
#: measures that are counts of records: charted as a share of the records
RISK_COUNTS = ("sample_uniques", "records_below_k")


@dataclass(frozen=True)
class PrivateFacts:
    """The workspace's side of one release."""

    manifest: ReleaseManifest
    intake: pd.DataFrame
    """one row per ledger batch up to the release: org, day, in_release, rows_read, staged,
    quarantined"""
    reasons: pd.DataFrame
    """rows quarantined per organization and reason slug: org, reason, rows"""
    risk: pd.DataFrame
    """measure, when (before/after), value (0-1), label"""


def private_manifest(ws: Workspace) -> ReleaseManifest:
    """The full manifest of the workspace's current release (``no-release`` before one)."""
    folder = current_release(ws)
    if folder is None:
        raise CtdcError(Slug.NO_RELEASE, f"the workspace {ws.root} has no release yet",
                        fix="run `ctdc harmonize` first")  # fmt: skip
    return ReleaseManifest.from_dict(read_manifest(folder))


def _time(text: str) -> dt.datetime:
    stamp = dt.datetime.fromisoformat(text)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def intake_frame(entries: Iterable[BatchEntry], manifest: ReleaseManifest) -> pd.DataFrame:
    """Batches ingested up to the release's time, by organization and UTC day."""
    until = _time(manifest.created_at)
    in_release = set(manifest.batches)
    rows = [
        {"org": e.org, "day": _time(e.ingested_at).astimezone(dt.UTC).date().isoformat(),
         "in_release": e.batch_id in in_release, "rows_read": e.rows_read, "staged": e.staged,
         "quarantined": e.quarantined}
        for e in entries if _time(e.ingested_at) <= until
    ]  # fmt: skip
    columns = ["org", "day", "in_release", "rows_read", "staged", "quarantined"]
    return pd.DataFrame(rows, columns=columns).sort_values(["day", "org"], ignore_index=True)


def reasons_frame(entries: Iterable[BatchEntry], manifest: ReleaseManifest) -> pd.DataFrame:
    """Rows quarantined per organization and reason, over the batches up to the release."""
    until = _time(manifest.created_at)
    totals: dict[tuple[str, str], int] = {}
    for e in entries:
        if _time(e.ingested_at) > until:
            continue
        for reason, n in e.quarantined_by_reason.items():
            totals[(e.org, reason)] = totals.get((e.org, reason), 0) + int(n)
    rows = [{"org": org, "reason": reason, "rows": n}
            for (org, reason), n in sorted(totals.items()) if n]  # fmt: skip
    return pd.DataFrame(rows, columns=["org", "reason", "rows"])


def risk_frame(manifest: ReleaseManifest) -> pd.DataFrame:
    """The anonymizer's risk before and after, each measure on a 0-1 scale."""
    report = manifest.anonymization
    rows = []
    for when, risk in (("before", report.risk_before), ("after", report.risk_after)):
        records = float(risk.get("records", 0)) or 1.0
        for key, name in RISK_MEASURES.items():
            if key not in risk:
                continue
            raw = float(risk[key])
            value = raw / records if key in RISK_COUNTS else raw
            text = (f"{value:.1%} ({int(raw):,} of {int(records):,})" if key in RISK_COUNTS
                    else f"{value:.3f}")  # fmt: skip
            rows.append({"measure": name, "when": when, "value": value, "label": text})
    return pd.DataFrame(rows, columns=["measure", "when", "value", "label"])


def private_facts(ws: Workspace) -> PrivateFacts:
    """The private manifest, the ledger's intake and quarantine reasons, and the risk."""
    manifest = private_manifest(ws)
    entries = read_entries(ws)
    return PrivateFacts(manifest, intake_frame(entries, manifest),
                        reasons_frame(entries, manifest), risk_frame(manifest))  # fmt: skip


def reports_dir(ws: Workspace) -> Path:
    """``<data>/reports``: private reports, 0700 (made by the writer)."""
    return ws.root / "reports"
