"""``ctdc stats`` over a release that ``ctdc harmonize`` published: the real public folder, its
manifest's k, the CTDC columns (a boolean flag as the share), all through the CLI in-process."""

from __future__ import annotations

import json
import random
from pathlib import Path

import duckdb
import pytest

from conftest import TEST_MAPPING, TEST_ROWS, run_ctdc

RECORDS = 80


def _export(path: Path) -> None:
    """RECORDS good rows of the conftest ``test-org`` export."""
    rng = random.Random(12)
    rows = [TEST_ROWS[0]]
    for i in range(RECORDS):
        age, year = rng.choice([19, 25, 33, 41]), rng.choice([2019, 2020])
        sex, nat = rng.choice(["Mujer", "Hombre"]), rng.choice(["Perú", "Namibia"])
        flag = rng.choice(["Sí", "No"])
        rows.append(f"C{i:05d};N{i};x;{age};0{rng.randint(1, 9)}/02/{year};{sex};{nat};{flag};")
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stats-release")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    _export(root / "export.csv")
    for args in (["init"], ["ingest", "--org", "test-org", "export.csv", "--quiet"],
                 ["harmonize", "--quiet"]):  # fmt: skip
        result = run_ctdc(root, "--data-dir", "data", *args)
        assert result.exit_code == 0, result.output
    return root


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
