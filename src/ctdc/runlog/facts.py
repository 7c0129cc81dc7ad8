"""The facts each command logs, chosen field by field from its result.

Only counts, slugs, organization ids, batch and release ids, key fingerprints
(safe to show, docs/key.md) and statuses: never a file name (an export may be
named after a person), a row value, an example, a note, a reason text or a
pseudonym. Results are read by attribute, so this module imports none of the
stages whose results it reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def ingest_facts(results: Iterable[Any]) -> dict[str, Any]:
    """One entry per file: its batch, status and counts (its name is left out)."""
    files = [
        {
            "batch_id": r.batch_id,
            "status": r.status,
            "mode": r.mode,
            "rows_read": r.rows_read,
            "staged": r.staged,
            "quarantined": r.quarantined,
            "quarantined_by_reason": dict(r.quarantined_by_reason),
        }
        for r in results
    ]
    totals = {name: sum(f[name] for f in files) for name in ("rows_read", "staged", "quarantined")}
    return {"files": files, **totals}


def harmonize_facts(result: Any) -> dict[str, Any]:
    """The release and its accounting in totals (per organization is in the manifest)."""
    manifest = result.manifest
    total = manifest.accounting.total
    series = manifest.series or {}
    return {
        "status": result.status,
        "release_id": result.release_id,
        "k": manifest.k,
        "l": manifest.l,
        "batches": len(manifest.batches),
        "organizations": len(manifest.accounting.per_org),
        "staged": total.staged,
        "released": total.released,
        "records_suppressed": total.records_suppressed,
        "duplicates_merged": total.duplicates_merged,
        "held": total.held,
        "withheld": total.withheld,
        "withdrawn": total.withdrawn,
        "epoch": series.get("epoch"),
    }


def rotation_facts(result: Any) -> dict[str, Any]:
    return {
        "old_fingerprint": result.old_fingerprint,
        "new_fingerprint": result.new_fingerprint,
        "staging_files": result.staging_files,
        "ledger_entries": result.ledger_entries,
        "resumed": result.resumed,
    }
