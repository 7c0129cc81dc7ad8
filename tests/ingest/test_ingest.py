"""Ingest on real files: mapping, quarantine reasons, pseudonyms, accounting, idempotence."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import EXPECTED_BAD, ROOT, TEST_ROWS
from ctdc.errors import CtdcError
from ctdc.ingest import ingest_file
from ctdc.mapping import load_mapping
from ctdc.schema import Schema, load_schema
from ctdc.store.ledger import read_entries
from ctdc.store.workspace import Workspace, init_workspace


def _ingest(ws: Workspace, schema: Schema, test_org: tuple[Path, Path], **kw: object):
    pipelines, export = test_org
    mapping = load_mapping(pipelines / "test-org.yaml", schema)
    return ingest_file(ws, schema, mapping, export, key=ws.load_key(), **kw)


def test_each_bad_row_is_quarantined_with_its_slug_row_and_column(workspace, schema, test_org):
    result = _ingest(workspace, schema, test_org)
    q = pd.read_parquet(workspace.quarantine_dir("test-org") / f"{result.batch_id}.parquet")
    got = {(int(r.source_row), r.reason, r.column) for r in q.itertuples()}
    for row, (slug, column) in EXPECTED_BAD.items():
        assert (row, slug, column) in got
    assert set(q["source_row"]) == set(EXPECTED_BAD)
    assert set(q["source_file"]) == {"export.csv"}
    unknown = q[(q.source_row == 11)].iloc[0]
    assert unknown.value == "Magia" and "deuda" in unknown.expected
    # the raw row is kept for correction, in the organization's own column names
    assert json.loads(q[q.source_row == 6].iloc[0].raw)["Sexo"] == "Varón"


def test_accounting_balances_and_is_in_the_ledger(workspace, schema, test_org):
    result = _ingest(workspace, schema, test_org)
    assert result.rows_read == len(TEST_ROWS) - 1
    assert result.quarantined == len(EXPECTED_BAD)
    assert result.staged == result.rows_read - result.quarantined == 2
    [entry] = read_entries(workspace)
    assert entry.balanced and entry.staged == 2 and entry.rows_read == 10
    assert entry.quarantined_by_reason["unknown-value"] == 2


def test_staging_holds_typed_values_and_no_identifiers(workspace, schema, test_org):
    result = _ingest(workspace, schema, test_org)
    staged = pd.read_parquet(workspace.staging_dir("test-org") / f"{result.batch_id}.parquet")
    assert list(staged.columns) == schema.staged
    first, second = staged.iloc[0], staged.iloc[1]
    by_country = staged.set_index("citizenship")
    assert by_country.loc["PE", "gender"] == "Female"
    assert by_country.loc["PE", "age_band"] == "24-26"
    assert by_country.loc["PE", "majority_status"] == "Adult"
    assert bool(by_country.loc["PE", "moc_debt_bondage"]) and bool(
        by_country.loc["PE", "moc_threats"]
    )
    assert by_country["moc_other"].astype("boolean").loc["PE"] == False  # noqa: E712 - not NA
    # Namibia's NA stays a country, and its empty means-of-control stays unknown (NULL)
    assert by_country.loc["NA", "gender"] == "Male"
    assert pd.isna(by_country.loc["NA", "moc_debt_bondage"])
    assert pd.isna(by_country.loc["NA", "age_band"])
    assert {first.year_of_registration, second.year_of_registration} == {2020, 2021}
    text = staged.to_csv()
    for secret in ("Ana", "Marker1", "Marker2", "00123"):
        assert secret not in text


def test_pseudonym_is_hmac_of_org_and_case_id_keeping_leading_zeros(workspace, schema, test_org):
    result = _ingest(workspace, schema, test_org)
    staged = pd.read_parquet(workspace.staging_dir("test-org") / f"{result.batch_id}.parquet")
    key = workspace.load_key()
    expected = hmac.new(key, b"test-org\x1f00123", hashlib.sha256).hexdigest()
    assert expected in set(staged["case_pseudonym"])
    wrong = hmac.new(key, b"test-org\x1f123", hashlib.sha256).hexdigest()
    assert wrong not in set(staged["case_pseudonym"])


def test_reingesting_the_same_file_is_a_no_op(workspace, schema, test_org):
    first = _ingest(workspace, schema, test_org)
    staged_file = workspace.staging_dir("test-org") / f"{first.batch_id}.parquet"
    before = staged_file.stat().st_mtime_ns
    again = _ingest(workspace, schema, test_org)
    assert again.status == "unchanged" and again.batch_id == first.batch_id
    assert again.staged == first.staged
    assert staged_file.stat().st_mtime_ns == before
    assert len(read_entries(workspace)) == 1


def test_reject_rate_above_threshold_stages_nothing(workspace, schema, test_org):
    result = _ingest(workspace, schema, test_org, max_reject_rate=0.5)
    assert result.status == "rejected" and result.reject_rate == pytest.approx(0.8)
    assert read_entries(workspace) == []
    assert not (workspace.staging_dir("test-org") / f"{result.batch_id}.parquet").exists()
    # the quarantine is kept so the data officer can see why
    assert (workspace.quarantine_dir("test-org") / f"{result.batch_id}.parquet").exists()


def test_quarantine_folder_is_private(workspace, schema, test_org):
    _ingest(workspace, schema, test_org)
    assert workspace.quarantine_dir("test-org").stat().st_mode & 0o777 == 0o700


def test_unmapped_column_stops_the_ingest_naming_file_and_column(workspace, schema, test_org):
    _, export = test_org
    lines = export.read_bytes().decode("latin-1").splitlines()
    lines = [lines[0] + ";Pasaporte"] + [line + ";X123" for line in lines[1:]]
    export.write_bytes("\n".join(lines).encode("latin-1"))
    with pytest.raises(CtdcError) as err:
        _ingest(workspace, schema, test_org)
    assert err.value.slug == "unmapped-column" and err.value.column == "Pasaporte"
    assert "export.csv" in err.value.message() and err.value.exit_code == 1


def test_wrong_encoding_is_an_unreadable_file(workspace, schema, test_org, tmp_path):
    pipelines, _ = test_org
    text = (pipelines / "test-org.yaml").read_text().replace("latin-1", "utf-8")
    (pipelines / "test-org.yaml").write_text(text)
    with pytest.raises(CtdcError) as err:
        _ingest(workspace, schema, test_org)
    assert err.value.slug == "unreadable-file" and "utf-8" in err.value.message()


def test_default_fills_missing_cells_of_its_column(workspace, schema, test_org):
    # The export leaves `Secuestro` blank where it does not apply; `default: false` says so.
    pipelines, export = test_org
    text = (pipelines / "test-org.yaml").read_text()
    text = text.replace(
        "is_abduction: {column: Secuestro, values: {Sí: true, No: false}}",
        "is_abduction: {column: Secuestro, values: {Sí: true, No: false}, default: false}",
    )
    (pipelines / "test-org.yaml").write_text(text)
    lines = export.read_bytes().decode("latin-1").splitlines()
    lines[2] = lines[2].replace(";No;", ";;")  # row 3: Secuestro blank
    export.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    result = _ingest(workspace, schema, test_org, max_reject_rate=1.0)
    staged = pd.read_parquet(workspace.staging_dir("test-org") / f"{result.batch_id}.parquet")
    assert sorted(staged["is_abduction"].tolist()) == [False, True]
    assert result.staged == 2


def test_default_must_be_a_schema_value_next_to_a_column(schema, tmp_path):
    from ctdc.errors import CtdcError

    base = "org: xx\ndata_source: Hotline\nsource: {format: csv}\ncase_id: ID\nfields:\n"
    for rule, needle in [
        ("  gender: {column: S, default: Robot}", "'Robot' is not one of"),
        ("  gender: {value: Female, default: Male}", "`default` needs a `column`"),
    ]:
        path = tmp_path / "xx.yaml"
        path.write_text(base + rule + "\n")
        with pytest.raises(CtdcError) as err:
            load_mapping(path, schema)
        assert needle in err.value.message() and "line 6" in err.value.message()


XLSX_DATES_MAPPING = """\
org: sheet-org
data_source: Case Management
source: {format: xlsx}
case_id: ref
fields:
  year_of_registration: {column: registered, date_format: ["%Y-%m-%d", excel]}
age: {birth_date: born, birth_date_format: excel}
"""


def test_xlsx_dates_as_date_cells_text_or_serial_numbers(workspace, schema, tmp_path):
    """A case-management XLSX holds dates three ways: cells formatted as dates, text, and
    bare serial day numbers (cells never formatted as dates). A list of formats reads all."""
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["ref", "registered", "born"])
    ws.append(["A1", dt.datetime(2019, 5, 17), 33970])  # a date cell; born 1993-01-01
    ws.append(["A2", 44256, 36526])  # serial day numbers: 2021-03-01; born 2000-01-01
    ws.append(["A3", "2020-02-29", 36526.75])  # text; a serial with a time of day
    ws.append(["A4", "1/3/21", 60])  # neither format; 60 is Excel's 1900-02-29 that never was
    path = tmp_path / "cases.xlsx"
    wb.save(path)
    (tmp_path / "sheet-org.yaml").write_text(XLSX_DATES_MAPPING, encoding="utf-8")
    mapping = load_mapping(tmp_path / "sheet-org.yaml", schema)
    result = ingest_file(workspace, schema, mapping, path, key=workspace.load_key(),
                         max_reject_rate=1.0)  # fmt: skip
    staged = pd.read_parquet(workspace.staging_dir("sheet-org") / f"{result.batch_id}.parquet")
    assert staged["year_of_registration"].tolist() == [2019, 2021, 2020]
    assert staged["age_band"].tolist() == ["24-26", "21-23", "18-20"]  # 26, 21, 20 years
    q = pd.read_parquet(workspace.quarantine_dir("sheet-org") / f"{result.batch_id}.parquet")
    bad = q[q.reason == "bad-date"].sort_values("column")
    assert bad["source_row"].tolist() == [5, 5]
    assert bad["column"].tolist() == ["born", "registered"]
    assert "an Excel serial day number" in bad["expected"].iloc[0]
    assert "%Y-%m-%d or an Excel serial day number" in bad["expected"].iloc[1]


@pytest.mark.parametrize(
    ("formats", "needle"),
    [
        ('["%d/%m/%Y", "%m/%d/%Y"]', "lists both '%d/%m/%Y' and '%m/%d/%Y'"),
        ('["%Y-%m-%d", "yyyy"]', "must be a strftime format"),
        ("[]", "must be a strftime format"),
    ],
)
def test_date_format_lists_are_checked(schema, tmp_path, formats: str, needle: str):
    text = XLSX_DATES_MAPPING.replace('["%Y-%m-%d", excel]', formats)
    (tmp_path / "sheet-org.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CtdcError) as err:
        load_mapping(tmp_path / "sheet-org.yaml", schema)
    assert needle in err.value.message() and "line 6" in err.value.message()


def test_a_schema_with_other_values_gets_its_own_contract(workspace, schema, test_org, tmp_path):
    """The staged contract is cached by the staged fields' content: the same schema file
    with one value renamed, in another folder, checks against its own values, never
    against a contract cached for the first."""
    pipelines, export = test_org
    first = _ingest(workspace, schema, test_org)
    staged = pd.read_parquet(workspace.staging_dir("test-org") / f"{first.batch_id}.parquet")
    assert "Male" in set(staged["gender"].dropna())

    other = tmp_path / "other-schema"
    shutil.copytree(ROOT / "schemas", other)
    text = (other / "ctdc.yaml").read_text(encoding="utf-8")
    (other / "ctdc.yaml").write_text(text.replace("  - Male\n", "  - Man\n", 1), "utf-8")
    renamed = load_schema(other / "ctdc.yaml")
    mapping_text = (pipelines / "test-org.yaml").read_text(encoding="utf-8")
    (other / "test-org.yaml").write_text(mapping_text.replace("Hombre: Male", "Hombre: Man"))
    mapping = load_mapping(other / "test-org.yaml", renamed)
    ws, _ = init_workspace(tmp_path / "data2", k_floor=2)
    again = ingest_file(ws, renamed, mapping, export, key=ws.load_key())
    assert again.staged == first.staged  # "Man" passes the renamed schema's check
    staged = pd.read_parquet(ws.staging_dir("test-org") / f"{again.batch_id}.parquet")
    assert "Man" in set(staged["gender"].dropna()) and "Male" not in set(staged["gender"].dropna())
