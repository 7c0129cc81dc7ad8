"""A crash at any atomic rename of an ingest leaves the previous state intact, and the same
export again completes it (split from test_batches.py, whose helpers it shares, so that one
file does not hold a whole worker: `--dist loadscope`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from batch_helpers import (
    check_balanced,
    export,
    ingest,
    release,
)

from conftest import ROOT, TEST_MAPPING
from ctdc.mapping import Mapping, load_mapping
from ctdc.quarantine import list_batches
from ctdc.schema import Schema, load_schema
from ctdc.store.ledger import live_entries, read_entries
from ctdc.store.workspace import Workspace, init_workspace


class Crash(Exception):
    """Stands for a kill or a power cut at one write of the ingest."""


@pytest.fixture(scope="module")
def published_a(tmp_path_factory: pytest.TempPathFactory, schema_once: Schema
                ) -> tuple[Path, Mapping, str, str]:  # fmt: skip
    """A workspace with batch ``a`` (40 records) ingested and released once, for every crash
    point to copy: (its folder, the mapping, a's batch id, the release id)."""
    root = tmp_path_factory.mktemp("published-a")
    (root / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    mapping = load_mapping(root / "test-org.yaml", schema_once)
    ws, _ = init_workspace(root / "data", k_floor=2)
    a = ingest(ws, schema_once, mapping, export(root, "a.csv", range(1, 41)), "append")
    return root / "data", mapping, a.batch_id, release(ws, schema_once).release_id


@pytest.fixture(scope="module")
def schema_once() -> Schema:
    return load_schema(ROOT / "schemas" / "ctdc.yaml")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["append", "snapshot"])
@pytest.mark.parametrize("stage", ["quarantine", "staging", "ledger"])
def test_an_interrupted_ingest_leaves_the_previous_state_intact(
    published_a, schema, tmp_path, monkeypatch, mode, stage
) -> None:
    """Crash at the atomic rename of the quarantine, staging or ledger file of a new batch."""
    template, org, a_batch, release_id = published_a
    shutil.copytree(template, tmp_path / "data", symlinks=True)
    workspace = Workspace(tmp_path / "data")
    entries = read_entries(workspace)
    a_staged = (workspace.staging_dir("test-org") / f"{a_batch}.parquet").read_bytes()
    b_path = export(tmp_path, "b.csv", range(30, 61), bad=1)  # one row for the quarantine

    real_replace = os.replace

    def crash_at(src, dst, *args, **kwargs):
        if stage in Path(dst).parts:
            raise Crash(f"interrupted while writing {dst}")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", crash_at)
    with pytest.raises(Crash):
        ingest(workspace, schema, org, b_path, mode)
    monkeypatch.setattr(os, "replace", real_replace)

    # Nothing committed: the ledger, a's staging and the release are as before.
    assert read_entries(workspace) == entries
    assert live_entries(read_entries(workspace)) == (entries, [])
    assert (workspace.staging_dir("test-org") / f"{a_batch}.parquet").read_bytes() == a_staged
    assert not list(workspace.root.rglob(".*.tmp")), "no temp file left behind"
    again = release(workspace, schema)
    assert again.status == "unchanged" and again.release_id == release_id
    assert [b.status for b in list_batches(workspace, "test-org")] in ([], ["rejected"])

    # The same export again completes the interrupted ingest (orphans are overwritten).
    b = ingest(workspace, schema, org, b_path, mode)
    assert b.status == "ingested" and b.quarantined == 1
    manifest = release(workspace, schema).manifest.to_dict()
    expected = [b.batch_id] if mode == "snapshot" else sorted([a_batch, b.batch_id])
    assert manifest["batches"] == expected
    assert check_balanced(manifest)["rows_read"] == (31 if mode == "snapshot" else 71)
