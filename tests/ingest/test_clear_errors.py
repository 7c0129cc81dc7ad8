"""Issue 13 point 6, "clear errors": each case a data officer met, with the error it gets now.

Every test names the slug, the exit code and what the message must say: the
file, the row and the column where that applies, and the fix. They run the
real CLI in-process (``run_ctdc`` fails on a traceback) on small files written
here, with mappings written here, in a fresh workspace.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from conftest import ROOT, run_ctdc
from ctdc.errors import CtdcError
from ctdc.limits import MAX_CELL_CHARS
from ctdc.mapping import load_mapping
from ctdc.schema import Schema

#: a Portuguese case-management export: the age comes from the date of birth
PT_MAPPING = """\
org: pt-org
data_source: Case Management
source: {format: csv, encoding: utf-8, delimiter: ","}
case_id: ID
drop: [Nome]
age: {birth_date: Data de nascimento, birth_date_format: "%d/%m/%Y"}
fields:
  year_of_registration: {column: Data de registo, date_format: "%d/%m/%Y"}
  gender: {column: Sexo, values: {F: Female, M: Male}}
"""
PT_HEADER = ["ID", "Nome", "Data de nascimento", "Data de registo", "Sexo"]
PT_ROWS = [
    ["001", "Ana", "10/05/1990", "15/03/2020", "F"],  # row 2: fine
    ["002", "Bia", "10/05/2001", "15/03/1999", "F"],  # row 3: the intake date is wrong
    ["003", "Caio", "10/05/2019", "15/03/2018", "M"],  # row 4: born after the intake
    ["004", "Davi", "10/05/1990", "15/03/2099", "M"],  # row 5: an intake in the future
    ["005", "Eva", "10/05/1980", "01/02/2021", "F"],  # row 6: fine
]


def _write_csv(path: Path, header: list[str], rows: list[list[str]], sep: str = ",") -> Path:
    path.write_text("\n".join(sep.join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working directory with ``pipelines/pt-org.yaml``, its export and a workspace."""
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "pt-org.yaml").write_text(PT_MAPPING, encoding="utf-8")
    _write_csv(tmp_path / "export.csv", PT_HEADER, PT_ROWS)
    assert run_ctdc(tmp_path, "init", "--k-floor", "2").exit_code == 0
    return tmp_path


def _mapping(project: Path, org: str, text: str) -> Path:
    path = project / "pipelines" / f"{org}.yaml"
    path.write_text(
        re.sub(r"^org: .*$", f"org: {org}", text, count=1, flags=re.M), encoding="utf-8"
    )
    return path


def _json_error(result) -> dict:  # type: ignore[no-untyped-def]
    """The error object ``--json`` writes on stdout; the human line is on stderr too."""
    doc = json.loads(result.stdout)
    error = doc["error"]
    assert set(error) == {"slug", "message", "file", "row", "column", "fix", "exit_code"}
    assert error["exit_code"] == result.exit_code
    assert result.stderr.count(f"error[{error['slug']}]: ") == 1
    return error


def _error_line(result) -> str:  # type: ignore[no-untyped-def]
    """The one ``error[...]`` line on stderr (progress lines come before it)."""
    [line] = [x for x in result.stderr.splitlines() if x.startswith("error[")]
    return str(line)


# --- 1. a wrong date blamed on the right column ---------------------------------------------


def test_a_wrong_intake_date_names_the_intake_column_not_the_birth_date(project: Path) -> None:
    result = run_ctdc(project, "validate", "--org", "pt-org", "export.csv", "--json",
                      "--max-reject-rate", "1")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    [summary] = json.loads(result.stdout)
    by_row = {e["row"]: e for e in summary["examples"]}
    assert set(by_row) == {3, 4, 5}
    intake = by_row[3]
    assert (intake["column"], intake["reason"]) == ("Data de registo", "out-of-range")
    # the intake date is a code of a mapped column: shown as written, so it can be found
    assert intake["value"] == "15/03/1999"
    assert intake["expected"].startswith("a date in a year from 2002 to ")
    assert (by_row[5]["column"], by_row[5]["value"]) == ("Data de registo", "15/03/2099")
    # a birth after a possible intake is the birth date's error, compared with the intake column
    born = by_row[4]
    assert (born["column"], born["reason"]) == ("Data de nascimento", "out-of-range")
    assert "registration date (column 'Data de registo')" in born["expected"]
    assert born["value"] is None  # an exact birth date identifies: never shown


def test_the_quarantine_names_the_intake_column(project: Path) -> None:
    result = run_ctdc(project, "ingest", "--org", "pt-org", "export.csv", "--json",
                      "--max-reject-rate", "1")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    [summary] = json.loads(result.stdout)
    assert (summary["staged"], summary["quarantined"]) == (2, 3)
    q = pd.read_parquet(project / "ctdc-data" / "quarantine" / "pt-org"
                        / f"{summary['batch_id']}.parquet")  # fmt: skip
    got = {(int(r.source_row), r.column, r.reason) for r in q.itertuples()}
    assert got == {
        (3, "Data de registo", "out-of-range"),
        (4, "Data de nascimento", "out-of-range"),
        (5, "Data de registo", "out-of-range"),
    }


def test_a_wrong_registration_year_without_a_birth_date_still_names_its_column(
    tmp_path: Path, schema: Schema
) -> None:
    """The registration check moved from the contract to the mapping: the same for an age column."""
    from ctdc.ingest.dry_run import validate_files

    text = PT_MAPPING.replace(
        'age: {birth_date: Data de nascimento, birth_date_format: "%d/%m/%Y"}',
        "age: {column: Idade}",
    ).replace("drop: [Nome]", "drop: [Nome, Data de nascimento]")
    (tmp_path / "pt-org.yaml").write_text(text, encoding="utf-8")
    mapping = load_mapping(tmp_path / "pt-org.yaml", schema)
    rows = [[*r, "30"] for r in PT_ROWS]
    export = _write_csv(tmp_path / "e.csv", [*PT_HEADER, "Idade"], rows)
    [result] = validate_files(schema, mapping, [export], max_reject_rate=1.0)
    got = {(e["row"], e["column"], e["reason"]) for e in result.examples}
    assert got == {(3, "Data de registo", "out-of-range"), (5, "Data de registo", "out-of-range")}


# --- 2. `missing:` shadowing `values:` ------------------------------------------------------------

SHADOW_MAPPING = """\
org: shadow-org
data_source: Hotline
source: {format: csv}
case_id: ID
missing: ["", "N/D", "Ninguno", "No"]
fields:
  year_of_registration: {column: Fecha, date_format: "%d/%m/%Y"}
  is_abduction: {column: Secuestro, values: {"Sí": true, "No": false}}
  gender: {column: Sexo, values: {Mujer: Female, N/D: null}}
multi:
  - column: Medios de control
    separator: ","
    values: {Deuda: moc_debt_bondage, Ninguno: moc_not_specified}
"""


def test_missing_token_that_values_maps_is_a_bad_mapping(tmp_path: Path, schema: Schema) -> None:
    path = tmp_path / "shadow-org.yaml"
    path.write_text(SHADOW_MAPPING, encoding="utf-8")
    with pytest.raises(CtdcError) as err:
        load_mapping(path, schema)
    assert err.value.slug == "bad-mapping" and err.value.exit_code == 2
    msg = err.value.message()
    assert msg.startswith(f"error[bad-mapping]: {path}: 2 problems:")
    # each names the key path, the column, the value, its line and the fix
    assert (
        "fields.is_abduction.values.No: column 'Secuestro': 'No' is in `missing:`, so a cell "
        "'No' is read as not recorded and `values:` never maps it to false (line 8)"
    ) in msg
    assert "multi.0.values.Ninguno: column 'Medios de control': 'Ninguno' is in `missing:`" in msg
    assert "never sets moc_not_specified (line 13)" in msg
    assert "fix: take 'No' out of `missing:` (it applies to every column)" in msg
    # an entry giving what a missing cell gets anyway (N/D: null) is not a problem
    assert "N/D" not in msg


def test_values_for_an_empty_cell_point_to_default(tmp_path: Path, schema: Schema) -> None:
    text = SHADOW_MAPPING.replace('missing: ["", "N/D", "Ninguno", "No"]', 'missing: ["", "N/D"]')
    text = text.replace('values: {"Sí": true, "No": false}', 'values: {"Sí": true, "": false}')
    path = tmp_path / "shadow-org.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CtdcError) as err:
        load_mapping(path, schema)
    msg = err.value.message()
    assert "column 'Secuestro': '' is in `missing:`" in msg and "(line 8)" in msg
    assert "give the value an empty cell means with `default:`" in msg


def test_a_harmless_overlap_loads(tmp_path: Path, schema: Schema) -> None:
    """null, or the rule's own default, is what a missing cell gets: nothing is lost."""
    text = SHADOW_MAPPING.replace('missing: ["", "N/D", "Ninguno", "No"]', 'missing: ["", "N/D"]')
    text = text.replace(
        'values: {"Sí": true, "No": false}',
        'values: {"Sí": true, "No": false, "N/D": false}, default: false',
    )
    path = tmp_path / "shadow-org.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_mapping(path, schema).missing == frozenset({"", "N/D"})


@pytest.mark.parametrize("path", sorted((ROOT / "pipelines").glob("*.yaml")), ids=lambda p: p.stem)
def test_committed_pipelines_still_load(path: Path, schema: Schema) -> None:
    assert load_mapping(path, schema).org == path.stem


# --- 3. wrong sheet, wrong delimiter ----------------------------------------------------------


def test_a_wrong_delimiter_shows_the_one_column_header_and_the_likely_delimiter(
    project: Path,
) -> None:
    _write_csv(project / "semi.csv", PT_HEADER, PT_ROWS, sep=";")
    result = run_ctdc(project, "validate", "--org", "pt-org", "semi.csv", "--json")
    assert result.exit_code == 1
    error = _json_error(result)
    assert (error["slug"], error["file"], error["column"]) == (
        "missing-column", "semi.csv", "Data de nascimento")  # fmt: skip
    assert (
        "the header came out as one column, 'ID;Nome;Data de nascimento;Data de registo;"
        "Sexo', when split on ',': the file looks delimited by ';'"
    ) in error["message"]
    mapping = project / "pipelines" / "pt-org.yaml"
    assert error["fix"] == f'set `source.delimiter: ";"` in {mapping}'
    assert "error[missing-column]: semi.csv, column 'Data de nascimento': " in result.stderr


def test_a_delimiter_that_splits_the_header_less_than_another(project: Path) -> None:
    """A tab-separated export read with commas: names with a comma split into a few columns."""
    header = ["ID", "Nome, apelido", "Data de nascimento", "Data de registo", "Sexo"]
    _write_csv(project / "tabs.csv", header, PT_ROWS, sep="\t")
    result = run_ctdc(project, "validate", "--org", "pt-org", "tabs.csv")
    assert result.exit_code == 1
    assert "error[missing-column]: tabs.csv" in result.stderr
    assert "the header came out as one column" not in result.stderr
    assert "the header split on ',' gives 2 columns; split on tab, 5" in result.stderr
    assert 'fix: set `source.delimiter: "\\t"`' in result.stderr


def test_utf8_names_read_as_latin1_are_named(project: Path) -> None:
    text = PT_MAPPING.replace("encoding: utf-8", "encoding: latin-1")
    text = text.replace("Sexo", "Género")
    _mapping(project, "latin-org", text)
    header = [("Género" if h == "Sexo" else h) for h in PT_HEADER]
    _write_csv(project / "utf8.csv", header, PT_ROWS)
    result = run_ctdc(project, "validate", "--org", "latin-org", "utf8.csv")
    assert result.exit_code == 1
    assert "column 'Género' was read as 'GÃ©nero': the file looks UTF-8, not latin-1" in (
        result.stderr)  # fmt: skip
    assert "fix: set `source.encoding: utf-8`" in result.stderr


XLSX_MAPPING = PT_MAPPING.replace(
    'source: {format: csv, encoding: utf-8, delimiter: ","}', "source: {format: xlsx}"
)


def _workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    summary = wb.active
    summary.title = "Resumo"
    summary.append(["Total", "5"])
    summary.append(["Abertos", "2"])
    cases = wb.create_sheet("Casos")
    for row in [PT_HEADER, *PT_ROWS]:
        cases.append(row)
    wb.save(path)
    return path


def test_the_first_sheet_read_names_the_sheets_and_the_one_with_the_columns(
    project: Path,
) -> None:
    _mapping(project, "xl-org", XLSX_MAPPING)
    _workbook(project / "casos.xlsx")
    result = run_ctdc(project, "validate", "--org", "xl-org", "casos.xlsx", "--json")
    assert result.exit_code == 1
    error = _json_error(result)
    assert error["slug"] == "missing-column" and error["file"] == "casos.xlsx"
    assert ("read sheet 'Resumo' (the first: `source.sheet` is not set), header row 1; "
            "the workbook's sheets: 'Resumo', 'Casos'; sheet 'Casos' has these columns"
            ) in error["message"]  # fmt: skip
    assert error["fix"] == f'set `source.sheet: "Casos"` in {project / "pipelines" / "xl-org.yaml"}'


def test_a_pinned_sheet_without_the_columns_names_what_was_read(project: Path) -> None:
    _mapping(project, "xl-org", PT_MAPPING.replace(
        'source: {format: csv, encoding: utf-8, delimiter: ","}',
        "source: {format: xlsx, sheet: Casos, header_row: 2}"))  # fmt: skip
    _workbook(project / "casos.xlsx")
    result = run_ctdc(project, "validate", "--org", "xl-org", "casos.xlsx")
    assert result.exit_code == 1
    assert "error[missing-column]: casos.xlsx, column " in result.stderr
    assert (
        "read sheet 'Casos', header row 2; the workbook's sheets: 'Resumo', 'Casos' — "
        "fix: set `source.sheet` to the sheet that holds the cases (and `source.header_row` "
        "to its header's row)"
    ) in result.stderr


def test_a_first_sheet_with_no_records_names_the_sheets(project: Path) -> None:
    """A summary sheet of one line first: the export read as empty, and the sheets say why."""
    _mapping(project, "xl-org", XLSX_MAPPING)
    path = _workbook(project / "casos.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Resumo"].delete_rows(2)
    wb.save(path)
    result = run_ctdc(project, "validate", "--org", "xl-org", "casos.xlsx")
    assert result.exit_code == 1
    assert _error_line(result).startswith(
        "error[empty-file]: casos.xlsx: the file has a header but no data rows; read sheet "
        "'Resumo' (the first: `source.sheet` is not set), header row 1; the workbook's sheets: "
        "'Resumo', 'Casos' — fix: set `source.sheet` to the sheet that holds the cases"
    )


def test_a_missing_column_that_is_really_missing_keeps_the_plain_message(project: Path) -> None:
    header = [("Genero" if h == "Sexo" else h) for h in PT_HEADER]
    _write_csv(project / "renamed.csv", header, PT_ROWS)
    result = run_ctdc(project, "validate", "--org", "pt-org", "renamed.csv")
    assert result.exit_code == 1
    assert (
        "error[missing-column]: renamed.csv, column 'Sexo': the file has no column 'Sexo'; "
        "also not named in the mapping: 'Genero' — fix: export the column, or correct its "
        "name in pipelines/<org>.yaml"
    ) in result.stderr


# --- 4. a directory given as the export --------------------------------------------------------


@pytest.mark.parametrize("command", ["ingest", "validate"])
def test_a_directory_is_not_an_export_file(project: Path, command: str) -> None:
    (project / "exports").mkdir()
    result = run_ctdc(project, command, "--org", "pt-org", "exports")
    assert result.exit_code == 3
    assert _error_line(result).startswith(
        "error[not-a-file]: exports: is a directory: give one export file — fix: give one "
        "export file"
    )
    assert "file-not-found" not in result.stderr


def test_a_missing_file_is_still_file_not_found(project: Path) -> None:
    result = run_ctdc(project, "validate", "--org", "pt-org", "nowhere.csv")
    assert result.exit_code == 3
    assert _error_line(result).startswith("error[file-not-found]: nowhere.csv: no such file")


# --- 5. JSON errors read as sentences --------------------------------------------------------

NDJSON_MAPPING = """\
org: nd-org
data_source: Hotline
source: {format: ndjson, encoding: utf-8}
case_id: id
fields:
  year_of_registration: {column: date, date_format: "%Y-%m-%d"}
  gender: {column: sex, values: {f: Female, m: Male}}
"""


def _ndjson_line(i: int, note: str = "") -> str:
    return json.dumps({"id": f"{i:03}", "date": "2021-03-01", "sex": "f"}) + note


def test_a_broken_ndjson_line_says_line_and_character(project: Path) -> None:
    _mapping(project, "nd-org", NDJSON_MAPPING)
    lines = [_ndjson_line(i) for i in range(1, 21)]
    lines[11] = '{"id": "012", "date": "2021-03-01", "sex": "f", "note": "cut o'  # line 12
    (project / "cases.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_ctdc(project, "validate", "--org", "nd-org", "cases.ndjson", "--json")
    assert result.exit_code == 0, result.stderr
    [summary] = json.loads(result.stdout)
    [example] = summary["examples"]
    assert (example["row"], example["reason"]) == (12, "bad-json-line")
    at = lines[11].index('"cut') + 1
    assert example["expected"] == (
        f"one JSON object per line; line 12: unterminated string starting at character {at}"
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"id": "002" "date": "2021-03-01"}', "line 2: expecting ',' delimiter at character 14"),
        ("[1, 2]", "line 2: a JSON array, not an object"),
        ('{"id": }', "line 2: expecting value at character 8"),
    ],
)
def test_other_json_problems_read_cleanly(project: Path, line: str, problem: str) -> None:
    _mapping(project, "nd-org", NDJSON_MAPPING)
    text = "\n".join([_ndjson_line(1), line, _ndjson_line(3)]) + "\n"
    (project / "cases.ndjson").write_text(text, encoding="utf-8")
    result = run_ctdc(project, "validate", "--org", "nd-org", "cases.ndjson", "--json",
                      "--max-reject-rate", "1")  # fmt: skip
    [summary] = json.loads(result.stdout)
    assert summary["examples"][0]["expected"] == f"one JSON object per line; {problem}"


def test_a_broken_record_of_a_json_array_says_where(project: Path) -> None:
    _mapping(project, "js-org", NDJSON_MAPPING.replace("format: ndjson", "format: json"))
    text = '[{"id": "001", "date": "2021-03-01"},\n {"id": "002" "date": "2021-03-01"}]'
    (project / "cases.json").write_text(text, encoding="utf-8")
    result = run_ctdc(project, "validate", "--org", "js-org", "cases.json")
    assert result.exit_code == 1
    assert _error_line(result).startswith(
        "error[unreadable-file]: cases.json, row 2: invalid JSON in record 2: expecting ',' "
        "delimiter at character 14 of the record — fix: "
    )


# --- 6. --json writes a JSON object on stdout, errors included ------------------------------


@pytest.mark.parametrize("command", ["ingest", "validate"])
def test_json_errors_are_a_json_object_on_stdout(project: Path, command: str) -> None:
    result = run_ctdc(project, command, "--org", "no-such-org", "export.csv", "--json")
    assert result.exit_code == 2
    error = _json_error(result)
    assert error["slug"] == "unknown-org"
    assert error["fix"].startswith("write pipelines/<org>.yaml")
    assert json.loads(result.stdout)["results"] == []


@pytest.mark.parametrize("command", ["ingest", "validate"])
def test_json_error_after_a_good_file_reports_that_file_too(project: Path, command: str) -> None:
    _write_csv(project / "semi.csv", PT_HEADER, PT_ROWS, sep=";")
    result = run_ctdc(project, command, "--org", "pt-org", "export.csv", "semi.csv", "--json",
                      "--max-reject-rate", "1")  # fmt: skip
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["error"]["slug"] == "missing-column" and doc["error"]["file"] == "semi.csv"
    assert doc["error"]["row"] is None and doc["error"]["column"] == "Data de nascimento"
    [done] = doc["results"]  # export.csv was ingested (or checked) before semi.csv failed
    assert done["file"] == "export.csv" and done["rows_read"] == len(PT_ROWS)


def test_json_run_level_error_from_the_reader_carries_the_row(project: Path) -> None:
    (project / "quote.csv").write_text(
        ",".join(PT_HEADER) + '\n001,Ana,10/05/1990,15/03/2020,"F\n002,B,x,y,z\n', encoding="utf-8"
    )
    result = run_ctdc(project, "ingest", "--org", "pt-org", "quote.csv", "--json")
    assert result.exit_code == 1
    error = _json_error(result)
    assert (error["slug"], error["file"], error["row"], error["column"]) == (
        "unterminated-quote", "quote.csv", 2, "Sexo")  # fmt: skip


def test_without_json_stdout_stays_empty_on_error(project: Path) -> None:
    result = run_ctdc(project, "ingest", "--org", "no-such-org", "export.csv")
    assert result.exit_code == 2 and result.stdout == ""
    assert _error_line(result).startswith("error[unknown-org]: ")


# --- 7. an unparseable row is kept whole in the quarantine ------------------------------------


def _quarantine(project: Path, org: str) -> pd.DataFrame:
    [path] = (project / "ctdc-data" / "quarantine" / org).glob("*.parquet")
    return pd.read_parquet(path)


def test_a_5000_character_bad_row_is_kept_whole(project: Path) -> None:
    long_row = ["006", "Fia " + "x" * 4_900, "10/05/1980", "01/02/2021", "F", "extra"]
    rows = [*PT_ROWS[:1], long_row, *PT_ROWS[4:]]
    _write_csv(project / "wide.csv", PT_HEADER, rows)
    line = ",".join(long_row)
    assert len(line) > 4_900
    result = run_ctdc(project, "ingest", "--org", "pt-org", "wide.csv", "--json",
                      "--max-reject-rate", "1")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    [summary] = json.loads(result.stdout)
    # the summary still only describes it
    [example] = summary["examples"]
    assert example["reason"] == "bad-field-count" and example["value"] is None
    assert "x" * 10 not in result.stdout + result.stderr
    hit = _quarantine(project, "pt-org").query("reason == 'bad-field-count'")
    assert hit["value"].tolist() == [line]


def test_a_5000_character_broken_ndjson_line_is_kept_whole(project: Path) -> None:
    _mapping(project, "nd-org", NDJSON_MAPPING)
    broken = '{"id": "002", "date": "2021-03-01", "note": "' + "y" * 5_000
    text = "\n".join([_ndjson_line(1), broken, _ndjson_line(3)]) + "\n"
    (project / "cases.ndjson").write_text(text, encoding="utf-8")
    result = run_ctdc(project, "ingest", "--org", "nd-org", "cases.ndjson",
                      "--max-reject-rate", "1")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    hit = _quarantine(project, "nd-org").query("reason == 'bad-json-line'")
    assert hit["value"].tolist() == [broken]


def test_a_bad_row_over_the_cell_limit_is_cut_with_its_length(project: Path) -> None:
    long_row = ["006", "z" * (MAX_CELL_CHARS + 500), "10/05/1980", "01/02/2021", "F", "extra"]
    _write_csv(project / "huge.csv", PT_HEADER, [*PT_ROWS[:1], long_row])
    line = ",".join(long_row)
    result = run_ctdc(project, "ingest", "--org", "pt-org", "huge.csv", "--max-reject-rate", "1")
    assert result.exit_code == 0, result.stderr
    q = _quarantine(project, "pt-org")
    [value] = q.query("reason == 'bad-field-count'")["value"].tolist()
    assert value == f"{line[:MAX_CELL_CHARS]}… ({len(line):,} characters)"
