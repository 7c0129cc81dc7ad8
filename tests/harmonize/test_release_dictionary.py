"""The public cases file against its dictionary: every value, type and level it can hold.

The dictionary is generated from the schema and the hierarchies, never written by
hand; these tests read a real release (the four sample organizations, ingested and
harmonized) with DuckDB and pandas and check that the data says nothing the
dictionary does not list, and that an analyst's ``GROUP BY`` on any one column
gets categories that do not overlap. ``CTDC_LARGE_TESTS=1`` also runs them on a
100,000-row release (``ctdc sample --rows 25000``: four organizations of 25,000).
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import SHARED_ROWS, sample_release
from ctdc.harmonize.settings import field_hierarchy
from ctdc.schema import STATUS_VALUES, load_schema, status_column
from ctdc.store.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
SIZES = [SHARED_ROWS] + ([25_000] if os.environ.get("CTDC_LARGE_TESTS") == "1" else [])


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}-per-org")
def release(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if request.param == SHARED_ROWS:
        root = request.getfixturevalue("shared_sample")
        ws, schema = Workspace(root / "data"), load_schema(ROOT / "schemas" / "ctdc.yaml")
    else:
        ws, schema = sample_release(tmp_path_factory.mktemp("dictionary"), request.param, 5, k=5)
    return (ws.root / "public" / "current").resolve(), schema


def _dictionary(folder: Path) -> dict[str, dict]:
    rows = pq.read_table(folder / "dictionary.parquet").to_pylist()
    return {r["column"]: r for r in rows}


@pytest.mark.slow
def test_every_value_type_and_column_is_in_the_dictionary(release) -> None:
    folder, _ = release
    entries = _dictionary(folder)
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW cases AS FROM read_parquet('{folder / 'cases.parquet'}')")
        described = con.execute("DESCRIBE cases").fetchall()
        assert [c for c, *_ in described] == list(entries), "columns and their order"
        for column, sql_type, *_ in described:
            entry = entries[column]
            assert sql_type == entry["type"], column
            allowed = {v["value"] for v in entry["values"]}
            found = {r[0] for r in con.execute(
                f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM cases').fetchall()}  # fmt: skip
            if entry["role"] == "status":
                assert None not in found, f"{column} is never NULL"
            found.discard(None)
            if entry["group"] and sql_type == "VARCHAR" and column.endswith("_concatenated"):
                found = {part for v in found for part in v.split(";")}
            if sql_type == "BOOLEAN":
                found = {v.lower() for v in found}
            assert found <= allowed, f"{column}: {sorted(found - allowed)[:5]} not in dictionary"


def test_each_level_column_holds_one_level_and_groups_without_overlap(release) -> None:
    folder, schema = release
    cases = pq.read_table(folder / "cases.parquet").to_pandas()
    for f in schema.fields:
        if not f.level_columns:
            continue
        hierarchy = field_hierarchy(f)
        names = [f.name, *(c for c, _ in f.level_columns)]
        for level, name in enumerate(names):
            labels = {row[level] for row in hierarchy.rows}
            values = set(cases[name].dropna().astype(str))
            assert values <= labels, f"{name}: {sorted(values - labels)[:5]} are not level {level}"
            # no two values of one column cover a common leaf: the categories do not overlap
            leaves = [{row[0] for row in hierarchy.rows if row[level] == v} for v in values]
            assert sum(map(len, leaves)) == len(set().union(*leaves)), name
        # a coarser column is filled wherever a finer one is
        for finer, coarser in itertools.pairwise(names):
            assert not (cases[finer].notna() & cases[coarser].isna()).any(), (finer, coarser)
        status = cases[status_column(f.name)]
        recorded = cases[f.name].notna()
        assert (status[recorded] == "as_recorded").all(), f.name
        coarse = cases[names[-1]].notna() & ~recorded
        assert (status[coarse] == "generalized").all(), f.name
        blank = cases[names[-1]].isna()
        assert status[blank].isin(["suppressed", "not_recorded"]).all(), f.name


def test_year_ranges_stop_at_the_current_year(release) -> None:
    folder, _ = release
    this_year = pd.Timestamp.now(tz="UTC").year
    cases = pq.read_table(folder / "cases.parquet").to_pandas()
    for col in ("registration_period", "registration_period_wide"):
        ends = [int(v.split("-")[-1]) for v in cases[col].dropna().unique()]
        assert ends and max(ends) <= this_year, col
    years = cases["year_of_registration"].dropna()
    assert years.empty or years.max() <= this_year


def test_statuses_and_their_meanings_are_the_documented_ones(release) -> None:
    folder, schema = release
    entries = _dictionary(folder)
    for q in schema.quasi_identifiers:
        values = {v["value"]: v["meaning"] for v in entries[status_column(q)]["values"]}
        assert values == STATUS_VALUES


def test_pandas_reads_flags_as_booleans_and_the_file_describes_itself(release) -> None:
    folder, schema = release
    frame = pd.read_parquet(folder / "cases.parquet")
    flags = [f.name for f in schema.fields if f.type == "boolean" and f.name in frame]
    assert flags and all(str(frame[f].dtype) == "boolean" for f in flags)
    assert str(frame["year_of_registration"].dtype) == "Int16"
    meta = pq.read_schema(folder / "cases.parquet")
    entries = _dictionary(folder)
    for field in meta:
        assert field.metadata[b"description"].decode() == entries[field.name]["description"]
    about = json.loads(meta.metadata[b"ctdc"])
    public = json.loads((folder / "manifest.json").read_text())
    assert about["release_id"] == public["release_id"] == folder.name
    assert about["k"] == 5
    assert about["schema_sha256"] == public["policy"]["schema_sha256"]


def test_polars_reads_flags_as_booleans_and_the_year_as_an_integer(release) -> None:
    import polars as pl

    folder, schema = release
    frame = pl.read_parquet(folder / "cases.parquet")
    flags = [f.name for f in schema.fields if f.type == "boolean" and f.name in frame.columns]
    assert flags and all(frame.schema[f] == pl.Boolean for f in flags)
    assert frame.schema["year_of_registration"] == pl.Int16
    assert frame.schema["citizenship_region"] == pl.String
