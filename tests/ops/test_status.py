"""``ctdc status``: organizations, quarantine, release, last runs and warnings."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from types import SimpleNamespace

from ops_fixtures import MARKERS, marked_export, project

from conftest import run_ctdc
from ctdc.status import workspace_status
from ctdc.status.build import retention_days
from ctdc.status.warnings import quarantine_past_retention
from ctdc.store.workspace import Workspace


def status_json(root: Path) -> dict:
    result = run_ctdc(root, "--data-dir", "data", "status", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def codes(doc: dict) -> set[str]:
    return {w["code"] for w in doc["warnings"]}


def test_status_of_an_empty_workspace(tmp_path: Path) -> None:
    root = project(tmp_path)
    doc = status_json(root)
    assert (doc["organizations"], doc["quarantine"], doc["release"]) == ([], [], None)
    assert doc["last_run"]["command"] == "init" and doc["last_run"]["outcome"] == "ok"
    assert codes(doc) == {"key-not-backed-up"}
    text = run_ctdc(root, "--data-dir", "data", "status")
    assert "release: none published yet" in text.stdout and "never backed up" in text.stdout
    assert "warning: [key-not-backed-up]" in text.stderr
    quiet = run_ctdc(root, "--data-dir", "data", "status", "--quiet")
    assert quiet.stdout == "" and "key-not-backed-up" in quiet.stderr  # only what needs a look
    missing = run_ctdc(root, "--data-dir", "nowhere", "status", "--json")
    assert missing.exit_code == 3 and json.loads(missing.stdout)["error"]["slug"] == "no-workspace"


def test_status_after_ingests_and_a_failed_harmonize(tmp_path: Path) -> None:
    """A harmonize refused (too few records for k) shows as the last run, its slug and exit
    code, with a warning; nothing the export held shows anywhere."""
    root = project(tmp_path)
    marked_export(root / "personname.csv", rows=12)
    assert run_ctdc(root, "--data-dir", "data", "ingest", "--org", "test-org",
                    "personname.csv").exit_code == 0  # fmt: skip
    harmonize = run_ctdc(root, "--data-dir", "data", "harmonize", "--k", "50")
    assert harmonize.exit_code == 1, harmonize.stderr
    doc = status_json(root)
    (org,) = doc["organizations"]
    assert (org["org"], org["batches"], org["last_rows_read"], org["last_staged"]) == (
        "test-org", 1, 13, 12)  # fmt: skip
    assert (org["unreleased_batches"], org["unreleased_rows"], org["days_since_last"]) == (1, 12, 0)
    (quarantined,) = doc["quarantine"]
    assert (quarantined["rows"], quarantined["batches"], quarantined["oldest_days"]) == (1, 1, 0)
    last = doc["last_run"]
    assert (last["command"], last["outcome"], last["exit_code"], last["slug"]) == (
        "harmonize", "failed", 1, "too-few-records")  # fmt: skip
    assert "last-run-failed" in codes(doc)
    text = run_ctdc(root, "--data-dir", "data", "status")
    assert "failed (too-few-records), exit 1" in text.stdout
    shown = (json.dumps(doc) + text.stdout + text.stderr).lower()
    assert [m for m in MARKERS if m.lower() in shown] == []


def test_silent_organization_warning_follows_the_policy_and_the_clock(tmp_path: Path) -> None:
    root = project(tmp_path)
    marked_export(root / "export.csv")
    assert run_ctdc(root, "--data-dir", "data", "ingest", "--org", "test-org",
                    "export.csv").exit_code == 0  # fmt: skip
    ws = Workspace(root / "data")
    today = dt.datetime.now(dt.UTC)

    def silent(days_later: int) -> list[str]:
        found = workspace_status(ws, now=today + dt.timedelta(days=days_later))
        return [w.message for w in found.warnings if w.code == "silent-org"]

    assert silent(44) == []
    assert silent(46) == [silent(46)[0]] and "test-org: no batch for 46 days" in silent(46)[0]
    assert run_ctdc(root, "--data-dir", "data", "policy", "set", "silent_org_days=7",
                    "--reason", "weekly exports").exit_code == 0  # fmt: skip
    assert silent(6) == [] and "silent_org_days=7" in silent(8)[0]
    zero = run_ctdc(root, "--data-dir", "data", "policy", "set", "silent_org_days=0",
                    "--reason", "x")  # fmt: skip
    assert zero.exit_code == 2 and "silent_org_days must be at least 1" in zero.stderr


def test_key_backup_clears_the_warning_until_the_key_changes(tmp_path: Path) -> None:
    root = project(tmp_path)
    backup = tmp_path / "vault" / "pseudonym.key"
    backup.parent.mkdir()
    inside = run_ctdc(root, "--data-dir", "data", "key", "backup", "--out", "data/k.bak")
    assert inside.exit_code == 2 and "inside the workspace" in inside.stderr
    made = run_ctdc(root, "--data-dir", "data", "key", "backup", "--out", str(backup))
    assert made.exit_code == 0, made.stderr
    assert backup.read_bytes() == (root / "data" / "pseudonym.key").read_bytes()
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    assert "key-not-backed-up" not in codes(status_json(root))
    record = (root / "data" / "key-backup.json").read_text()
    assert str(backup) not in record and backup.read_bytes().hex() not in record
    again = run_ctdc(root, "--data-dir", "data", "key", "backup", "--out", str(backup))
    assert again.exit_code == 0 and "checked the existing" in again.stdout
    assert run_ctdc(root, "--data-dir", "data", "key", "rotate").exit_code == 0
    doc = status_json(root)
    assert "key-not-backed-up" in codes(doc) and doc["key"]["problem"] is None
    stale = run_ctdc(root, "--data-dir", "data", "key", "backup", "--out", str(backup))
    assert stale.exit_code == 2 and "holds another key" in stale.stderr  # never overwritten


def test_quarantine_retention_and_interrupted_runs(tmp_path: Path) -> None:
    """The retention rule reads ``quarantine_retention_days`` when a policy has one; a run
    whose process is gone without an end line reads as interrupted."""
    assert retention_days(None) is None
    assert retention_days(SimpleNamespace(quarantine_retention_days=30)) == 30  # type: ignore[arg-type]
    root = project(tmp_path)
    marked_export(root / "export.csv")
    run_ctdc(root, "--data-dir", "data", "ingest", "--org", "test-org", "export.csv")
    ws = Workspace(root / "data")
    later = workspace_status(ws, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=40))
    assert quarantine_past_retention(later.quarantine, None) == []
    (warning,) = quarantine_past_retention(later.quarantine, 30)
    assert warning.code == "quarantine-past-retention" and "40 days old" in warning.message
    last = root / "data" / "logs" / "last" / "harmonize.json"
    dead = os.getpid() + 1_000_000  # no such process
    last.write_text(json.dumps({"command": "harmonize", "event": "start", "outcome": "running",
                                "pid": dead, "ts": "2025-01-01T02:00:00.000Z",
                                "run_id": "20250101T020000Z-00000000"}))  # fmt: skip
    doc = status_json(root)
    assert doc["last_run"]["command"] == "ingest"  # started later than the interrupted one
    assert "last-run-interrupted" in codes(doc)


def test_quarantine_expiring_and_a_changed_mapping_are_warned(tmp_path: Path) -> None:
    """Two weeks before the retention purge, the quarantined rows are named (batch, count,
    date; no row); once due they are past retention instead. An edited mapping asks for
    `ctdc reprocess`."""
    root = project(tmp_path)
    marked_export(root / "export.csv")
    run_ctdc(root, "--data-dir", "data", "ingest", "--org", "test-org", "export.csv")
    ws, now = Workspace(root / "data"), dt.datetime.now(dt.UTC)
    soon = workspace_status(ws, now=now + dt.timedelta(days=80))  # the default 90 days
    (warning,) = [w for w in soon.warnings if w.code == "quarantine-expiring"]
    assert "1 quarantined row(s)" in warning.message and "quarantine export" in warning.message
    due = workspace_status(ws, now=now + dt.timedelta(days=95))
    assert {w.code for w in due.warnings} >= {"quarantine-past-retention"}
    assert "quarantine-expiring" not in {w.code for w in due.warnings}
    assert "mapping-changed" not in codes(status_json(root))
    mapping = root / "pipelines" / "test-org.yaml"
    mapping.write_text(mapping.read_text(encoding="utf-8") + "# Varón to be added\n", "utf-8")
    result = run_ctdc(root, "--data-dir", "data", "status", "--json")
    (changed,) = [
        w for w in json.loads(result.stdout)["warnings"] if w["code"] == "mapping-changed"
    ]
    assert "ctdc reprocess --org test-org" in changed["message"]
    shown = (result.stdout + result.stderr + warning.message).lower()
    assert [m for m in MARKERS if m.lower() in shown] == []
