"""The CLI as a user runs it: a real process, real files, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def ctdc(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "CTDC_HOME"} | (env or {})
    proc = subprocess.run([sys.executable, "-m", "ctdc", *args], cwd=cwd, env=full_env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def query_json(root: Path, sql: str) -> list[dict]:
    """An analyst's ``ctdc query`` on the release under ``root/data``, as JSON rows."""
    proc = ctdc(root, "--data-dir", "data", "query", sql, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def project(tmp_path: Path, test_org: tuple[Path, Path]) -> Path:
    """A working directory with pipelines/test-org.yaml and an initialized workspace."""
    assert ctdc(tmp_path, "init", "--k-floor", "2").returncode == 0
    return tmp_path


def test_init_then_ingest_json_summary(project: Path) -> None:
    proc = ctdc(project, "ingest", "--org", "test-org", "export.csv", "--json",
                "--max-reject-rate", "0.9")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [summary] = json.loads(proc.stdout)
    assert summary["rows_read"] == 10 and summary["staged"] == 2 and summary["quarantined"] == 8
    assert summary["quarantined_by_reason"]["duplicate-case-id"] == 1
    again = ctdc(project, "ingest", "--org", "test-org", "export.csv", "--json")
    assert json.loads(again.stdout)[0]["status"] == "unchanged"


def test_reject_rate_exits_1_and_says_nothing_staged(project: Path) -> None:
    proc = ctdc(project, "ingest", "--org", "test-org", "export.csv", "--quiet")
    assert proc.returncode == 1
    assert "error[reject-rate-exceeded]: export.csv" in proc.stderr
    assert "nothing staged" in proc.stderr


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["ingest", "--org", "../etc", "export.csv"], 2, "error[bad-org-name]"),
        (["ingest", "--org", "nobody", "export.csv"], 2, "error[unknown-org]"),
        (["ingest", "--org", "test-org", "missing.csv"], 3, "error[file-not-found]: missing.csv"),
        (["harmonize"], 1, "error[no-staged-data]"),
        (["harmonize", "--generalize", "age_band=x"], 2, "error[bad-option]"),
        (["query", "SELECT 1"], 3, "error[no-release]"),
        (["ingest", "--org", "test-org"], 2, "Missing argument"),
    ],
)
def test_user_errors_are_one_line_with_exit_code(project, args, code, needle) -> None:
    proc = ctdc(project, *args)
    assert proc.returncode == code, proc.stderr
    assert needle in proc.stderr


def test_without_init_commands_refuse(tmp_path: Path, test_org) -> None:
    proc = ctdc(tmp_path, "ingest", "--org", "test-org", "export.csv")
    assert proc.returncode == 3 and "error[no-workspace]" in proc.stderr


def test_exposed_key_stops_every_command(project: Path) -> None:
    os.chmod(project / "ctdc-data" / "pseudonym.key", 0o640)
    proc = ctdc(project, "ingest", "--org", "test-org", "export.csv")
    assert proc.returncode == 3 and "error[unsafe-key]" in proc.stderr


def test_data_dir_from_ctdc_home(tmp_path: Path, test_org) -> None:
    proc = ctdc(tmp_path, "init", env={"CTDC_HOME": str(tmp_path / "elsewhere")})
    assert proc.returncode == 0
    assert (tmp_path / "elsewhere" / "pseudonym.key").exists()


def test_debug_shows_the_traceback(tmp_path: Path, test_org) -> None:
    proc = subprocess.run([sys.executable, "-m", "ctdc", "--debug", "harmonize"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode != 0 and "Traceback" in proc.stderr
