"""A night with nothing new ends on the last harmonize's stamp, before the data stack loads;
any change to what a harmonize reads runs the full check instead."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, harmonized_project, run_ctdc, write_test_export
from ctdc.store import night_stamp
from ctdc.store.night_stamp import STAMP_FILE, night_options, unchanged_night

OPTIONS = night_options(None, None, {})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return harmonized_project(tmp_path, 40, seed=3)


@pytest.mark.slow
def test_the_stamp_stands_until_an_input_changes(project: Path) -> None:
    data = project / "data"
    assert unchanged_night(data, OPTIONS) is not None
    assert unchanged_night(data, night_options(12, None, {})) is None  # another k
    assert unchanged_night(data, night_options(None, None, {"age_band": 1})) is None
    key = data / "pseudonym.key"
    key.chmod(0o644)  # an exposed key: the full run refuses it
    assert unchanged_night(data, OPTIONS) is None
    key.chmod(0o600)
    assert unchanged_night(data, OPTIONS) is not None
    # what harmonize neither reads nor writes on such a night leaves the stamp standing
    (data / "public" / "report.html").write_text("<html></html>", encoding="utf-8")
    (data / "public" / "dp").mkdir()
    (data / "public" / "dp" / "20261202T000000Z-counts-gender.json").write_text("{}")
    (data / "privacy-budget.jsonl").write_text("{}\n")
    (data / "privacy-budget.lock").write_text("")  # the ledger's own lock
    (data / "reports").mkdir()
    (data / "reports" / "private.html").write_text("<html></html>")
    assert unchanged_night(data, OPTIONS) is not None
    write_test_export(project / "more.csv", 10, seed=9)
    assert run_ctdc(project, "--data-dir", "data", "ingest", "--org", "test-org",
                    "more.csv").exit_code == 0  # fmt: skip
    assert unchanged_night(data, OPTIONS) is None


@pytest.mark.slow
@pytest.mark.parametrize("change", ["public copy removed", "policy", "withdrawal"])
def test_a_changed_workspace_or_public_folder_runs_the_full_check(project: Path,
                                                                  change: str) -> None:  # fmt: skip
    data = project / "data"
    if change == "public copy removed":
        (data / "public" / "current").unlink()
    elif change == "policy":
        assert run_ctdc(project, "--data-dir", "data", "policy", "set", "keep_public=2",
                        "--reason", "test").exit_code == 0  # fmt: skip
    else:
        assert run_ctdc(project, "--data-dir", "data", "withdraw", "--org", "test-org",
                        "C00001", "--reason", "consent").exit_code == 0  # fmt: skip
    assert unchanged_night(data, OPTIONS) is None
    # the full run puts things right and stamps again: the next night is quick
    assert run_ctdc(project, "--data-dir", "data", "harmonize", "--quiet").exit_code == 0
    assert unchanged_night(data, OPTIONS) is not None


@pytest.mark.slow
def test_held_records_and_the_retention_purge_make_the_day_an_input(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = project / "data"
    stamp = json.loads((data / STAMP_FILE).read_text(encoding="utf-8"))
    (data / STAMP_FILE).write_text(json.dumps({**stamp, "held": True}), encoding="utf-8")
    assert unchanged_night(data, OPTIONS) is None  # held: today's date is in the digest
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    (data / STAMP_FILE).write_text(json.dumps(stamp), encoding="utf-8")
    monkeypatch.setattr(night_stamp, "today", lambda: tomorrow)
    assert unchanged_night(data, OPTIONS) is not None  # nothing held: the day is no input
    archived = data / "archive" / "test-org" / "b1" / "export.csv"  # raw rows kept for reprocess
    archived.parent.mkdir(parents=True)
    archived.write_text("ID;Edad\n1;30\n", encoding="utf-8")
    done = run_ctdc(project, "--data-dir", "data", "harmonize", "--quiet")
    assert done.exit_code == 0, done.stderr
    assert unchanged_night(data, OPTIONS) is not None
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=91)).timestamp()
    os.utime(archived, (old, old))  # past the default 90 days: the purge must run
    assert unchanged_night(data, OPTIONS) is None


@pytest.mark.slow
def test_the_quick_answer_is_the_full_runs(project: Path) -> None:
    """The JSON a quick night prints is the one the full check prints for the same night."""
    full = run_ctdc(project, "--data-dir", "data", "harmonize", "--json", "--new-epoch")
    assert full.exit_code == 0, full.stderr
    quick = run_ctdc(project, "--data-dir", "data", "harmonize", "--json")
    assert quick.exit_code == 0, quick.stderr
    (project / "data" / STAMP_FILE).unlink()
    checked = run_ctdc(project, "--data-dir", "data", "harmonize", "--json")
    assert json.loads(quick.stdout) == json.loads(checked.stdout)
    assert json.loads(quick.stdout)["status"] == "unchanged"


@pytest.mark.slow
def test_a_quick_night_imports_no_data_stack(project: Path) -> None:
    """The whole process, as cron runs it: pandas, pyarrow and DuckDB are never imported."""
    code = ("import sys; from ctdc.cli import app\n"
            "try: app(['--data-dir', 'data', 'harmonize', '--quiet'])\n"
            "except SystemExit as e: assert e.code in (0, None), e.code\n"
            "print(sorted(m for m in ('pandas', 'pyarrow', 'duckdb', 'numpy') "
            "if m in sys.modules))")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.slow
def test_a_file_gone_mid_walk_leaves_no_stamp_and_the_run_stands(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ingest's temp file removed while the stamp is taken: the harmonize still succeeds,
    and with no stamp the next night runs the full check."""
    data = project / "data"

    def gone(*args: object) -> str:
        raise FileNotFoundError("staging/.x.tmp")

    monkeypatch.setattr(night_stamp, "night_digest", gone)
    result = run_ctdc(project, "--data-dir", "data", "harmonize", "--new-epoch", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert not (data / STAMP_FILE).exists()
    monkeypatch.undo()
    assert unchanged_night(data, OPTIONS) is None
