"""Which quarantined rows a corrected row closed: the quarantine's resolved state.

A row of ``ctdc quarantine export`` carries its quarantine id
(``ctdc.mapping.helpers.QUARANTINE_ID``, ``<batch>-r<row>``). When the
organization sends the corrected file back, ingest records, for every row
that carries an id, what became of it:

- ``staged``: the corrected row passed; the original is resolved;
- ``requarantined``: it failed again; the original is closed, and the new
  quarantine row (with its own id, in the new batch) is the one to fix.

Either way the original leaves the open rows that ``quarantine list --rows``
and ``quarantine export`` show, so a row is never exported twice.

The records live in ``<data>/quarantine/<org>/resolved/<batch>.parquet``, one
file per batch that closed rows, written before that batch's ledger entry and
counted only once the batch is committed (it has a ledger entry) or was
rejected (it has a quarantine file): the ledger stays the commit point. The
original quarantine files are never rewritten: a file whose rows are all
closed is removed whole by the retention purge (``quarantine.retention``).
The records hold ids and batch ids only, no row content.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ctdc.mapping.helpers import quarantine_id
from ctdc.store.atomic import write_parquet
from ctdc.store.ledger import entry_path
from ctdc.store.workspace import Workspace

RESOLVED_DIR = "resolved"
STAGED = "staged"
REQUARANTINED = "requarantined"
RESOLUTION_SCHEMA = pa.schema(
    [("quarantine_id", pa.string()), ("outcome", pa.string()), ("by_batch", pa.string())]
)


def resolution_path(ws: Workspace, org: str, batch_id: str) -> Path:
    return ws.quarantine_dir(org) / RESOLVED_DIR / f"{batch_id}.parquet"


def carried_ids(chunks: list[pa.Array]) -> np.ndarray:
    """The distinct, non-empty quarantine ids in ``chunks`` (trimmed text)."""
    if not chunks:
        return np.array([], dtype=object)
    ids = pc.utf8_trim_whitespace(pa.chunked_array(chunks, pa.string()))
    ids = pc.drop_null(pc.filter(ids, pc.not_equal(ids, "")))
    return np.array(pc.unique(ids).to_pylist(), dtype=object)


def record_resolutions(ws: Workspace, org: str, batch_id: str, staged: np.ndarray,
                       requarantined: np.ndarray) -> int:  # fmt: skip
    """Write what ``batch_id`` did to the rows it carries ids of; returns how many.

    An id both staged and quarantined again (the corrected row sent twice,
    once right) counts as staged. No id: an earlier record of this batch
    (a reprocess) is removed.
    """
    again = np.setdiff1d(requarantined.astype(str), staged.astype(str))
    ids = np.concatenate([staged.astype(str), again])
    path = resolution_path(ws, org, batch_id)
    if not len(ids):
        path.unlink(missing_ok=True)
        return 0
    outcome = [STAGED] * len(staged) + [REQUARANTINED] * len(again)
    table = pa.table({"quarantine_id": ids.tolist(), "outcome": outcome,
                      "by_batch": [batch_id] * len(ids)}, schema=RESOLUTION_SCHEMA)  # fmt: skip
    ws.private_dir(path.parent)
    write_parquet(path, table)
    return len(ids)


def read_resolutions(ws: Workspace, org: str) -> pd.DataFrame:
    """Every counted record of ``org`` (see the module docstring); a staged outcome wins."""
    folder = ws.quarantine_dir(org) / RESOLVED_DIR
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    counted = [p for p in files if entry_path(ws, org, p.stem).is_file()
               or (ws.quarantine_dir(org) / p.name).is_file()]  # fmt: skip
    if not counted:
        return RESOLUTION_SCHEMA.empty_table().to_pandas()
    frame = pa.concat_tables([pq.read_table(p, schema=RESOLUTION_SCHEMA) for p in counted])
    out = frame.to_pandas().sort_values("outcome", key=lambda s: s != STAGED, kind="stable")
    return out.drop_duplicates("quarantine_id").reset_index(drop=True)


def row_ids(q: pd.DataFrame) -> pd.Series:
    """The quarantine id of each row of a quarantine frame (``read_quarantine``), as
    :func:`~ctdc.mapping.helpers.quarantine_id` makes it, vectorized."""
    if q.empty:
        return pd.Series([], dtype="string", index=q.index)
    ids = q["batch_id"].astype(str) + "-r" + q["source_row"].astype("int64").astype(str)
    return ids.astype("string")


def closed_mask(q: pd.DataFrame, resolutions: pd.DataFrame) -> np.ndarray:
    """True for each row of ``q`` that a corrected row closed."""
    return row_ids(q).isin(resolutions["quarantine_id"]).to_numpy(dtype=bool)


def known_ids(q: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    """The ids in ``ids`` that name a row of ``q`` (others name nothing of this org)."""
    return ids[pd.Index(ids.astype(str)).isin(row_ids(q))]


__all__ = [
    "REQUARANTINED",
    "STAGED",
    "carried_ids",
    "closed_mask",
    "known_ids",
    "quarantine_id",
    "read_resolutions",
    "record_resolutions",
    "row_ids",
]
