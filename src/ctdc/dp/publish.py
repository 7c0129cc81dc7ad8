"""A DP table into the public folder, where analysts read: ``<public>/dp/<name>.parquet`` + JSON.

The folder is beside ``current`` and ``releases/`` and outlives them: a DP table
is charged to the budget once and stays published, its sidecar naming the
release and epoch whose staged data it counted. ``<name>`` is the creation time
(UTC, as release ids begin) and the fields counted by, e.g.
``20261202T010203Z-counts-gender-citizenship``: nothing in it, the Parquet or the
sidecar is private (no pseudonym, organization or batch id: the table holds the
key set's values and numbers only). Files take the public folder's file mode,
the folder its folder mode, each written atomically (``store.atomic``); the
audit's ``files`` check knows the folder (``DP_DIR``, ``DP_FILE``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ctdc.dp.aggregates import DpTable, dp_counts
from ctdc.errors import CtdcError
from ctdc.schema import Schema
from ctdc.slugs import Slug
from ctdc.store.areas import workspace_area
from ctdc.store.atomic import write_json, write_parquet
from ctdc.store.catalog import refresh_catalog
from ctdc.store.lock import exclusive_lock
from ctdc.store.public import DP_DIR, DP_FILE, PublicArea
from ctdc.store.release import current_release
from ctdc.store.workspace import Workspace

#: the Parquet key-value metadata key of a DP table's sidecar (JSON): epsilon, delta, scale...
DP_META = "ctdc.dp"


@dataclass(frozen=True)
class Published:
    table: Path
    sidecar: Path


def file_stem(table: DpTable) -> str:
    """``<YYYYmmddTHHMMSSZ>-counts-<fields>[-share-<flag>]``, lower case."""
    stamp = dt.datetime.fromisoformat(table.created_at).strftime("%Y%m%dT%H%M%SZ")
    words = ["counts", *table.by, *(["share", table.share] if table.share else [])]
    return f"{stamp}-" + re.sub(r"[^a-z0-9_-]+", "-", "-".join(words).lower())


def publish_table(area: PublicArea, table: DpTable) -> Published:
    """Write the table and its sidecar; ``no-release`` when the public folder does not exist
    yet (the first ``ctdc harmonize`` makes it, with its modes)."""
    if not area.root.is_dir():
        raise CtdcError(Slug.NO_RELEASE, f"the public folder {area.root} does not exist yet",
                        fix="run `ctdc harmonize` first: DP tables are published beside "
                        "the release")  # fmt: skip
    folder = area.root / DP_DIR
    if not folder.is_dir():
        folder.mkdir(mode=area.mode)
        os.chmod(folder, area.mode)  # the umask may have masked it
    stem, n = file_stem(table), 1
    while (folder / f"{stem}.parquet").exists() or (folder / f"{stem}.json").exists():
        n += 1
        stem = f"{file_stem(table)}-{n}"
    assert DP_FILE.fullmatch(f"{stem}.parquet"), stem
    frame = pa.Table.from_pandas(table.frame, preserve_index=False).replace_schema_metadata(
        {DP_META: json.dumps(table.about(), sort_keys=True)}  # the file says what it is alone
    )
    parquet, sidecar = folder / f"{stem}.parquet", folder / f"{stem}.json"
    write_json(sidecar, {**table.about(), "table": parquet.name}, mode=area.file_mode)
    write_parquet(parquet, frame, mode=area.file_mode)
    return Published(parquet, sidecar)


def publish_dp_counts(ws: Workspace, schema: Schema, by: list[str], epsilon: float, *,
                      share: str | None = None,
                      who: str | None = None) -> tuple[DpTable, Published]:  # fmt: skip
    """``ctdc stats --dp``: check where it goes, charge, draw, publish (``dp_counts``).

    Under the harmonize lock, as ``ctdc synthesize``: a nightly run neither changes the
    staging it counts nor rewrites the catalog beside it meanwhile.
    """
    area = workspace_area(ws)
    if not area.root.is_dir() or current_release(ws) is None:
        raise CtdcError(Slug.NO_RELEASE, "no release has been published yet",
                        fix="run `ctdc harmonize` first: DP tables are published beside "
                        "the release")  # fmt: skip
    with exclusive_lock(ws.lock_path):
        table = dp_counts(ws, schema, by, epsilon, share=share, who=who)
        published = publish_table(area, table)
        refresh_catalog(area)  # the first DP table adds ``dp_counts``
    return table, published
