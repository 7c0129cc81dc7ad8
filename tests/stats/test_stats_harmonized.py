"""``ctdc stats`` over a release that ``ctdc harmonize`` published: the real public folder, its
manifest's k, the CTDC columns (a boolean flag as the share), all through the CLI in-process."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from conftest import harmonized_project, run_ctdc

RECORDS = 80


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harmonized_project(tmp_path_factory.mktemp("stats-release"), RECORDS, seed=12)


@pytest.mark.slow
def test_stats_over_a_harmonized_release(project: Path) -> None:
    public = project / "data" / "public"
    release = (public / "current").resolve()
    k = json.loads((release / "manifest.json").read_text(encoding="utf-8"))["k"]
    result = run_ctdc(project, "--data-dir", "data", "stats", "--by", "gender,citizenship",
                      "--share", "is_abduction", "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["k"] == k and doc["release_id"] == release.name
    cases = str(release / "cases.parquet")
    expected = {
        (str(g) if g is not None else "(null)", str(c) if c is not None else "(null)"): n
        for g, c, n in duckdb.sql("SELECT gender, citizenship, count(*) FROM "
                                  f"read_parquet('{cases}') GROUP BY ALL").fetchall()
    }  # fmt: skip
    cells = [r for r in doc["records"] if r["level"] == "cell"]
    assert {(r["gender"], r["citizenship"]) for r in cells} == set(expected)
    for record in cells:
        key = (record["gender"], record["citizenship"])
        if record["count"] is None:
            assert record["suppressed"] in ("primary", "complementary")
        else:
            assert record["count"] == expected[key] and expected[key] >= k
        if expected[key] < k:
            assert record["suppressed"] == "primary"
    total = doc["records"][-1]
    assert total["level"] == "total" and total["count"] == sum(expected.values())

    table = run_ctdc(project, "--data-dir", "data", "stats", "--by", "year_of_registration")
    assert table.exit_code == 0, table.stderr
    assert "year_of_registration" in table.stdout and f"k={k}" in table.stdout
