"""The operations log: JSON lines, timestamps, run ids, private, rotated, no personal data."""

from __future__ import annotations

import datetime as dt
import json
import re
import stat
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from ops_fixtures import MARKERS, all_log_text, log_lines, marked_export, project

from conftest import run_ctdc
from ctdc.runlog import open_run
from ctdc.runlog.safe import REDACTED, safe

RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")


def test_every_workspace_command_logs_start_and_end_as_json_lines(tmp_path: Path) -> None:
    root = project(tmp_path)
    marked_export(root / "export.csv")
    assert run_ctdc(root, "--data-dir", "data", "ingest", "--org", "test-org", "export.csv",
                    "--quiet").exit_code == 0  # fmt: skip
    failed = run_ctdc(root, "--data-dir", "data", "withdraw", "--org", "test-org", "NOPE")
    assert failed.exit_code == 1
    lines = log_lines(root / "data" / "logs" / "ctdc.log")
    assert [(d["command"], d["event"]) for d in lines] == [
        ("init", "start"), ("init", "end"), ("ingest", "start"), ("ingest", "end"),
        ("withdraw", "start"), ("withdraw", "end")]  # fmt: skip
    for doc in lines:
        assert RUN_ID.fullmatch(doc["run_id"]), doc
        assert doc["ts"].endswith("Z") and dt.datetime.fromisoformat(doc["ts"]).tzinfo
    ids = [d["run_id"] for d in lines]
    assert ids[0::2] == ids[1::2] and len(set(ids)) == 3  # a start and its end share one id
    ingest = lines[3]
    assert (ingest["outcome"], ingest["exit_code"], ingest["slug"]) == ("ok", 0, None)
    assert ingest["org"] == "test-org" and ingest["rows_read"] == 13
    assert ingest["staged"] == 12 and ingest["quarantined"] == 1
    assert ingest["files"][0]["quarantined_by_reason"] == {"unknown-value": 1}
    assert ingest["duration_s"] >= 0 and ingest["started"] == lines[2]["ts"]
    withdraw = lines[5]
    assert (withdraw["level"], withdraw["outcome"], withdraw["exit_code"], withdraw["slug"]) == (
        "error",
        "failed",
        1,
        "case-not-found",
    )
    last = json.loads((root / "data" / "logs" / "last" / "withdraw.json").read_text())
    assert last == withdraw


def test_planted_values_never_reach_a_log(tmp_path: Path) -> None:
    """Names, notes, case ids, a bad cell, the export's name, pseudonyms, the key: none logged."""
    root = project(tmp_path)
    export = marked_export(root / "personname.csv")
    for args in (["ingest", "--org", "test-org", str(export)],
                 ["withdraw", "--org", "test-org", "CASEMARK001", "CASEMARK999"],
                 ["withdraw", "--org", "test-org", "CASEMARK002"],
                 ["quarantine", "export", "--org", "test-org", "--out", "personname-q.csv"],
                 ["key", "backup", "--out", str(tmp_path / "key.bak")],
                 ["--log-file", "personname.log", "policy", "set", "k=3",
                  "--reason", "NOTAMARK personname"]):  # fmt: skip
        run_ctdc(root, "--data-dir", "data", *args)
    data = root / "data"
    text = all_log_text(data) + (root / "personname.log").read_text(encoding="utf-8")
    assert "withdraw" in text and "quarantine export" in text and "policy set" in text
    assert [m for m in MARKERS if m.lower() in text.lower()] == []
    staged = [pq.read_table(f, columns=["case_pseudonym"]) for f in data.glob("staging/*/*")]
    pseudonyms = {p for table in staged for p in table.column(0).to_pylist()}
    key = (data / "pseudonym.key").read_bytes()
    assert pseudonyms and not [p for p in pseudonyms if p in text]
    assert key.hex() not in text and key.hex()[:16] not in text


def test_values_that_are_not_plain_tokens_are_redacted() -> None:
    assert safe({"org": "test-org", "n": 3, "ok": True, "share": float("nan")}) == {
        "org": "test-org", "n": 3, "ok": True, "share": None}  # fmt: skip
    for value in ("Ana Pérez", "exports/x/export.csv", "a\x1b[31m", "f" * 64, "x;y", ""):
        assert safe(value) == REDACTED, value
    assert safe(["20250101T020000Z-1a2b3c4d-2", object()]) == [
        "20250101T020000Z-1a2b3c4d-2", REDACTED]  # fmt: skip
    assert safe({"Ana Pérez": 1}) == {REDACTED: 1}


def test_the_log_rotates_and_stays_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "ledger").mkdir(parents=True)
    for i in range(30):
        with open_run("ingest", data_dir=data, max_bytes=1_000, backups=2) as run:
            run.facts["rows_read"] = i
    logs = data / "logs"
    assert sorted(p.name for p in logs.iterdir() if p.is_file()) == [
        "ctdc.log", "ctdc.log.1", "ctdc.log.2"]  # fmt: skip
    lines = [d for name in ("ctdc.log.2", "ctdc.log.1", "ctdc.log")
             for d in log_lines(logs / name)]  # fmt: skip
    assert all(p.stat().st_size <= 1_000 for p in logs.glob("ctdc.log*"))
    ends = [d["rows_read"] for d in lines if d["event"] == "end"]
    assert ends == sorted(ends) and ends[-1] == 29  # the newest in ctdc.log, older ones rotated
    assert stat.S_IMODE(logs.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in logs.glob("ctdc.log*")} == {0o600}


def test_an_exception_is_logged_with_its_type_never_its_text(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "ledger").mkdir(parents=True)
    with pytest.raises(ValueError), open_run("harmonize", data_dir=data):
        raise ValueError("Ana NOMBREMARK")
    end = log_lines(data / "logs" / "ctdc.log")[-1]
    assert (end["outcome"], end["exit_code"], end["error"]) == ("failed", 1, "ValueError")
    assert "NOMBREMARK" not in (data / "logs" / "ctdc.log").read_text()


def test_log_file_option_and_no_log_without_a_workspace(tmp_path: Path) -> None:
    """--log-file takes the lines (the last-run record stays in the workspace); a refused run
    on a folder that is no workspace creates nothing there."""
    root = project(tmp_path)
    result = run_ctdc(root, "--data-dir", "data", "--log-file", "ops.log", "withdraw", "--org",
                      "test-org", "NOPE")  # fmt: skip
    assert result.exit_code == 1
    assert [d["event"] for d in log_lines(root / "ops.log")] == ["start", "end"]
    assert [d["command"] for d in log_lines(root / "data" / "logs" / "ctdc.log")] == ["init"] * 2
    assert (root / "data" / "logs" / "last" / "withdraw.json").is_file()
    (root / "empty").mkdir()
    result = run_ctdc(root, "--data-dir", "empty", "harmonize")
    assert result.exit_code == 3 and list((root / "empty").iterdir()) == []
    bad = run_ctdc(root, "--data-dir", "data", "--log-file", "no/such/dir.log", "withdraw",
                   "--org", "test-org", "NOPE")  # fmt: skip
    assert bad.exit_code == 1 and "cannot be written" in bad.stderr
