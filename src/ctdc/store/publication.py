"""Where the series' private publication ledgers live, and how they are read.

One Parquet file per private release, ``<data>/series/<release id>.parquet``:
every live record's state (published with its exact released row, pending,
or withheld) by pseudonym. ``ctdc.harmonize.series`` writes them;
``ctdc.audit`` reads two consecutive ones to check that no published record
changed form. They hold pseudonyms, so they stay in the private workspace
and are re-keyed with the staging (``ctdc.store.rotation``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

SERIES_DIR = "series"


def ledger_path(ws_root: Path, release_id: str) -> Path:
    return ws_root / SERIES_DIR / f"{release_id}.parquet"


def nullable(arrow_type: pa.DataType) -> object:
    """The pandas dtype each release type reads back as (so frozen and new rows match)."""
    return {pa.string(): pd.StringDtype(), pa.bool_(): pd.BooleanDtype(),
            pa.int16(): pd.Int16Dtype()}.get(arrow_type)  # fmt: skip


def read_ledger(ws_root: Path, release_id: str | None) -> pd.DataFrame | None:
    """The publication ledger of a private release, or None (no release, or one from before)."""
    path = ledger_path(ws_root, release_id) if release_id else None
    if path is None or not path.is_file():
        return None
    return pq.read_table(path).to_pandas(types_mapper=nullable)
