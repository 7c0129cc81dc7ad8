"""One organization released alone: a quasi-identifier that is the same on every row is
never suppressed (issue 13, point 8).

The reported fault: the sample's hotline alone at k=10 (196 records) had ``data_source``
-- ``Hotline`` on every row -- suppressed in 40 of them, for nothing, since a column with
one value splits no class. The test ingests the committed sample export through the real
ingest, harmonizes in-process and reads the published Parquet with its own DuckDB query.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from conftest import ROOT
from ctdc.harmonize import harmonize
from ctdc.ingest import ingest_file
from ctdc.mapping import load_mapping
from ctdc.schema import Schema
from ctdc.store.workspace import init_workspace

ROWS = 40  # the first rows of the committed export: 15 of 39 had data_source suppressed


@pytest.mark.slow
def test_one_org_keeps_its_constant_data_source(tmp_path: Path, schema: Schema) -> None:
    lines = (ROOT / "sample_data" / "hotline-es.csv").read_bytes().splitlines(keepends=True)
    export = tmp_path / "hotline-es.csv"
    export.write_bytes(b"".join(lines[: ROWS + 1]))
    ws, _ = init_workspace(tmp_path / "data")
    mapping = load_mapping(ROOT / "pipelines" / "hotline-es.yaml", schema)
    ingest_file(ws, schema, mapping, export, key=ws.load_key())

    result = harmonize(ws, schema, k=10)

    cases = str(result.public_path / "cases.parquet")
    rows = duckdb.sql(
        f"SELECT data_source, data_source_status, count(*) FROM '{cases}' GROUP BY ALL"
    ).fetchall()
    released = sum(n for *_, n in rows)
    assert released >= ROWS - 5  # a few planted bad rows are quarantined
    assert rows == [("Hotline", "as_recorded", released)]
    assert result.manifest.anonymization.cells_suppressed["data_source"] == 0
    smallest = duckdb.sql(
        f"SELECT min(n) FROM (SELECT count(*) AS n FROM '{cases}' "
        f"GROUP BY {', '.join(schema.release_keys)})"
    ).fetchall()
    assert smallest[0][0] >= 10
