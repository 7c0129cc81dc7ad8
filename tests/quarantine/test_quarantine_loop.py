"""The quarantine loop that closes (issue 13, point 5) and reprocessing after a mapping fix
(point 4), on real files through the CLI in-process: ingest with bad rows, export, correct the
file, ingest it with the same mapping, originals resolved, retention purge with a moved clock;
a reprocess turns quarantined rows into staged records; validate prints its rows, redacted."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import EXPECTED_BAD, TEST_MAPPING, TEST_ROWS, cli
from ctdc.ingest.reprocess import mapping_changed, stale_batches
from ctdc.mapping import load_mapping
from ctdc.quarantine import open_rows
from ctdc.quarantine.retention import expiring, purge_expired
from ctdc.schema import Schema
from ctdc.store.ledger import read_entries
from ctdc.store.workspace import Workspace

#: the corrections a data officer makes to each bad row of TEST_ROWS (row -> column -> value)
FIXES = {
    4: {"Edad": "20"},
    5: {"Fecha": "28/02/2021"},
    6: {"Sexo": "Hombre"},
    8: {"Edad": "50"},
    9: {"ID": "009"},
    10: {"ID": "010"},
    11: {"Control": "Deuda"},
}  # row 7 (Narnia) is sent back uncorrected


def _read(path: Path) -> pd.DataFrame:
    text = path.read_bytes().decode("latin-1")
    return pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False)


def _ingest(*args: str) -> dict:
    result = cli("ingest", "--org", "test-org", "--json", "--max-reject-rate", "1", *args)
    assert result.exit_code == 0, result.output
    [doc] = json.loads(result.stdout)
    return doc


@pytest.fixture
def project(cli_project: Path) -> Path:
    (cli_project / "export.csv").write_bytes(("\n".join(TEST_ROWS) + "\n").encode("latin-1"))
    assert _ingest("export.csv")["quarantined"] == len(EXPECTED_BAD)
    return cli_project


@pytest.mark.slow
def test_the_quarantine_loop_closes(project: Path) -> None:
    ws = Workspace(project / "data")
    result = cli("quarantine", "export", "--org", "test-org", "-o", "fix-me.csv")
    assert result.exit_code == 0, result.output
    sent = _read(project / "fix-me.csv")
    assert list(sent.columns)[:3] == ["ctdc_quarantine_id", "ctdc_source_file", "ctdc_source_row"]
    assert list(sent.columns)[-1] == "ctdc_fix" and "Nombre" in sent.columns
    # the organization corrects its rows in place (a spreadsheet would do the same)
    for row, cells in FIXES.items():
        at = sent["ctdc_source_row"] == str(row)
        for column, value in cells.items():
            sent.loc[at, column] = value
    back = sent.to_csv(index=False, sep=";", lineterminator="\r\n").encode("latin-1")
    (project / "fixed.csv").write_bytes(back)

    doc = _ingest("fixed.csv")  # the same mapping: the helper columns are not unmapped-column
    assert doc["status"] == "ingested" and doc["staged"] == len(FIXES)
    assert doc["resolved"] == {"staged": len(FIXES), "requarantined": 1, "unknown": 0}
    listed = json.loads(cli("quarantine", "list", "--org", "test-org", "--json").stdout)
    first = next(b for b in listed if b["source_file"] == "export.csv")
    assert first["rows"] == len(EXPECTED_BAD) and first["resolved"] == len(EXPECTED_BAD)
    [still] = open_rows(ws, "test-org").drop_duplicates("source_row").itertuples()
    assert (still.source_file, still.reason) == ("fixed.csv", "unknown-country")

    again = cli("quarantine", "export", "--org", "test-org", "-o", "-")
    [line] = list(pd.read_csv(io.StringIO(again.stdout), sep=";", dtype=str).itertuples())
    assert line.Nac == "Narnia" and line.ctdc_quarantine_id.endswith("-r5")  # its row there
    assert line.ctdc_source_file == "fixed.csv"  # one row, its new id: nothing exported twice

    # retention: the fully resolved batch goes at once, the rest after the period
    now = dt.datetime.now(dt.UTC)
    soon = expiring(ws, 100, retention_days=90, now=now)
    assert {e.source_file for e in soon} == {"export.csv", "fixed.csv"}
    assert expiring(ws, 0, retention_days=90, now=now) == []
    gone = purge_expired(ws, retention_days=90, now=now)
    assert (gone.batches, gone.resolved_batches, gone.rows) == (1, 1, len(EXPECTED_BAD))
    listed = json.loads(cli("quarantine", "list", "--org", "test-org", "--json").stdout)
    assert [b["source_file"] for b in listed] == ["fixed.csv"]
    later = now + dt.timedelta(days=91)
    assert [e.source_file for e in expiring(ws, 0, retention_days=90, now=later)] == ["fixed.csv"]
    assert purge_expired(ws, retention_days=90, now=later).rows == 1
    assert list(ws.quarantine_dir("test-org").glob("*.parquet")) == []
    raw = b"".join(p.read_bytes() for p in (project / "data").rglob("*") if p.is_file())
    assert b"Narnia" not in raw and b"Marker1" not in raw  # no raw row left in the workspace


def test_harmonize_applies_the_retention_period(project: Path) -> None:
    """Retention does not wait for a release: harmonize purges first, even when it then
    stops (here: two staged records, fewer than k)."""
    result = cli("policy", "set", "quarantine_retention_days=0", "--reason", "test")
    assert result.exit_code == 0, result.output
    result = cli("harmonize")
    assert "error[too-few-records]" in result.stderr
    assert f"retention: purged {len(EXPECTED_BAD)} quarantined rows" in result.stderr
    assert list((project / "data" / "quarantine").rglob("*.parquet")) == []


def _fix_mapping(project: Path) -> None:
    fixed = TEST_MAPPING.replace("Desconocido: null", "Desconocido: null, Varón: Male")
    (project / "pipelines" / "test-org.yaml").write_text(fixed, encoding="utf-8")


def test_reprocess_after_a_mapping_fix_stages_quarantined_rows(project: Path,
                                                               schema: Schema) -> None:  # fmt: skip
    ws = Workspace(project / "data")
    [before] = read_entries(ws)
    _fix_mapping(project)
    mapping = load_mapping(project / "pipelines" / "test-org.yaml", schema)
    assert mapping_changed(ws, mapping) and stale_batches(ws, mapping) == [before]
    assert _ingest("export.csv")["status"] == "unchanged"  # the same bytes: still a no-op

    result = cli("reprocess", "--org", "test-org", "export.csv", "--json", "--max-reject-rate", "1")
    assert result.exit_code == 0, result.output
    [doc] = json.loads(result.stdout)
    assert (doc["staged"], doc["quarantined"]) == (3, len(EXPECTED_BAD) - 1)
    [after] = read_entries(ws)
    assert (after.batch_id, after.seq, after.mode) == (before.batch_id, before.seq, before.mode)
    assert after.mapping_sha256 == mapping.sha256 and after.reprocessed_at
    assert not mapping_changed(ws, mapping)
    staged = pq.read_table(ws.staging_dir("test-org") / f"{after.batch_id}.parquet").to_pandas()
    assert len(staged) == 3 and (staged["gender"] == "Male").sum() == 2  # row 3 and Varón
    reasons = open_rows(ws, "test-org")["reason"]
    assert "unknown-value" in set(reasons) and len(reasons.drop_duplicates()) > 1
    assert not (open_rows(ws, "test-org")["value"] == "Varón").any()
    assert cli("reprocess", "--org", "test-org", "--changed").exit_code == 0  # nothing stale


def test_reprocess_without_an_archived_export_asks_for_the_file(project: Path) -> None:
    ws = Workspace(project / "data")
    [before] = read_entries(ws)
    _fix_mapping(project)
    result = cli("reprocess", "--org", "test-org")
    assert result.exit_code == 2
    assert "error[export-not-archived]" in result.stderr
    assert f"batch {before.batch_id} (export.csv" in result.stderr
    assert "ctdc reprocess --org test-org export.csv" in result.stderr  # the fix names the file
    assert "Traceback" not in result.output
    assert read_entries(ws) == [before]  # nothing changed
    other = project / "other.csv"
    other.write_bytes(b"ID;Nombre\n1;x\n")
    result = cli("reprocess", "--org", "test-org", "other.csv")
    assert result.exit_code == 2 and "other.csv is not the export of a live batch" in result.stderr


def test_reprocess_from_the_archive(cli_project: Path, schema: Schema) -> None:
    assert cli("policy", "set", "archive_exports=on", "--reason", "test").exit_code == 0
    (cli_project / "export.csv").write_bytes(("\n".join(TEST_ROWS) + "\n").encode("latin-1"))
    _ingest("export.csv")
    ws = Workspace(cli_project / "data")
    [archived] = (cli_project / "data" / "archive" / "test-org").glob("*/export.csv")
    assert archived.stat().st_mode & 0o777 == 0o600
    (cli_project / "export.csv").unlink()  # the officer no longer has it
    _fix_mapping(cli_project)
    result = cli("reprocess", "--org", "test-org", "--json", "--max-reject-rate", "1")
    assert result.exit_code == 0, result.output
    [doc] = json.loads(result.stdout)
    assert doc["staged"] == 3 and doc["file"] == "export.csv"
    assert open_rows(ws, "test-org")["source_file"].eq("export.csv").all()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=91)
    assert purge_expired(ws, retention_days=90, now=later).archived_exports == 1
    assert not archived.exists()


MARKERS = ("Zorbalinda", "Quixtophe", "7700900123", "Calle Marcador")


@pytest.mark.slow
def test_validate_and_list_rows_print_rows_redacted(project: Path) -> None:
    rows = [
        TEST_ROWS[0],
        "101;Zorbalinda Quixtophe;tel 7700900123;veinte;01/02/2021;Mujer;Perú;No;",
        "102;Quixtophe;Calle Marcador 5;30;01/02/2021;Varón;Perú;No;",
        "103;Zorbalinda;x;30;01/02/2021;Mujer;Perú;No;;extra 7700900123",  # bad field count
        "Zorbalinda7700900123;Z;x;30;31/02/2021;Mujer;Perú;No;",  # bad-date, id is a marker
    ]
    (project / "bad.csv").write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    result = cli("validate", "--org", "test-org", "bad.csv", "--max-reject-rate", "1")
    assert result.exit_code == 0, result.output
    for row in (2, 3, 4, 5):
        assert f"bad.csv, row {row}" in result.stdout
    assert "'veinte'" in result.stdout and "'Varón'" in result.stdout  # codes, as the rule says
    assert "quarantine list" not in result.output  # it writes none: no pointer to an empty list
    for marker in MARKERS:
        assert marker not in result.output

    _ingest("bad.csv")
    listed = cli("quarantine", "list", "--org", "test-org", "--rows")
    assert listed.exit_code == 0, listed.output
    assert "bad.csv, row 3, column 'Sexo': unknown-value 'Varón'" in listed.stdout
    assert "export.csv, row 6" in listed.stdout and "-r6" in listed.stdout
    assert "row 9, column 'ID': missing-required (empty)" in listed.stdout
    assert "row 10, column 'ID': duplicate-case-id (not shown: 3 chars: digits)" in listed.stdout
    assert "nan" not in listed.stdout.lower()
    as_json = cli("quarantine", "list", "--org", "test-org", "--rows", "--json")
    docs = json.loads(as_json.stdout)
    assert len({d["quarantine_id"] for d in docs}) == len(EXPECTED_BAD) + 4
    for marker in (*MARKERS, "Marker1", "Marker2"):
        assert marker not in listed.output and marker not in as_json.output


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["ndjson", "json", "xlsx"])
def test_the_export_comes_back_in_the_orgs_own_format(tmp_path: Path, schema: Schema,
                                                      fmt: str) -> None:  # fmt: skip
    """An organization exporting JSON, NDJSON or XLSX gets its quarantine in that format, which
    its mapping reads back: the corrected rows are staged and the originals resolved."""
    from openpyxl import Workbook, load_workbook

    from ctdc.ingest import ingest_file
    from ctdc.quarantine import export_quarantine
    from ctdc.store.workspace import init_workspace

    source = f"{{format: {fmt}}}"
    if fmt == "xlsx":
        source = "{format: xlsx, sheet: Cases, header_row: 2}"
    text = TEST_MAPPING.replace('{format: csv, encoding: latin-1, delimiter: ";"}', source)
    (tmp_path / "test-org.yaml").write_text(text, encoding="utf-8")
    mapping = load_mapping(tmp_path / "test-org.yaml", schema)
    header = TEST_ROWS[0].split(";")
    records = [dict(zip(header, line.split(";"), strict=True)) for line in TEST_ROWS[1:8]]
    export = tmp_path / f"export.{fmt}"
    if fmt == "xlsx":
        wb = Workbook()
        sheet = wb.active
        sheet.title = "Cases"
        sheet.append(["Quarterly export"])  # a title row above the header
        sheet.append(header)
        for rec in records:
            sheet.append(list(rec.values()))
        wb.save(export)
    elif fmt == "json":
        export.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    else:
        export.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    ws, _ = init_workspace(tmp_path / "data")
    first = ingest_file(ws, schema, mapping, export, key=ws.load_key())
    assert first.quarantined == 5  # rows 4-8 of TEST_ROWS

    sent = tmp_path / f"fix-me.{fmt}"
    assert export_quarantine(ws, "test-org", sent, mapping.source).rows == 5
    fixes = {"veinte": ("Edad", "20"), "31/02/2021": ("Fecha", "28/02/2021"), "150": ("Edad", "50"),
             "Varón": ("Sexo", "Mujer"), "Narnia": ("Nac", "Perú")}  # fmt: skip
    if fmt == "xlsx":
        book = load_workbook(sent)
        rows = [[c.value for c in row] for row in book["Cases"].iter_rows(min_row=2)]
        names = rows[0]
        for row in rows[1:]:
            column, value = fixes[row[names.index("ctdc_value")]]
            row[names.index(column)] = value
        out = Workbook()
        out.active.title = "Cases"
        out.active.append([])
        for row in rows:
            out.active.append(row)
        out.save(sent)
    else:
        lines = (json.loads(sent.read_text()) if fmt == "json"
                 else [json.loads(x) for x in sent.read_text().splitlines()])  # fmt: skip
        for rec in lines:
            column, value = fixes[rec["ctdc_value"]]
            rec[column] = value
        sent.write_text(json.dumps(lines) if fmt == "json"
                        else "".join(json.dumps(r) + "\n" for r in lines))  # fmt: skip
    back = ingest_file(ws, schema, mapping, sent, key=ws.load_key())
    assert (back.status, back.staged, back.quarantined) == ("ingested", 5, 0)
    assert back.resolved == {"staged": 5, "requarantined": 0, "unknown": 0}
    assert open_rows(ws, "test-org").empty
