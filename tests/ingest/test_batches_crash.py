"""A crash at any atomic rename of an ingest leaves the previous state intact, and the same
export again completes it (split from test_batches.py, whose helpers it shares, so that one
file does not hold a whole worker: `--dist loadscope`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from batch_helpers import (
    check_balanced,
    export,
    ingest,
    release,
)

from ctdc.quarantine import list_batches
from ctdc.store.ledger import live_entries, read_entries


class Crash(Exception):
    """Stands for a kill or a power cut at one write of the ingest."""


@pytest.mark.parametrize("mode", ["append", "snapshot"])
@pytest.mark.parametrize("stage", ["quarantine", "staging", "ledger"])
def test_an_interrupted_ingest_leaves_the_previous_state_intact(
    workspace, schema, org, tmp_path, monkeypatch, mode, stage
) -> None:
    """Crash at the atomic rename of the quarantine, staging or ledger file of a new batch."""
    a = ingest(workspace, schema, org, export(tmp_path, "a.csv", range(1, 41)), "append")
    published = release(workspace, schema)
    entries = read_entries(workspace)
    a_staged = (workspace.staging_dir("test-org") / f"{a.batch_id}.parquet").read_bytes()
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
    assert (workspace.staging_dir("test-org") / f"{a.batch_id}.parquet").read_bytes() == a_staged
    assert not list(workspace.root.rglob(".*.tmp")), "no temp file left behind"
    again = release(workspace, schema)
    assert again.status == "unchanged" and again.release_id == published.release_id
    assert [b.status for b in list_batches(workspace, "test-org")] in ([], ["rejected"])

    # The same export again completes the interrupted ingest (orphans are overwritten).
    b = ingest(workspace, schema, org, b_path, mode)
    assert b.status == "ingested" and b.quarantined == 1
    manifest = release(workspace, schema).manifest.to_dict()
    expected = [b.batch_id] if mode == "snapshot" else sorted([a.batch_id, b.batch_id])
    assert manifest["batches"] == expected
    assert check_balanced(manifest)["rows_read"] == (31 if mode == "snapshot" else 71)
