"""``ctdc validate``: the ingest's checks and summary as a dry run that writes nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import EXPECTED_BAD, run_ctdc

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


def snapshot(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path under ``root`` with its mode and, for files, its bytes."""
    out: dict[str, tuple[int, bytes | None]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            data = path.read_bytes() if path.is_file() else None
            out[str(path.relative_to(root))] = (path.stat().st_mode, data)
    return out


@pytest.fixture
def project(tmp_path: Path, test_org) -> Path:
    assert run_ctdc(tmp_path, "init", "--k-floor", "2").exit_code == 0
    return tmp_path


def test_validate_prints_the_ingest_summary_and_writes_nothing(project: Path) -> None:
    before = snapshot(project / "ctdc-data")
    args = ("--org", "test-org", "export.csv", "--json", "--max-reject-rate", "0.9")
    result = run_ctdc(project, "validate", *args)
    assert result.exit_code == 0, result.stderr
    assert snapshot(project / "ctdc-data") == before
    [dry] = json.loads(result.stdout)
    assert dry["status"] == "valid" and dry["dry_run"] is True and dry["balanced"] is True
    assert (dry["rows_read"], dry["staged"], dry["quarantined"]) == (10, 2, len(EXPECTED_BAD))
    # the real ingest of the same file says the same
    [real] = json.loads(run_ctdc(project, "ingest", *args).stdout)
    for key in (
        "batch_id",
        "rows_read",
        "staged",
        "quarantined",
        "quarantined_by_reason",
        "invalid",
    ):
        assert dry[key] == real[key], key
    # validate prints every bad row (it writes no quarantine to look them up in); ingest a few
    assert len(dry["examples"]) == len(EXPECTED_BAD) and real["examples"] == dry["examples"][:5]


def test_validate_table_names_rows_columns_and_fixes(project: Path) -> None:
    before = snapshot(project / "ctdc-data")
    result = run_ctdc(project, "validate", "--org", "test-org", "export.csv")
    assert result.exit_code == 1  # 80% bad rows: the ingest would reject the file
    assert snapshot(project / "ctdc-data") == before
    assert "ctdc validate (dry run: nothing written)" in result.stdout
    assert "read = staged + quarantined" in result.stdout
    assert "export.csv, row 4, column 'Edad': bad-number 'veinte'" in result.stdout
    assert "fix: write the number in digits" in result.stdout
    # every rejected row is printed: a dry run writes no quarantine to point to (issue 13)
    for row, (slug, column) in EXPECTED_BAD.items():
        assert f"export.csv, row {row}, column {column!r}: {slug}" in result.stdout
    assert "quarantine list" not in result.output and "more rows" not in result.output
    assert "error[reject-rate-exceeded]: export.csv: 8 of 10 rows (80.0%) failed" in result.stderr
    assert "nothing would be staged" in result.stderr


def test_validate_needs_no_workspace_and_creates_none(tmp_path: Path, test_org) -> None:
    result = run_ctdc(
        tmp_path, "validate", "--org", "test-org", "export.csv", "--max-reject-rate", "1"
    )
    assert result.exit_code == 0, result.stderr
    assert not (tmp_path / "ctdc-data").exists()


def test_validate_refuses_hostile_files_like_ingest(project: Path) -> None:
    (project / "pipelines" / "bad-csv.yaml").write_bytes(
        (BAD / "pipelines" / "bad-csv.yaml").read_bytes()
    )
    before = snapshot(project / "ctdc-data")
    result = run_ctdc(project, "validate", "--org", "bad-csv", str(BAD / "unterminated-quote.csv"))
    assert result.exit_code == 1
    assert "error[unterminated-quote]" in result.stderr and "row 3, column 'notes'" in result.stderr
    assert snapshot(project / "ctdc-data") == before


def test_validate_of_an_already_ingested_file_still_validates(project: Path) -> None:
    args = ("--org", "test-org", "export.csv", "--json", "--max-reject-rate", "0.9")
    assert run_ctdc(project, "ingest", *args).exit_code == 0
    before = snapshot(project / "ctdc-data")
    [dry] = json.loads(run_ctdc(project, "validate", *args).stdout)
    assert dry["status"] == "valid" and dry["quarantined"] == len(EXPECTED_BAD)
    assert snapshot(project / "ctdc-data") == before
