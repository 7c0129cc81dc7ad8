"""Withdrawn records: cases whose consent was withdrawn (or that the law removes).

``ctdc withdraw`` appends the pseudonyms of the named cases here; harmonize
leaves them out of every later release at once (a withdrawal is never
delayed) and never publishes them again. The file is private, 0600, holds
pseudonyms only (no case id), and carries the key's fingerprint so that a key
rotation re-keys it with the staging.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ctdc.store.atomic import write_parquet
from ctdc.store.keys import STAGING_FINGERPRINT_META
from ctdc.store.workspace import Workspace

WITHDRAWALS_FILE = "withdrawals.parquet"
SCHEMA = pa.schema([("case_pseudonym", pa.string()), ("org_id", pa.string()),
                    ("withdrawn_at", pa.string()), ("reason", pa.string())])  # fmt: skip
#: why a record was withdrawn; free text never enters the workspace here
REASONS = ("consent", "legal", "other")


def withdrawals_path(ws: Workspace):
    return ws.root / WITHDRAWALS_FILE


def read_withdrawals(ws: Workspace) -> set[str]:
    """The pseudonyms withdrawn so far (empty before the first withdrawal)."""
    path = withdrawals_path(ws)
    if not path.is_file():
        return set()
    return set(pq.read_table(path, columns=["case_pseudonym"]).column(0).to_pylist())


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
