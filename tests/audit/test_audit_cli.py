"""``ctdc audit`` in-process: a table or JSON, exit 0 on a sound release, 1 (audit-failed) on a
broken one, and no private string (pseudonym, organization id, case id) in anything it prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import audit_fixtures
import duckdb
import pandas as pd
import pytest
from audit_fixtures import (
    MARKER,
    ORGS,
    K,
    Published,
    copy_public,
    qi_key,
    rewrite_cases,
)

from conftest import run_ctdc
from ctdc.audit import previous_public_release
from ctdc.store.public import PublicArea

pub = audit_fixtures.pub  # the shared published workspace (a fixture)


def _leaked(pub: Published, text: str) -> list[str]:
    """Pseudonyms, batch ids, organizations and case ids found in ``text``. A case id
    counts as a number of its own: the five digits of one also occur inside a release
    id's timestamp (``...T200205Z`` holds ``20020``), which names no case."""
    staged = duckdb.sql(
        f"SELECT case_pseudonym, batch_id FROM read_parquet('{pub.ws.root}/staging/*/*.parquet')"
    ).df()
    case_ids = [f"{n}{i:04d}" for n in (1, 2) for i in range(1, 33)]
    words = [*staged["case_pseudonym"], *staged["batch_id"].unique(), *ORGS]
    return [w for w in words if w in text] + [
        c for c in case_ids if re.search(rf"(?<![0-9]){c}(?![0-9])", text)
    ]


@pytest.mark.slow
def test_the_current_public_release_passes_and_prints_one_line_per_check(
    pub: Published, tmp_path: Path
) -> None:
    """A normal harmonize output passes every check; the table and JSON say so."""
    res = run_ctdc(tmp_path, "--data-dir", str(pub.ws.root), "audit", "--marker", MARKER, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["passed"] and doc["release"] == pub.release.name and doc["previous"] is None
    checks = {c["name"]: c for c in doc["checks"]}
    assert list(checks) == [
        "prosecutor",
        "linkage",
        "differencing",
        "attribute disclosure",
        "derived fields",
        "markers and bytes",
        "row order",
        "files",
        "frozen rows",
    ]
    assert checks["differencing"]["skipped"]
    assert "64 pseudonyms, 2 organization ids" in checks["markers and bytes"]["detail"]
    assert not _leaked(pub, res.output)
    table = run_ctdc(tmp_path, "--data-dir", str(pub.ws.root), "audit", env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert f"audit of release {pub.release.name}" in table.stdout
    rows = [line for line in table.stdout.splitlines() if line.startswith("│ ")]
    assert [r.split("│")[1].strip() for r in rows] == list(checks)
    assert [r.split("│")[2].strip() for r in rows] == ["pass"] * 2 + ["skipped"] + ["pass"] * 6
    assert "k=3: every check passed" in table.stdout
    assert not _leaked(pub, table.output)


def test_a_broken_release_exits_1_with_audit_failed_naming_each_problem(
    pub: Published, tmp_path: Path
) -> None:
    _, release = copy_public(pub, tmp_path / "public")
    qis = pub.schema.quasi_identifiers

    def shrink(frame: pd.DataFrame) -> pd.DataFrame:  # a class of k-1
        key = qi_key(frame, qis)
        return frame.drop(index=key[key == key.iloc[0]].index[K - 1 :])

    rewrite_cases(release, shrink, metadata={"origin": MARKER})
    (release / "notes.log").write_text("harmonize ran\n")
    res = run_ctdc(tmp_path, "--data-dir", str(pub.ws.root), "audit", str(release),
                   "--marker", MARKER, "--json")  # fmt: skip
    assert res.exit_code == 1, res.output
    assert "error[audit-failed]" in res.stderr
    doc = json.loads(res.stdout)  # one object: the report and its error
    assert doc["error"]["slug"] == "audit-failed" and doc["error"]["exit_code"] == 1
    failed = {c["name"]: c["detail"] for c in doc["checks"] if not c["passed"]}
    # the copy keeps the release's id, so its ledger shows the rows removed behind its back
    assert set(failed) == {"prosecutor", "linkage", "markers and bytes", "files", "frozen rows"}
    assert "match 1..2 released rows" in failed["prosecutor"]
    assert failed["markers and bytes"] == "a marker in cases.parquet"
    assert failed["files"] == f"stray {release.name}/notes.log"
    failed_line = "5 of 9 checks failed: prosecutor, linkage, markers and bytes, files, frozen rows"
    assert failed_line in res.stderr
    assert not _leaked(pub, res.output)


def test_against_defaults_to_the_public_release_before(tmp_path: Path) -> None:
    area = PublicArea(tmp_path)
    for name in (
        "20250101T000000Z-aaaaaaaa",
        "20250102T000000Z-bbbbbbbb",
        "20250103T000000Z-cccccccc",
        ".tmp-x",
    ):
        (area.releases_dir / name).mkdir(parents=True)
    newest = area.releases_dir / "20250103T000000Z-cccccccc"
    assert previous_public_release(area, newest) == area.releases_dir / "20250102T000000Z-bbbbbbbb"
    assert previous_public_release(area, area.releases_dir / "20250101T000000Z-aaaaaaaa") is None


def test_json_errors_before_the_audit_are_one_object_too(tmp_path: Path) -> None:
    """No workspace, or no release yet: ``--json`` still writes a JSON object on stdout."""
    res = run_ctdc(tmp_path, "--data-dir", "nowhere", "audit", "--json")
    assert res.exit_code == 3 and json.loads(res.stdout)["error"]["slug"] == "no-workspace"
    assert run_ctdc(tmp_path, "--data-dir", "data", "init").exit_code == 0
    res = run_ctdc(tmp_path, "--data-dir", "data", "audit", "--json")
    assert json.loads(res.stdout)["error"]["slug"] == "file-not-found"
