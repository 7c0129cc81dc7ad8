"""Union of every committed staging batch, duplicates of one case merged in DuckDB.

A case re-exported in a later batch of its organization has the same
pseudonym; the latest batch (by ledger commit order) wins. The SQL is plain
enough to run unchanged on a distributed engine.
"""

from __future__ import annotations

import pandas as pd

from ctdc.scratch import scratch_connection
from ctdc.store.ledger import BatchEntry
from ctdc.store.workspace import Workspace


def merge_staging(ws: Workspace, entries: list[BatchEntry]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Return the merged frame (ordered by pseudonym) and duplicates merged per org."""
    files = [str(ws.staging_dir(e.org) / f"{e.batch_id}.parquet") for e in entries]
    batches = pd.DataFrame({"batch_id": [e.batch_id for e in entries],
                            "seq": [e.seq for e in entries]})  # fmt: skip
    con = scratch_connection()
    try:
        con.register("batches", batches)
        con.execute(
            "CREATE TEMP TABLE staged AS SELECT s.*, b.seq AS _seq "
            "FROM read_parquet(?, union_by_name = true) s JOIN batches b USING (batch_id)",
            [files],
        )
        merged = con.sql(
            "SELECT * EXCLUDE (_seq) FROM staged "
            "QUALIFY row_number() OVER (PARTITION BY case_pseudonym ORDER BY _seq DESC) = 1 "
            "ORDER BY case_pseudonym"
        ).to_arrow_table()
        dups = dict(
            con.execute(
                "SELECT org_id, count(*) - count(DISTINCT case_pseudonym) FROM staged GROUP BY ALL"
            ).fetchall()
        )
    finally:
        con.close()
    frame = merged.to_pandas(types_mapper=_nullable)
    return frame, {str(k): int(v) for k, v in dups.items()}


def _nullable(arrow_type: object) -> object:
    import pyarrow as pa

    return {
        pa.string(): pd.StringDtype(),
        pa.large_string(): pd.StringDtype(),
        pa.bool_(): pd.BooleanDtype(),
        pa.int16(): pd.Int16Dtype(),
    }.get(arrow_type)
