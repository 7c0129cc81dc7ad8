"""--quiet prints nothing on success, --json included; a failure still prints (and its JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ops_fixtures import log_lines, marked_export, project
from typer.testing import Result

from conftest import run_ctdc, write_test_export


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """A project whose two ingests ``harmonize --quiet --json`` published (the one publish of
    these tests: a harmonize takes seconds on a loaded machine)."""
    root = project(tmp_path_factory.mktemp("published"))
    write_test_export(root / "export.csv", 20, seed=3)
    marked_export(root / "more.csv")
    for args in (["ingest", "--org", "test-org", "export.csv", "--quiet", "--json"],
                 ["--quiet", "ingest", "--org", "test-org", "more.csv"]):  # fmt: skip
        result = run_ctdc(root, "--data-dir", "data", *args)
        assert result.exit_code == 0 and (result.stdout, result.stderr) == ("", ""), args
    return root, run_ctdc(root, "--data-dir", "data", "harmonize", "--quiet", "--json")


def test_a_quiet_harmonize_prints_nothing_and_logs_its_release(
    published: tuple[Path, Result],
) -> None:
    root, result = published
    assert result.exit_code == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")
    end = log_lines(root / "data" / "logs" / "ctdc.log")[-1]
    assert (end["command"], end["status"], end["exit_code"]) == ("harmonize", "published", 0)
    assert end["released"] + end["records_suppressed"] + end["held"] == end["staged"] == 32
    status = json.loads(run_ctdc(root, "--data-dir", "data", "status", "--json").stdout)
    assert status["release"]["release_id"] == end["release_id"]
    assert status["release"]["released"] == end["released"]
    assert status["organizations"][0]["unreleased_batches"] == 0


def test_quiet_is_silent_on_success_for_text_and_json(published: tuple[Path, Result]) -> None:
    root, _ = published
    tmp_path = root
    for args in (
        ["--quiet", "harmonize", "--json"],  # unchanged input: still nothing
        ["--quiet", "withdraw", "--org", "test-org", "C00001"],
        ["--quiet", "key", "backup", "--out", str(tmp_path / "key.bak")],
        ["--quiet", "policy", "set", "k=3", "--reason", "test"],
        ["--quiet", "init"],
        ["validate", "--org", "test-org", "export.csv", "--quiet", "--json"],
    ):
        result = run_ctdc(root, "--data-dir", "data", *args)
        assert result.exit_code == 0, (args, result.stderr)
        assert (result.stdout, result.stderr) == ("", ""), args


def test_quiet_is_loud_on_failure(tmp_path: Path) -> None:
    root = project(tmp_path)
    marked_export(root / "export.csv", rows=2)
    rejected = run_ctdc(root, "--data-dir", "data", "ingest", "--org", "test-org", "export.csv",
                        "--max-reject-rate", "0", "--quiet", "--json")  # fmt: skip
    assert rejected.exit_code == 1
    assert json.loads(rejected.stdout)[0]["status"] == "rejected"
    assert "reject-rate-exceeded" in rejected.stderr
    failed = run_ctdc(root, "--data-dir", "data", "--quiet", "harmonize", "--json")
    assert failed.exit_code != 0
    assert json.loads(failed.stdout)["error"]["slug"] == "no-staged-data"
    assert "error[no-staged-data]" in failed.stderr
    text = run_ctdc(root, "--data-dir", "data", "--quiet", "withdraw", "--org", "test-org", "X")
    assert text.exit_code == 1 and "error[case-not-found]" in text.stderr
