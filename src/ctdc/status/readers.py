"""One reader per fact of ``ctdc status``, each from the workspace as it is on disk.

Each reads only what it reports and never fails the whole status on one
unreadable file: a fact it cannot read is left out (the key reader reports the
slug that refuses the key instead of raising it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from typing import Any

import pyarrow.parquet as pq

from ctdc.errors import CtdcError
from ctdc.quarantine.store import quarantine_files, unfinished_temps
from ctdc.runlog.run import LAST_DIR, log_dir
from ctdc.slugs import Slug
from ctdc.status.model import (
    BudgetStatus,
    KeyStatus,
    OrgStatus,
    QuarantineStatus,
    ReleaseStatus,
    RunStatus,
)
from ctdc.store.key_backup import last_backup
from ctdc.store.keys import fingerprint
from ctdc.store.ledger import BatchEntry, read_entries
from ctdc.store.release import current_release, read_manifest
from ctdc.store.workspace import Workspace


def parse_time(stamp: str) -> dt.datetime:
    """An ISO timestamp as written by ctdc (``Z`` or an offset; naive read as UTC)."""
    when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def days_between(earlier: str | dt.datetime, now: dt.datetime) -> int:
    """Whole days from ``earlier`` to ``now`` (0 on the same day or for a future time)."""
    start = parse_time(earlier) if isinstance(earlier, str) else earlier
    return max(0, (now - start).days)


def release_facts(ws: Workspace, now: dt.datetime) -> tuple[ReleaseStatus | None, dict[str, Any]]:
    """The current private release and its full manifest ({} before the first release)."""
    path = current_release(ws)
    if path is None:
        return None, {}
    try:
        doc = read_manifest(path)
    except (OSError, ValueError):
        return None, {}
    total = doc.get("accounting", {}).get("total", {})
    series = doc.get("series") or {}
    created = str(doc.get("created_at", ""))
    return ReleaseStatus(
        release_id=str(doc.get("release_id", path.name)),
        created_at=created,
        age_days=days_between(created, now) if created else None,
        k=int(doc.get("k", 0)),
        l=doc.get("l"),
        released=int(total.get("released", 0)),
        held=int(total.get("held", 0)),
        withheld=int(total.get("withheld", 0)),
        batches=len(doc.get("batches", [])),
        epoch=series.get("epoch"),
    ), doc


def organizations(ws: Workspace, now: dt.datetime, manifest: dict[str, Any]) -> list[OrgStatus]:
    """Every organization with a committed batch or a quarantine, sorted by id."""
    entries = _entries(ws)
    released = set(manifest.get("batches", []))
    per_org = manifest.get("accounting", {}).get("per_org", {})
    names = sorted({e.org for e in entries} | set(_quarantine_orgs(ws)))
    out = []
    for org in names:  # one iteration per organization
        mine = [e for e in entries if e.org == org]
        last = max(mine, key=lambda e: e.seq, default=None)
        waiting = [e for e in mine if e.batch_id not in released]
        series = per_org.get(org, {})
        out.append(OrgStatus(
            org=org, batches=len(mine),
            last_batch=last.batch_id if last else None,
            last_ingested_at=last.ingested_at if last else None,
            last_mode=str(last.mode) if last else None,
            last_rows_read=last.rows_read if last else 0,
            last_staged=last.staged if last else 0,
            last_quarantined=last.quarantined if last else 0,
            days_since_last=days_between(last.ingested_at, now) if last else None,
            unreleased_batches=len(waiting), unreleased_rows=sum(e.staged for e in waiting),
            held=int(series.get("held", 0)), withheld=int(series.get("withheld", 0)),
        ))  # fmt: skip
    return out


def _entries(ws: Workspace) -> list[BatchEntry]:
    try:
        return read_entries(ws)
    except (OSError, ValueError, TypeError):
        return []


def _quarantine_orgs(ws: Workspace) -> Iterable[str]:
    folder = ws.root / "quarantine"
    return [p.name for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []


def quarantine(ws: Workspace, now: dt.datetime) -> list[QuarantineStatus]:
    """Each organization's quarantine: batches, distinct rows, bytes, oldest and newest file."""
    out = []
    for org in sorted(_quarantine_orgs(ws)):
        files = quarantine_files(ws, org)
        temps = unfinished_temps(ws, org)
        if not files and not temps:
            continue
        rows = sum(pq.read_table(p, columns=["batch_id", "source_row"])
                   .group_by(["batch_id", "source_row"]).aggregate([]).num_rows
                   for p in files)  # fmt: skip
        times = sorted(dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC) for p in files)
        out.append(QuarantineStatus(
            org=org, batches=len(files), rows=rows,
            bytes=sum(p.stat().st_size for p in files),
            oldest_at=times[0].isoformat(timespec="seconds") if times else None,
            newest_at=times[-1].isoformat(timespec="seconds") if times else None,
            oldest_days=days_between(times[0], now) if times else None,
            unfinished=temps,
        ))  # fmt: skip
    return out


def last_runs(ws: Workspace) -> list[RunStatus]:
    """Each logged command's last run; ``running`` whose process is gone reads ``interrupted``."""
    folder = log_dir(ws.root) / LAST_DIR
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        outcome = str(doc.get("outcome", "unknown"))
        if outcome == "running" and not _alive(doc.get("pid")):
            outcome = "interrupted"
        ended = doc.get("ts") if doc.get("event") == "end" else None
        out.append(RunStatus(
            command=str(doc.get("command", path.stem)), outcome=outcome,
            exit_code=doc.get("exit_code"), slug=doc.get("slug"),
            started=doc.get("started") or doc.get("ts"), ended=ended,
            duration_s=doc.get("duration_s"), run_id=str(doc.get("run_id", "")),
        ))  # fmt: skip
    return out


def _alive(pid: object) -> bool:
    """Whether process ``pid`` still runs (a run killed with -9 left ``running`` behind)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def key_facts(ws: Workspace) -> KeyStatus:
    """The key's fingerprint (or the slug that refuses it) and the backup on record."""
    mine, problem = None, None
    try:
        mine = fingerprint(ws.read_key_file())
    except CtdcError as exc:
        problem = str(exc.slug)
    except OSError:
        problem = str(Slug.IO_ERROR)
    if mine is not None:  # Workspace.check_key's rules, without its write of a missing record
        expected = ({ws.stored_fingerprint()} - {None}) | ws.staged_fingerprints()
        if ws.rotation_journal.exists():
            problem = str(Slug.KEY_ROTATION_INCOMPLETE)
        elif expected - {mine}:
            problem = str(Slug.KEY_MISMATCH)
    backup = last_backup(ws)
    return KeyStatus(
        fingerprint=mine,
        problem=problem,
        backed_up_at=backup.backed_up_at if backup else None,
        backup_fingerprint=backup.fingerprint if backup else None,
    )


def privacy_budget(ws: Workspace) -> BudgetStatus | None:
    """The DP budget, used and left; None when the policy or the budget
    ledger cannot be read (``policy show`` says why)."""
    from ctdc.dp.budget import budget_state

    try:
        state = budget_state(ws)
    except (CtdcError, OSError, ValueError, TypeError):
        return None
    return BudgetStatus(state.epoch, state.budget, state.used, state.left, state.products)
