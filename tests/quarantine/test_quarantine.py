"""``ctdc quarantine list|export|purge`` on real quarantines written by real ingests."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conftest import EXPECTED_BAD, run_ctdc
from ctdc.errors import CATALOGUE
from ctdc.ingest import ingest_file
from ctdc.mapping import load_mapping
from ctdc.quarantine import neutralize, quarantine_frame, quarantine_table
from ctdc.schema import Schema
from ctdc.store.atomic import write_parquet
from ctdc.store.ledger import read_entries
from ctdc.store.workspace import Workspace, init_workspace

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


@pytest.fixture
def project(tmp_path: Path, test_org: tuple[Path, Path], schema: Schema) -> Path:
    """test-org's export (8 bad rows of 10) ingested with no reject threshold."""
    ws, _ = init_workspace(tmp_path / "ctdc-data")
    pipelines, export = test_org
    mapping = load_mapping(pipelines / "test-org.yaml", schema)
    result = ingest_file(ws, schema, mapping, export, key=ws.load_key())
    assert result.quarantined == len(EXPECTED_BAD)
    return tmp_path


def _read_export(path: Path, encoding: str = "latin-1", delimiter: str = ";") -> pd.DataFrame:
    text = path.read_bytes().decode(encoding)
    return pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False)


def test_list_shows_batches_with_rows_by_reason(project: Path) -> None:
    result = run_ctdc(project, "quarantine", "list", "--org", "test-org", "--json")
    assert result.exit_code == 0, result.stderr
    [batch] = json.loads(result.stdout)
    assert batch["source_file"] == "export.csv" and batch["status"] == "ingested"
    assert batch["rows"] == len(EXPECTED_BAD)
    assert batch["rows_by_reason"]["unknown-value"] == 2
    assert batch["rows_by_reason"]["duplicate-case-id"] == 1
    text = run_ctdc(project, "quarantine", "list", "--org", "test-org")
    assert "quarantine of test-org" in text.stdout and "bad-date 1" in text.stdout


def test_list_of_an_org_without_quarantine(project: Path) -> None:
    result = run_ctdc(project, "quarantine", "list", "--org", "nobody-here")
    assert result.exit_code == 0 and "no quarantined rows for nobody-here" in result.stdout


def test_export_is_in_the_orgs_own_columns_dialect_and_row_numbers(project: Path) -> None:
    result = run_ctdc(project, "quarantine", "export", "--org", "test-org", "-o", "fix-me.csv")
    assert result.exit_code == 0, result.stderr
    assert "wrote 8 quarantined rows to fix-me.csv (latin-1, ';')" in result.stderr
    out = project / "fix-me.csv"
    assert out.stat().st_mode & 0o777 == 0o600  # raw rows: private like the quarantine
    frame = _read_export(out)  # test-org exports latin-1 with ';': so does the quarantine
    own = ["ID", "Nombre", "Notas", "Edad", "Fecha", "Sexo", "Nac", "Secuestro", "Control"]
    assert list(frame.columns) == [
        "ctdc_quarantine_id",
        "ctdc_source_file",
        "ctdc_source_row",
        *own,
        "ctdc_reason",
        "ctdc_column",
        "ctdc_value",
        "ctdc_expected",
        "ctdc_fix",
    ]
    assert frame["ctdc_source_row"].astype(int).tolist() == sorted(EXPECTED_BAD)
    by_row = frame.set_index(frame["ctdc_source_row"].astype(int))
    for row, (slug, column) in EXPECTED_BAD.items():
        assert slug in by_row.loc[row, "ctdc_reason"].split(" | ")
        assert column in by_row.loc[row, "ctdc_column"].split(" | ")
        assert CATALOGUE[slug].fix in by_row.loc[row, "ctdc_fix"]
        assert by_row.loc[row, "ctdc_quarantine_id"].endswith(f"-r{row}")
    assert by_row.loc[6, "Sexo"] == "Varón"  # the raw row, accents and all
    assert by_row.loc[6, "ctdc_value"] == "Varón" and "Female" in by_row.loc[6, "ctdc_expected"]
    assert by_row.loc[10, "ID"] == "002"  # ids keep their zeros
    assert "first at row 3" in by_row.loc[10, "ctdc_expected"]


def test_export_neutralizes_formulas(project: Path, schema: Schema, test_org) -> None:
    pipelines, _ = test_org
    hostile = project / "hostile.csv"
    rows = [
        "ID;Nombre;Notas;Edad;Fecha;Sexo;Nac;Secuestro;Control",
        '101;=HYPERLINK("http://x");@SUM(A1);-5;01/02/2021;Mujer;Perú;No;',
        "102;+1;\tcmd;30;01/02/2021;=1+1;Perú;No;",
    ]
    hostile.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    ws = Workspace(project / "ctdc-data")
    mapping = load_mapping(pipelines / "test-org.yaml", schema)
    ingest_file(ws, schema, mapping, hostile, key=ws.load_key())
    result = run_ctdc(project, "quarantine", "export", "--org", "test-org", "-o", "fix-me.csv")
    assert result.exit_code == 0, result.stderr
    frame = _read_export(project / "fix-me.csv")
    mine = frame[frame["ctdc_source_file"] == "hostile.csv"].set_index("ID")
    assert mine.loc["101", "Nombre"] == '\'=HYPERLINK("http://x")'
    assert mine.loc["101", "Notas"] == "'@SUM(A1)"
    assert mine.loc["101", "Edad"] == "'-5" and mine.loc["101", "ctdc_value"] == "'-5"
    assert mine.loc["102", "Nombre"] == "'+1" and mine.loc["102", "Sexo"] == "'=1+1"
    assert mine.loc["102", "Notas"] == "'\tcmd"
    cells = frame.to_numpy().ravel()
    assert not any(str(c).startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)


def test_neutralize_covers_header_names_and_control_characters() -> None:
    frame = pd.DataFrame({"=cmd": ["a\x00b", "-1", "ok"], "n": ["@x", "", "+"]})
    out = neutralize(frame)
    assert list(out.columns) == ["'=cmd", "n"]
    assert out["'=cmd"].tolist() == ["a\\x00b", "'-1", "ok"]
    assert out["n"].tolist() == ["'@x", "", "'+"]


def test_export_columns_are_ctdcs_and_never_clash_with_the_orgs_own(tmp_path: Path) -> None:
    ws, _ = init_workspace(tmp_path / "data")
    frame = pd.DataFrame({"id": ["1", "2"], "reason": ["moved", "x"]}, dtype="string")
    errors = pd.DataFrame(
        {
            "pos": [1],
            "column": ["id"],
            "field": ["case_id"],
            "reason": ["bad-number"],
            "value": ["x"],
            "expected": ["digits"],
        }
    )
    qdir = ws.private_dir(ws.quarantine_dir("clash-org"))
    raw = pa.Table.from_pandas(frame, preserve_index=False)
    table = quarantine_table(raw, np.array([2, 3]), Path("e.csv"), errors, "b")
    write_parquet(qdir / "b.parquet", table)
    out = quarantine_frame(ws, "clash-org")
    assert list(out.columns) == [
        "ctdc_quarantine_id",
        "ctdc_source_file",
        "ctdc_source_row",
        "id",
        "reason",
        "ctdc_reason",
        "ctdc_column",
        "ctdc_value",
        "ctdc_expected",
        "ctdc_fix",
    ]
    assert out.iloc[0]["reason"] == "x" and out.iloc[0]["ctdc_reason"] == "bad-number"


def test_export_escapes_control_characters_from_hostile_rows(tmp_path: Path, schema) -> None:
    ws, _ = init_workspace(tmp_path / "data")
    mapping = load_mapping(BAD / "pipelines" / "bad-csv.yaml", schema)
    ingest_file(ws, schema, mapping, BAD / "nul.csv", key=ws.load_key())
    out = quarantine_frame(ws, "bad-csv")
    assert out[out["ctdc_reason"] == "control-character"]["name"].tolist() == ["Bo\x00"]
    text = neutralize(out).to_csv(index=False)
    assert "\x00" not in text and "Bo\\x00" in text
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + 1  # header + the one bad row (the file was accepted)


def test_purge_needs_yes_when_not_interactive(project: Path) -> None:
    result = run_ctdc(project, "quarantine", "purge", "--org", "test-org")
    assert result.exit_code == 2
    assert "error[bad-option]: purge would delete 8 quarantined rows of test-org" in result.stderr
    assert "fix: pass --yes" in result.stderr
    assert list((project / "ctdc-data" / "quarantine" / "test-org").glob("*.parquet"))


def test_purge_deletes_the_orgs_quarantine_only(project: Path, tmp_path: Path) -> None:
    other = project / "ctdc-data" / "quarantine" / "other-org"
    shutil.copytree(project / "ctdc-data" / "quarantine" / "test-org", other)
    staged = sorted((project / "ctdc-data" / "staging").rglob("*"))
    result = run_ctdc(project, "quarantine", "purge", "--org", "test-org", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "purged 8 rows in 1 batches of test-org" in result.stdout
    assert not (project / "ctdc-data" / "quarantine" / "test-org").exists()
    assert list(other.glob("*.parquet"))  # another organization's rows are untouched
    assert sorted((project / "ctdc-data" / "staging").rglob("*")) == staged
    assert len(read_entries(Workspace(project / "ctdc-data"))) == 1
    again = run_ctdc(project, "quarantine", "list", "--org", "test-org")
    assert "no quarantined rows for test-org" in again.stdout


def test_quarantine_is_private(project: Path) -> None:
    folder = project / "ctdc-data" / "quarantine" / "test-org"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in folder.iterdir())


def test_quarantine_commands_check_the_org_name(project: Path) -> None:
    for command in ("list", "export", "purge"):
        result = run_ctdc(project, "quarantine", command, "--org", "../test-org")
        assert result.exit_code == 2 and "error[bad-org-name]" in result.stderr


def test_export_to_standard_output(tmp_path: Path, schema: Schema) -> None:
    shutil.copytree(BAD / "pipelines", tmp_path / "pipelines")
    ws, _ = init_workspace(tmp_path / "ctdc-data")
    mapping = load_mapping(BAD / "pipelines" / "bad-csv.yaml", schema)
    ingest_file(ws, schema, mapping, BAD / "too-few-fields.csv", key=ws.load_key())
    result = run_ctdc(tmp_path, "quarantine", "export", "--org", "bad-csv", "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("\ufeffctdc_quarantine_id,ctdc_source_file,ctdc_source_row,"
                                    "id,name,")  # UTF-8 with a BOM  # fmt: skip
    [row] = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert (row["ctdc_source_row"], row["id"], row["country"]) == ("3", "002", "")
    assert (row["ctdc_reason"], row["ctdc_column"]) == ("bad-field-count", "country")
    assert row["ctdc_value"] == "002,Bo,2021-04-02,M"
    assert not list(tmp_path.glob("*.csv"))  # nothing written beside


def test_the_raw_copy_cuts_overlong_cells_at_a_character_and_marks_them() -> None:
    from ctdc.limits import MAX_CELL_CHARS
    from ctdc.quarantine.table import CUT_MARK, cut_long_cells

    wide = "é" * (MAX_CELL_CHARS + 5)  # 2 bytes a character: a byte cut would split one
    exact = "x" * MAX_CELL_CHARS
    raw = pa.table({"a": [wide, "short", None], "b": [exact, None, "y"], "c": ["1", "2", "3"]})
    cut = cut_long_cells(raw)
    assert cut.column("a").to_pylist() == ["é" * MAX_CELL_CHARS + CUT_MARK, "short", None]
    assert cut.column("b").equals(raw.column("b")) and cut.column("c").equals(raw.column("c"))
    assert cut.column_names == raw.column_names
