"""Withdrawn records: cases whose consent was withdrawn (or that the law removes).

``ctdc withdraw`` appends the pseudonyms of the named cases here; harmonize
leaves them out of every later release at once (a withdrawal is never
delayed) and never publishes them again. The file is private, 0600, holds
pseudonyms only (no case id), and carries the key's fingerprint so that a key
rotation re-keys it with the staging.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ctdc.errors import CtdcError
from ctdc.slugs import Slug
from ctdc.store.atomic import write_parquet
from ctdc.store.keys import STAGING_FINGERPRINT_META
from ctdc.store.lock import exclusive_lock
from ctdc.store.pseudonym import pseudonym_digests
from ctdc.store.workspace import Workspace

WITHDRAWALS_FILE = "withdrawals.parquet"
SCHEMA = pa.schema([("case_pseudonym", pa.string()), ("org_id", pa.string()),
                    ("withdrawn_at", pa.string()), ("reason", pa.string())])  # fmt: skip
#: why a record was withdrawn; free text never enters the workspace here
REASONS = ("consent", "legal", "other")


def withdrawals_path(ws: Workspace) -> Path:
    return ws.root / WITHDRAWALS_FILE


def read_withdrawals(ws: Workspace) -> set[str]:
    """The pseudonyms withdrawn so far (empty before the first withdrawal)."""
    path = withdrawals_path(ws)
    if not path.is_file():
        return set()
    return set(pq.read_table(path, columns=["case_pseudonym"]).column(0).to_pylist())


def withdraw(ws: Workspace, org: str, case_ids: list[str], reason: str) -> tuple[int, int]:
    """Withdraw ``org``'s cases ``case_ids`` (as in its own exports): (newly withdrawn, already).

    Raises ``bad-option`` for an unknown reason and ``case-not-found`` when a case id is in
    none of the organization's staged batches (a typo must not pass for a withdrawal). Holds
    the harmonize lock, so a running harmonize finishes first and the next one sees it.
    """
    if reason not in REASONS:
        raise CtdcError(Slug.BAD_OPTION, f"unknown reason {reason!r}",
                        fix=f"use one of: {', '.join(REASONS)}")  # fmt: skip
    texts = [c.strip() for c in case_ids]
    wanted = [d.hex() for d in pseudonym_digests(ws.load_key(), org, texts)]
    with exclusive_lock(ws.lock_path, holder="`ctdc harmonize`"):
        staged: set[str] = set()
        for path in sorted(ws.staging_dir(org).glob("*.parquet")):
            staged |= set(pq.read_table(path, columns=["case_pseudonym"]).column(0).to_pylist())
        missing = [i for i, p in enumerate(wanted, start=1) if p not in staged]
        if missing:  # by position, not by value: an error line never shows a case id
            where = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
            raise CtdcError(Slug.CASE_NOT_FOUND, f"{len(missing)} of {len(texts)} case ids of "
                            f"{org} are in no staged batch: number {where} in the order "
                            "given")  # fmt: skip
        new = add_withdrawals(ws, org, wanted, reason)
    return new, len(set(wanted)) - new


def add_withdrawals(ws: Workspace, org: str, pseudonyms: list[str], reason: str) -> int:
    """Append ``pseudonyms`` (not yet withdrawn) atomically; return how many were new."""
    path = withdrawals_path(ws)
    before = pq.read_table(path) if path.is_file() else SCHEMA.empty_table()
    known = set(before.column("case_pseudonym").to_pylist())
    new = sorted(set(pseudonyms) - known)
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    added = pa.Table.from_pandas(
        pd.DataFrame({"case_pseudonym": new, "org_id": org, "withdrawn_at": at, "reason": reason}),
        schema=SCHEMA, preserve_index=False)  # fmt: skip
    table = pa.concat_tables([before.cast(SCHEMA), added])
    fp = (ws.stored_fingerprint() or "").encode("ascii")
    write_parquet(path, table.replace_schema_metadata({STAGING_FINGERPRINT_META: fp}))
    return len(new)
