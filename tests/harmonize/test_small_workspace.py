"""Small workspaces: harmonize publishes a valid release or says, in one catalogued error, why not.

The reported fault: one organization's 12 records at k=10. Every record's year
was suppressed, the column stayed an all-NULL ``Int16`` where the release schema
says text, and ``pa.Table.from_pandas`` ended harmonize with an
``ArrowTypeError`` traceback; nothing was published. The tests ingest real
``test-org``-style CSV exports through the real ingest, harmonize in-process,
and check the published files with their own DuckDB query.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import TEST_MAPPING
from ctdc.cli import app
from ctdc.errors import CtdcError
from ctdc.harmonize import HarmonizeResult, harmonize
from ctdc.ingest import ingest_file
from ctdc.mapping import Mapping, load_mapping
from ctdc.schema import Schema
from ctdc.store.workspace import Workspace, init_workspace

HEADER = "ID;Nombre;Notas;Edad;Fecha;Sexo;Nac;Secuestro;Control"
ORGS = ("org-a", "org-b", "org-c")
SEXES = ("Mujer", "Hombre", "Desconocido", "Varón")  # Varón: not in the vocabulary, quarantined
COUNTRIES = ("Perú", "Chile", "Namibia", "Francia", "Colombia")
CONTROLS = ("", "Deuda", "Amenazas", "Deuda,Amenazas")


@pytest.fixture(scope="module")
def mappings(schema: Schema, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Mapping]:
    """The conftest ``test-org`` mapping under three organization ids."""
    folder = tmp_path_factory.mktemp("pipelines")
    out = {}
    for org in ORGS:
        path = folder / f"{org}.yaml"
        path.write_text(TEST_MAPPING.replace("org: test-org", f"org: {org}"), encoding="utf-8")
        out[org] = load_mapping(path, schema)
    return out


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A folder per call that hypothesis examples can share (tmp_path is per test)."""
    folder = Path(tempfile.mkdtemp(prefix="ctdc-small-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _line(i: int, age: int | None, year: int, sex: str, country: str, abducted: bool,
          control: str) -> str:  # fmt: skip
    return (f"{i:05d};Nombre {i};nota {i};{'N/D' if age is None else age};"
            f"{1 + i % 28:02d}/{1 + i % 12:02d}/{year};{sex};{country};"
            f"{'Sí' if abducted else 'No'};{control}")  # fmt: skip


def _stage(root: Path, mappings: dict[str, Mapping], schema: Schema,
           rows: dict[str, list[str]]) -> tuple[Workspace, int]:  # fmt: skip
    """A fresh workspace (k floor 2) with each organization's rows ingested; rows read."""
    ws, _ = init_workspace(root / "data", k_floor=2)
    read = 0
    for org, lines in rows.items():
        export = root / f"{org}.csv"
        export.write_bytes(("\n".join([HEADER, *lines]) + "\n").encode("latin-1"))
        read += ingest_file(ws, schema, mappings[org], export, key=ws.load_key()).rows_read
    return ws, read


def _check_release(ws: Workspace, result: HarmonizeResult, schema: Schema, k: int,
                   rows_read: int) -> None:  # fmt: skip
    """Strictly k-anonymous by an independent GROUP BY (NULL a value of its own); accounting
    balances; the public copy has the private copy's bytes and no organization id."""
    assert result.status == "published"
    assert result.public_path is not None
    public_cases = result.public_path / "cases.parquet"
    assert public_cases.read_bytes() == (result.path / "cases.parquet").read_bytes()
    qis = ", ".join(f'"{q}"' for q in schema.quasi_identifiers)
    classes = f"SELECT count(*) AS n FROM read_parquet(?) GROUP BY {qis}"  # NULL: own value
    with duckdb.connect() as con:
        smallest, total = con.execute(
            f"SELECT min(n), sum(n) FROM ({classes})", [str(public_cases)]
        ).fetchone()
    assert smallest >= k
    acc = result.manifest.to_dict()["accounting"]
    assert total == acc["total"]["released"] == pq.read_metadata(public_cases).num_rows
    assert acc["total"]["rows_read"] == rows_read
    for row in [acc["total"], *acc["per_org"].values()]:
        assert row["balanced"]
        assert row["rows_read"] == row["staged"] + row["quarantined"]
        assert row["staged"] == (row["released"] + row["records_suppressed"] + row["held"]
                                 + row["duplicates_merged"])  # fmt: skip
    text = (result.public_path / "manifest.json").read_text(encoding="utf-8")
    assert not [org for org in ORGS if org in text]


row_strategy = st.tuples(
    st.sampled_from(ORGS),
    st.one_of(st.none(), st.integers(0, 95)),
    st.integers(2003, 2024),
    st.sampled_from(SEXES),
    st.sampled_from(COUNTRIES),
    st.booleans(),
    st.sampled_from(CONTROLS),
)


#: each example harmonizes for real (about 2 s of anonymizer search even for a few records)
SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@pytest.mark.slow
@settings(max_examples=8, deadline=None, derandomize=True, database=None,
          suppress_health_check=SLOW)  # fmt: skip
@given(records=st.lists(row_strategy, min_size=1, max_size=40), k=st.sampled_from([2, 3, 5, 10]))
def test_tiny_workspaces_publish_a_k_anonymous_release_or_refuse_with_one_slug(
    records: list[tuple], k: int, mappings: dict[str, Mapping], schema: Schema, scratch: Path
) -> None:
    root = Path(tempfile.mkdtemp(dir=scratch))
    rows: dict[str, list[str]] = {}
    for i, (org, *values) in enumerate(records):
        rows.setdefault(org, []).append(_line(i, *values))
    ws, rows_read = _stage(root, mappings, schema, rows)
    try:
        result = harmonize(ws, schema, k=k)
    except CtdcError as exc:
        kept = [rest for org, *rest in records if rest[2] != "Varón"]
        assert exc.slug == "too-few-records", exc.message()
        # fewer than k, or a protected flag TRUE in every record (no class could hide it)
        certain = [all(word in rest[5] for rest in kept) for word in ("Deuda", "Amenazas")]
        assert len(kept) < k or any(certain)
        assert not (ws.root / "public" / "current").exists()
        return
    _check_release(ws, result, schema, k, rows_read)


def _twelve_records(root: Path, mappings: dict[str, Mapping], schema: Schema) -> Workspace:
    """The reported workspace: one organization, 12 records, years spread over 12 years."""
    lines = [_line(i, 18 + 3 * i, 2010 + i, ("Mujer", "Hombre")[i % 2], COUNTRIES[i % 3], False,
                   ("Deuda", "Amenazas")[i % 2]) for i in range(12)]  # fmt: skip
    ws, _ = _stage(root, mappings, schema, {"org-a": lines})
    return ws


@pytest.mark.slow
@pytest.mark.parametrize("k", [10, 2])
def test_twelve_records_of_one_org_publish_with_every_year_suppressed(
    k: int, mappings: dict[str, Mapping], schema: Schema, tmp_path: Path
) -> None:
    """The reported fault: this raised ArrowTypeError (an all-NULL Int16 year) at k=10."""
    ws = _twelve_records(tmp_path, mappings, schema)
    result = harmonize(ws, schema, k=k)
    _check_release(ws, result, schema, k, 12)
    cols = ["year_of_registration", "year_of_registration_status"]
    years = pq.read_table(result.public_path / "cases.parquet", columns=cols)
    assert years.schema.field("year_of_registration").type == "int16"  # exact years only
    if k == 10:  # twelve different years: no class of ten shares one exact year
        assert years.column(0).null_count == 12
        assert set(years.column(1).to_pylist()) <= {"generalized", "suppressed"}


def test_cli_harmonize_on_too_few_records_is_one_catalogued_line(
    mappings: dict[str, Mapping], schema: Schema, tmp_path: Path
) -> None:
    """Fewer records than k: exit 1 with too-few-records, no traceback, nothing published."""
    lines = [_line(i, 30, 2020, "Mujer", "Perú", False, "") for i in range(3)]
    ws, _ = _stage(tmp_path, mappings, schema, {"org-b": lines})
    res = CliRunner().invoke(app, ["--data-dir", str(ws.root), "harmonize", "--k", "10"])
    assert res.exit_code == 1, res.output
    assert "error[too-few-records]" in res.output
    assert "3 distinct records are staged" in res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert not (ws.root / "public" / "current").exists()
    assert not (ws.root / "current").exists()
