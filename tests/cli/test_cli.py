"""The CLI as a user runs it, in-process: real files, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import run_ctdc


@pytest.fixture
def project(tmp_path: Path, test_org: tuple[Path, Path]) -> Path:
    """A working directory with pipelines/test-org.yaml and an initialized workspace."""
    assert run_ctdc(tmp_path, "init", "--k-floor", "2").exit_code == 0
    return tmp_path


def test_init_then_ingest_json_summary(project: Path) -> None:
    proc = run_ctdc(project, "ingest", "--org", "test-org", "export.csv", "--json",
                "--max-reject-rate", "0.9")  # fmt: skip
    assert proc.exit_code == 0, proc.stderr
    [summary] = json.loads(proc.stdout)
    assert summary["rows_read"] == 10 and summary["staged"] == 2 and summary["quarantined"] == 8
    assert summary["quarantined_by_reason"]["duplicate-case-id"] == 1
    again = run_ctdc(project, "ingest", "--org", "test-org", "export.csv", "--json")
    assert json.loads(again.stdout)[0]["status"] == "unchanged"


def test_reject_rate_exits_1_and_says_nothing_staged(project: Path) -> None:
    proc = run_ctdc(project, "ingest", "--org", "test-org", "export.csv", "--quiet")
    assert proc.exit_code == 1
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
    proc = run_ctdc(project, *args)
    assert proc.exit_code == code, proc.stderr
    assert needle in proc.stderr


def test_without_init_commands_refuse(tmp_path: Path, test_org) -> None:
    proc = run_ctdc(tmp_path, "ingest", "--org", "test-org", "export.csv")
    assert proc.exit_code == 3 and "error[no-workspace]" in proc.stderr


def test_exposed_key_stops_every_command(project: Path) -> None:
    os.chmod(project / "ctdc-data" / "pseudonym.key", 0o640)
    proc = run_ctdc(project, "ingest", "--org", "test-org", "export.csv")
    assert proc.exit_code == 3 and "error[unsafe-key]" in proc.stderr


def test_data_dir_from_ctdc_home(tmp_path: Path, test_org) -> None:
    proc = run_ctdc(tmp_path, "init", env={"CTDC_HOME": str(tmp_path / "elsewhere")})
    assert proc.exit_code == 0
    assert (tmp_path / "elsewhere" / "pseudonym.key").exists()


def test_debug_lets_the_exception_out(tmp_path: Path, test_org) -> None:
    """``--debug`` re-raises instead of printing one line (the process shows the traceback)."""
    with pytest.raises(AssertionError, match=r"no-staged-data|no-workspace"):
        run_ctdc(tmp_path, "--debug", "harmonize")
