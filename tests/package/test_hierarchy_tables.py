"""Hierarchy tables: the release's hierarchies as Parquet, read by views in every way in.

One workspace is harmonized for the module (``package_fixtures``). The tables
must be the hierarchies the release used (``field_hierarchy``: years clipped at
the current year), with the release's column names, types and labels, so that
a roll-up joins on the leaf column, through ``ctdc query``, ``views.sql`` and
``catalog.duckdb`` alike; the sandbox allows them and nothing planted beside
them; and a public release published before them gets them on the next run.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import query_json, run_ctdc
from ctdc.harmonize.settings import field_hierarchy
from ctdc.package.hierarchies import hierarchical
from ctdc.query import open_sandbox, resolve_release
from ctdc.query.sandbox import VIEWS, sandbox_views
from ctdc.schema import Schema
from ctdc.store.public import hierarchy_file


@pytest.fixture(scope="module")
def project(package_project: Path) -> Path:
    return package_project


def _release(project: Path) -> Path:
    return (project / "data" / "public" / "current").resolve()


def test_one_table_per_hierarchical_field_as_the_release_used_it(
    project: Path, schema: Schema
) -> None:
    release = _release(project)
    fields = hierarchical(schema)
    assert {f.name for f in fields} == {"year_of_registration", "age_band", "citizenship",
                                        "country_of_exploitation"}  # fmt: skip
    cases = pq.read_schema(release / "cases.parquet")
    for f in fields:
        table = pq.read_table(release / hierarchy_file(f.name))
        names = [f.name, *(c for c, _ in f.level_columns)]
        assert table.column_names == names
        assert [table.schema.field(n).type for n in names] == [cases.field(n).type for n in names]
        rows = [tuple(str(v) for v in row.values()) for row in table.to_pylist()]
        assert rows == [r[:-1] for r in field_hierarchy(f).rows]  # all but the root
        assert (release / hierarchy_file(f.name)).stat().st_mode & 0o777 == 0o644


def test_labels_are_the_dictionary_values_and_years_stop_now(project: Path) -> None:
    release = _release(project)
    dictionary = {r["column"]: [v["value"] for v in r["values"]]
                  for r in pq.read_table(release / "dictionary.parquet").to_pylist()}  # fmt: skip
    for path in sorted(release.glob("hierarchy_*.parquet")):
        table = pq.read_table(path)
        leaf, *levels = table.column_names
        assert [str(v) for v in table[leaf].to_pylist()] == dictionary[leaf]
        for name in levels:
            assert list(dict.fromkeys(table[name].to_pylist())) == dictionary[name], name
    years = pq.read_table(release / "hierarchy_year_of_registration.parquet")
    now = dt.date.today().year
    assert max(years["year_of_registration"].to_pylist()) == now
    for label in [*years["registration_period"].to_pylist(),
                  *years["registration_period_wide"].to_pylist()]:  # fmt: skip
        assert int(label.rpartition("-")[2]) <= now, label


ROLL_UP = """
SELECT h.citizenship_region AS region, count(*) AS n
FROM cases c JOIN hierarchy_citizenship h USING (citizenship)
GROUP BY ALL ORDER BY 1
"""
YEARS = """
SELECT count(*) AS n
FROM cases JOIN hierarchy_year_of_registration h USING (year_of_registration)
WHERE h.registration_period_wide = cases.registration_period_wide
"""


def test_a_roll_up_through_ctdc_query(project: Path) -> None:
    """The brief's query: every row with a country rolled up to its region by the join."""
    rows = query_json(project, ROLL_UP)
    cases = f"read_parquet('{_release(project) / 'cases.parquet'}')"
    expected = duckdb.sql(f"SELECT citizenship_region, count(*) FROM {cases} WHERE "
                          "citizenship IS NOT NULL GROUP BY ALL ORDER BY 1").fetchall()  # fmt: skip
    assert [(r["region"], r["n"]) for r in rows] == expected and expected
    [(with_year,)] = duckdb.sql(f"SELECT count(*) FROM {cases} "
                                "WHERE year_of_registration IS NOT NULL").fetchall()  # fmt: skip
    assert query_json(project, YEARS) == [{"n": with_year}] and with_year


def test_views_sql_and_the_catalog_read_them(project: Path) -> None:
    public = project / "data" / "public"
    tables = sorted(p.name for p in _release(project).glob("hierarchy_*.parquet"))
    expected = [pq.ParquetFile(_release(project) / t).metadata.num_rows for t in tables]
    views = [t.removesuffix(".parquet") for t in tables]
    counts = " UNION ALL ".join(f"SELECT '{v}', count(*) FROM {v}" for v in views)
    with duckdb.connect(str(public / "catalog.duckdb"), read_only=True) as con:
        assert [n for _, n in con.execute(counts).fetchall()] == expected
    before = Path.cwd()
    os.chdir(public)
    try:
        with duckdb.connect() as con:
            con.execute((public / "views.sql").read_text(encoding="utf-8"))
            assert [n for _, n in con.execute(counts).fetchall()] == expected
    finally:
        os.chdir(before)


def test_the_sandbox_allows_the_tables_and_nothing_planted_beside_them(
    project: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "public"
    shutil.copytree(project / "data" / "public", copy, symlinks=True)
    release = (copy / "current").resolve()
    secret = tmp_path / "secret.parquet"
    shutil.copyfile(release / "cases.parquet", secret)
    os.symlink(secret, release / "hierarchy_secret.parquet")
    resolved = resolve_release(copy)
    assert set(resolved.hierarchies) == {"hierarchy_age_band", "hierarchy_citizenship",
                                         "hierarchy_country_of_exploitation",
                                         "hierarchy_year_of_registration"}  # fmt: skip
    with open_sandbox(copy) as con:
        assert sandbox_views(con) == VIEWS | set(resolved.hierarchies)
        assert con.execute("SELECT count(*) FROM hierarchy_age_band").fetchone() == (9,)
        with pytest.raises(duckdb.Error):
            con.execute(f"SELECT * FROM read_parquet('{release / 'hierarchy_secret.parquet'}')")


def test_a_release_published_before_the_tables_gets_them(project: Path, tmp_path: Path) -> None:
    """An unchanged run over a public release without them (an older ctdc) adds them, same bytes."""
    copy = tmp_path / "project"
    shutil.copytree(project, copy, symlinks=True)
    release = (copy / "data" / "public" / "current").resolve()
    tables = {p.name: p.read_bytes() for p in release.glob("hierarchy_*.parquet")}
    for name in tables:
        (release / name).unlink()
    (copy / "data" / "public" / "views.sql").unlink()
    result = run_ctdc(copy, "--data-dir", "data", "harmonize", "--quiet")
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in release.glob("hierarchy_*.parquet")} == tables
    assert "hierarchy_citizenship" in (copy / "data" / "public" / "views.sql").read_text()
    assert not [p for p in release.parent.iterdir() if p.name.startswith(".")]
