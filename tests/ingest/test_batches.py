"""Batches over time: ``--mode append`` adds, ``--mode snapshot`` replaces; crashes change nothing.

Real files, real staging and ledger, real harmonize. The exports are
hand-made ``test-org`` CSVs (the mapping of ``conftest.py``) with overlapping
case ids, so that duplicates across batches, replacement and accounting can
all be told apart.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batch_helpers import (
    GENERALIZE,
    check_balanced,
    export,
    ingest,
    pseudonyms,
    release,
)

from conftest import TEST_MAPPING, run_ctdc
from ctdc.errors import CtdcError
from ctdc.harmonize.merge import merge_staging
from ctdc.ingest import ingest_file
from ctdc.mapping import load_mapping
from ctdc.store.ledger import live_entries, read_entries, superseded_by


@pytest.mark.slow
def test_append_adds_to_the_earlier_batches(workspace, schema, org, tmp_path) -> None:
    a = ingest(workspace, schema, org, export(tmp_path, "a.csv", range(1, 41)), "append")
    b = ingest(workspace, schema, org, export(tmp_path, "b.csv", range(21, 61)), "append")
    assert (a.status, b.status, a.mode, b.mode) == ("ingested", "ingested", "append", "append")
    assert [e.mode for e in read_entries(workspace)] == ["append", "append"]
    manifest = release(workspace, schema).manifest.to_dict()
    assert manifest["batches"] == sorted([a.batch_id, b.batch_id])
    row = check_balanced(manifest)
    assert row["rows_read"] == 80 and row["duplicates_merged"] == 20  # ids 21-40 sent twice
    assert row["released"] + row["records_suppressed"] + row["held"] == 60
    assert manifest["changes"]["batches_superseded"] == []


@pytest.mark.slow
def test_snapshot_replaces_the_earlier_batches(workspace, schema, org, tmp_path) -> None:
    a = ingest(workspace, schema, org, export(tmp_path, "a.csv", range(1, 41)), "append")
    first = release(workspace, schema).manifest.to_dict()
    b = ingest(workspace, schema, org, export(tmp_path, "b.csv", range(31, 61)), "snapshot")
    assert b.status == "ingested" and b.mode == "snapshot"
    assert read_entries(workspace)[-1].mode == "snapshot"

    manifest = release(workspace, schema).manifest.to_dict()
    assert manifest["batches"] == [b.batch_id]
    row = check_balanced(manifest)
    assert row["rows_read"] == 30 and row["staged"] == 30  # a's 40 rows are out of the count
    assert row["duplicates_merged"] == 0  # ids 31-40 of a are not merged: a is gone
    # a's records 1-30 left the series, and class-mates of theirs among 31-40 were withheld
    # to pad that removal to k; 41-60 are new: released as an increment, or held
    assert row["released"] + row["records_suppressed"] + row["held"] + row["withheld"] == 30
    changes = manifest["changes"]
    [line] = changes["batches_superseded"]
    assert line["org"] == "test-org" and line["snapshot"] == b.batch_id
    assert line["batches"] == [a.batch_id] and "superseded" in line["note"]
    assert changes["batches_removed"] == [a.batch_id] and changes["batches_added"] == [b.batch_id]
    assert changes["previous_release"] == first["release_id"]
    # Only b's cases are merged; a's staging file is still there (a snapshot deletes nothing).
    live = live_entries(read_entries(workspace))[0]
    merged, _ = merge_staging(workspace, live)
    assert set(merged["case_pseudonym"]) == pseudonyms(workspace, b)
    assert (workspace.staging_dir("test-org") / f"{a.batch_id}.parquet").is_file()
    assert superseded_by(workspace, "test-org", a.batch_id) == b.batch_id
    assert superseded_by(workspace, "test-org", b.batch_id) is None


@pytest.mark.slow
def test_appends_after_a_snapshot_add_to_it_and_the_latest_snapshot_wins(
    workspace, schema, org, tmp_path
) -> None:
    a = ingest(workspace, schema, org, export(tmp_path, "a.csv", range(1, 21)), "snapshot")
    b = ingest(workspace, schema, org, export(tmp_path, "b.csv", range(21, 41)), "append")
    manifest = release(workspace, schema).manifest.to_dict()
    assert manifest["batches"] == sorted([a.batch_id, b.batch_id])  # nothing before a: no loss
    assert check_balanced(manifest)["rows_read"] == 40
    assert manifest["changes"]["batches_superseded"] == []
    c = ingest(workspace, schema, org, export(tmp_path, "c.csv", range(41, 66)), "snapshot")
    d = ingest(workspace, schema, org, export(tmp_path, "d.csv", range(66, 71)), "append")
    manifest = release(workspace, schema).manifest.to_dict()
    assert manifest["batches"] == sorted([c.batch_id, d.batch_id])
    row = check_balanced(manifest)
    assert row["rows_read"] == 30 and row["duplicates_merged"] == 0
    [line] = manifest["changes"]["batches_superseded"]
    assert line["snapshot"] == c.batch_id and line["batches"] == [a.batch_id, b.batch_id]


def test_snapshot_of_one_org_leaves_the_others_alone(workspace, schema, org, tmp_path) -> None:
    other_yaml = tmp_path / "other-org.yaml"
    other_yaml.write_text(TEST_MAPPING.replace("org: test-org", "org: other-org"), "utf-8")
    other = load_mapping(other_yaml, schema)
    o = ingest(workspace, schema, other, export(tmp_path, "o.csv", range(1, 31)), "append")
    a = ingest(workspace, schema, org, export(tmp_path, "a.csv", range(1, 31)), "append")
    b = ingest(workspace, schema, org, export(tmp_path, "b.csv", range(5, 35)), "snapshot")
    manifest = release(workspace, schema).manifest.to_dict()
    assert manifest["batches"] == sorted([o.batch_id, b.batch_id])
    assert manifest["accounting"]["per_org"]["other-org"]["rows_read"] == 30
    assert manifest["changes"]["batches_superseded"][0]["batches"] == [a.batch_id]
    assert manifest["accounting"]["total"]["balanced"]


@pytest.mark.parametrize("first", ["append", "snapshot"])
@pytest.mark.parametrize("again", ["append", "snapshot"])
def test_same_bytes_again_is_a_no_op_in_both_modes(
    workspace, schema, org, tmp_path, first, again
) -> None:
    path = export(tmp_path, "a.csv", range(1, 31))
    done = ingest(workspace, schema, org, path, first)
    before = read_entries(workspace)
    files = sorted(p.name for p in workspace.root.rglob("*") if p.is_file())
    repeat = ingest(workspace, schema, org, path, again)
    assert repeat.status == "unchanged" and repeat.batch_id == done.batch_id
    assert repeat.mode == first  # the ledger's record, not the new request
    assert (repeat.rows_read, repeat.staged, repeat.quarantined) == (
        done.rows_read, done.staged, done.quarantined)  # fmt: skip
    assert read_entries(workspace) == before
    assert sorted(p.name for p in workspace.root.rglob("*") if p.is_file()) == files


def test_re_sending_a_superseded_export_does_not_bring_it_back(
    workspace, schema, org, tmp_path
) -> None:
    a_path = export(tmp_path, "a.csv", range(1, 31))
    a = ingest(workspace, schema, org, a_path, "snapshot")
    b = ingest(workspace, schema, org, export(tmp_path, "b.csv", range(1, 21)), "snapshot")
    assert ingest(workspace, schema, org, a_path, "snapshot").status == "unchanged"
    assert superseded_by(workspace, "test-org", a.batch_id) == b.batch_id
    assert release(workspace, schema).manifest.batches == (b.batch_id,)


@pytest.mark.slow
def test_a_rejected_snapshot_supersedes_nothing(workspace, schema, org, tmp_path) -> None:
    a = ingest(workspace, schema, org, export(tmp_path, "a.csv", range(1, 31)), "append")
    bad = export(tmp_path, "bad.csv", range(40, 60), bad=10)  # half the rows fail
    rejected = ingest_file(workspace, schema, org, bad, key=workspace.load_key(),
                           mode="snapshot", max_reject_rate=0.1)  # fmt: skip
    assert rejected.status == "rejected"
    assert [e.batch_id for e in read_entries(workspace)] == [a.batch_id]
    assert release(workspace, schema).manifest.batches == (a.batch_id,)


def test_unknown_mode_is_a_usage_error(workspace, schema, org, tmp_path) -> None:
    with pytest.raises(CtdcError) as err:
        ingest(workspace, schema, org, export(tmp_path, "a.csv", range(1, 5)), "replace")
    assert err.value.slug == "bad-option" and err.value.exit_code == 2
    assert not list(workspace.ledger_dir.rglob("*.json"))


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, test_org) -> Path:
    assert run_ctdc(tmp_path, "init", "--k-floor", "2").exit_code == 0
    export(tmp_path, "a.csv", range(1, 31), bad=1)
    export(tmp_path, "b.csv", range(20, 41), bad=1)
    return tmp_path


@pytest.mark.slow
def test_cli_mode_snapshot_is_recorded_shown_and_listed(project: Path) -> None:
    result = run_ctdc(project, "ingest", "--org", "test-org", "a.csv", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["mode"] == "append"
    result = run_ctdc(project, "ingest", "--org", "test-org", "--mode", "snapshot", "b.csv")
    assert result.exit_code == 0, result.stderr
    assert "ingested (snapshot)" in result.stdout
    ledger = project / "ctdc-data" / "ledger"
    entries = [json.loads(p.read_text()) for p in ledger.rglob("*.json")]
    assert sorted(e["mode"] for e in entries) == ["append", "snapshot"]
    result = run_ctdc(project, "harmonize", "--k", "2", "--json", *GENERALIZE)
    assert result.exit_code == 0, result.stderr
    [line] = json.loads(result.stdout)["changes"]["batches_superseded"]
    assert len(line["batches"]) == 1
    result = run_ctdc(project, "quarantine", "list", "--org", "test-org", "--json")
    listed = {b["source_file"]: b["status"] for b in json.loads(result.stdout)}
    assert listed == {"a.csv": "superseded", "b.csv": "ingested"}  # one bad row each
    # Re-sending a (superseded) says so, and changes nothing.
    result = run_ctdc(project, "ingest", "--org", "test-org", "a.csv", "--mode", "snapshot")
    assert result.exit_code == 0
    assert "stays superseded by snapshot" in result.stderr
    assert "ingested as append" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--mode", "snapshot", "a.csv", "b.csv"], "error[bad-option]"),
        (["--mode", "replace", "a.csv"], "Invalid value for '--mode'"),
    ],
)
def test_cli_mode_usage_errors(project: Path, args: list[str], needle: str) -> None:
    result = run_ctdc(project, "ingest", "--org", "test-org", *args)
    assert result.exit_code == 2 and needle in result.stderr, result.stderr
    assert not list((project / "ctdc-data" / "ledger").rglob("*.json"))
