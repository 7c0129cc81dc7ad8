"""Hostile input: one test per case, each on its own file in tests/data/bad/.

Each case runs through the real CLI (in-process; the ``run_ctdc`` helper fails
on any traceback) and checks the slug, the message (file, row, column, fix)
and the exit code; row-level cases also check the quarantine and that the
accounting balances both when the file is rejected (every row quarantined)
and when it is accepted (the bad row quarantined, the rest staged).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_ctdc
from ctdc.errors import CATALOGUE, CtdcError
from ctdc.formats.archive import check_archive
from ctdc.formats.options import CsvOptions, JsonOptions
from ctdc.formats.read import read_export
from ctdc.ingest import ingest_file
from ctdc.limits import MAX_CELL_CHARS
from ctdc.mapping import check_org_name, load_mapping
from ctdc.schema import Schema
from ctdc.store.ledger import read_entries
from ctdc.store.workspace import Workspace, init_workspace

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
_spec = importlib.util.spec_from_file_location("make_bad", BAD / "make_bad.py")
assert _spec is not None and _spec.loader is not None
make_bad = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_bad)


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working directory with the bad-* mappings and an initialized workspace."""
    shutil.copytree(BAD / "pipelines", tmp_path / "pipelines")
    init_workspace(tmp_path / "ctdc-data")  # in-process: `ctdc init` has its own tests
    return tmp_path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The large and crafted files (1 MB field, zip bombs, odd workbooks), written once."""
    return make_bad.write_generated(tmp_path_factory.mktemp("generated"))


def _org_files(project: Path, org: str) -> list[Path]:
    data = project / "ctdc-data"
    return [p for sub in ("staging", "quarantine", "ledger") for p in (data / sub / org).glob("*")]


def whole_file_error(
    project: Path, org: str, path: Path, slug: str, code: int, *needles: str
) -> str:
    """Ingest ``path``; expect one error line with ``slug``, the file, ``needles`` and the fix."""
    result = run_ctdc(project, "ingest", "--org", org, str(path), "--json")
    assert result.exit_code == code, result.stderr
    # --json: the error as a JSON object, and no summary: the file was refused whole
    doc = json.loads(result.stdout)
    assert doc["results"] == [] and doc["error"]["slug"] == slug
    assert doc["error"]["exit_code"] == code and doc["error"]["file"] == str(path)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error[")]
    assert len(lines) == 1, result.stderr
    [line] = lines
    assert line.startswith(f"error[{slug}]: {path}"), line
    for needle in needles:
        assert needle in line, line
    assert " — fix: " in line
    # accounting of a file refused whole: nothing of it entered the workspace (0 = 0 + 0)
    assert _org_files(project, org) == []
    return line


def row_level_error(
    project: Path,
    org: str,
    path: Path,
    slug: str,
    row: int,
    column: str | None,
    value: str | None = None,
) -> dict:
    """Ingest ``path`` (1 bad row of a few: rejected); check summary, message and quarantine.

    ``value`` is what the quarantine keeps for the offending cell; the summary
    must not carry it (none of these is a vocabulary code), only a hint.
    """
    result = run_ctdc(project, "ingest", "--org", org, str(path), "--json")
    assert result.exit_code == 1, result.stderr
    assert f"error[reject-rate-exceeded]: {path.name}: 1 of " in result.stderr
    assert "nothing staged" in result.stderr
    [summary] = json.loads(result.stdout)
    assert summary["status"] == "rejected" and summary["invalid"] == 1
    # a rejected file quarantines every row: read = staged (0) + quarantined
    assert summary["staged"] == 0 and summary["quarantined"] == summary["rows_read"]
    assert summary["balanced"] is True
    assert summary["quarantined_by_reason"][slug] == 1
    assert summary["quarantined_by_reason"]["batch-rejected"] == summary["rows_read"] - 1
    [example] = summary["examples"]
    assert (example["file"], example["row"], example["reason"]) == (path.name, row, slug)
    assert example["column"] == column and example["fix"] == CATALOGUE[slug].fix
    assert example["value"] is None and example["value_hint"]
    q = pd.read_parquet(
        project / "ctdc-data" / "quarantine" / org / f"{summary['batch_id']}.parquet"
    )
    assert q["source_row"].nunique() == summary["rows_read"]
    hit = q[q.reason == slug]
    assert hit["source_row"].tolist() == [row] and hit["column"].tolist() == [column or ""]
    if value is not None:
        assert hit["value"].tolist() == [value]
        assert all(value not in str(v) for v in example.values())
        assert value not in result.stderr
    assert not (project / "ctdc-data" / "staging" / org).exists()
    assert read_entries(Workspace(project / "ctdc-data")) == []
    return summary


def accepted_row_by_row(
    workspace: Workspace, schema: Schema, org: str, path: Path, slug: str, row: int
) -> None:
    """With no reject threshold the same file stages its good rows; the ledger balances."""
    mapping = load_mapping(BAD / "pipelines" / f"{org}.yaml", schema)
    result = ingest_file(workspace, schema, mapping, path, key=workspace.load_key())
    assert result.status == "ingested" and result.balanced
    assert result.quarantined == 1 and result.staged == result.rows_read - 1
    assert result.quarantined_by_reason == {slug: 1}
    [entry] = read_entries(workspace)
    assert entry.balanced and entry.rows_read == result.rows_read
    q = pd.read_parquet(workspace.quarantine_dir(org) / f"{result.batch_id}.parquet")
    assert q["source_row"].tolist() == [row]


# --- organization ids --------------------------------------------------------------------------

ORG_NAMES = (BAD / "org-names.txt").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("org", ["../etc", "hôtline"])
def test_path_like_or_non_ascii_org_name_exits_2(project: Path, org: str) -> None:
    result = run_ctdc(project, "ingest", "--org", org, str(BAD / "good.csv"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error[bad-org-name]: {org!r} is not a valid organization id")
    assert CATALOGUE["bad-org-name"].fix in result.stderr
    assert not list((project / "ctdc-data" / "staging").iterdir())


@pytest.mark.parametrize("org", ORG_NAMES)
def test_every_hostile_org_name_is_refused(org: str) -> None:
    with pytest.raises(CtdcError) as err:
        check_org_name(org)
    assert err.value.slug == "bad-org-name" and err.value.exit_code == 2


# --- files refused whole -----------------------------------------------------------------------


def test_empty_file(project: Path) -> None:
    whole_file_error(project, "bad-csv", BAD / "empty.csv", "empty-file", 1, "the file is empty")


def test_header_only_file(project: Path) -> None:
    whole_file_error(
        project,
        "bad-csv",
        BAD / "header-only.csv",
        "empty-file",
        1,
        "has a header but no data rows",
    )


def test_binary_file_named_csv(project: Path) -> None:
    whole_file_error(
        project,
        "bad-csv",
        BAD / "binary.csv",
        "binary-file",
        1,
        "this is a PNG image, not csv text",
        "pin the file's real `source.format`",
    )


def test_unterminated_quote_names_the_row_and_column_where_it_opens(project: Path) -> None:
    whole_file_error(
        project,
        "bad-csv",
        BAD / "unterminated-quote.csv",
        "unterminated-quote",
        1,
        "row 3, column 'notes'",
        "never closes",
        'written twice ("")',
    )


def test_duplicate_column_names(project: Path) -> None:
    whole_file_error(
        project,
        "bad-csv",
        BAD / "duplicate-columns.csv",
        "duplicate-column",
        1,
        "row 1, column 'gender'",
        "appears twice",
        "rename one of them",
    )


def test_json_with_duplicate_keys(project: Path) -> None:
    whole_file_error(
        project,
        "bad-json",
        BAD / "duplicate-keys.json",
        "duplicate-column",
        1,
        "row 2, column 'sex'",
        "key 'sex' appears twice in one object",
    )


@pytest.mark.slow
def test_xlsx_zip_bomb_is_refused_before_inflating(project: Path, generated) -> None:
    whole_file_error(
        project,
        "bad-xlsx",
        generated["bomb.xlsx"],
        "archive-too-large",
        1,
        "'xl/worksheets/sheet1.xml' would unpack 1,0",
        "times its size",
    )


def test_xlsx_with_lying_zip_headers_fails_the_crc_not_the_memory(project: Path, generated):
    whole_file_error(
        project, "bad-xlsx", generated["lying-sizes.xlsx"], "unreadable-file", 1, "Bad CRC-32"
    )


def test_xlsx_row_past_excels_last_row(project: Path, generated) -> None:
    whole_file_error(
        project,
        "bad-xlsx",
        generated["far-row.xlsx"],
        "archive-too-large",
        1,
        "row 1048577",
        "beyond Excel's 1,048,576",
    )


# --- rows set aside one by one ------------------------------------------------------------------


def test_row_with_too_many_fields(project, workspace, schema) -> None:
    path = BAD / "too-many-fields.csv"
    summary = row_level_error(
        project,
        "bad-csv",
        path,
        "bad-field-count",
        3,
        None,
        "002,Bo,2021-04-02,M,NA,lives in Lima, Peru",
    )
    assert summary["examples"][0]["expected"] == "6 fields like the header, found 7"
    accepted_row_by_row(workspace, schema, "bad-csv", path, "bad-field-count", 3)


def test_row_with_too_few_fields_names_the_first_missing_column(project, workspace, schema):
    path = BAD / "too-few-fields.csv"
    summary = row_level_error(project, "bad-csv", path, "bad-field-count", 3, "country")
    assert summary["examples"][0]["expected"] == "6 fields like the header, found 4"
    accepted_row_by_row(workspace, schema, "bad-csv", path, "bad-field-count", 3)


def test_nul_character(project, workspace, schema) -> None:
    path = BAD / "nul.csv"
    row_level_error(project, "bad-csv", path, "control-character", 3, "name", "Bo\\x00")
    accepted_row_by_row(workspace, schema, "bad-csv", path, "control-character", 3)


def test_control_characters(project, workspace, schema) -> None:
    path = BAD / "control-chars.csv"
    row_level_error(project, "bad-csv", path, "control-character", 3, "notes", "ring\\x07\\x1b[2J")
    accepted_row_by_row(workspace, schema, "bad-csv", path, "control-character", 3)


def test_one_megabyte_field(project, workspace, schema, generated) -> None:
    path = generated["big-field.csv"]
    summary = row_level_error(project, "bad-csv", path, "value-too-long", 3, "notes")
    example = summary["examples"][0]
    # the summary describes the megabyte: its length and kinds of characters, no character of it
    assert example["value_hint"].startswith(f"not shown: {make_bad.BIG_FIELD_CHARS:,} chars: ")
    q = pd.read_parquet(next((project / "ctdc-data" / "quarantine" / "bad-csv").glob("*")))
    raw = json.loads(q[q.reason == "value-too-long"].iloc[0].raw)
    assert len(raw["notes"]) < MAX_CELL_CHARS + 100  # the quarantine keeps a cut copy too
    accepted_row_by_row(workspace, schema, "bad-csv", path, "value-too-long", 3)


def test_broken_ndjson_line(project, workspace, schema) -> None:
    path = BAD / "broken-line.ndjson"
    summary = row_level_error(
        project,
        "bad-ndjson",
        path,
        "bad-json-line",
        3,
        None,
        '{"case_ref": "A3", "registration_date": "2021-0',
    )
    assert summary["examples"][0]["expected"] == (
        "one JSON object per line; line 3: unterminated string starting at character 41"
    )
    accepted_row_by_row(workspace, schema, "bad-ndjson", path, "bad-json-line", 3)


def test_duplicate_case_ids_are_reported_with_the_first_row(project, workspace, schema) -> None:
    path = BAD / "duplicate-case-ids.csv"
    summary = row_level_error(project, "bad-csv", path, "duplicate-case-id", 5, "id", "002")
    assert summary["examples"][0]["expected"] == "each case id once per export (first at row 3)"
    accepted_row_by_row(workspace, schema, "bad-csv", path, "duplicate-case-id", 5)


# --- read correctly ------------------------------------------------------------------------------


def test_mixed_line_endings_are_read_correctly(project: Path) -> None:
    result = run_ctdc(project, "ingest", "--org", "bad-csv", str(BAD / "mixed-line-endings.csv"))
    assert result.exit_code == 0, result.stderr  # 1 bad row of 10 is within the 10% reject rate
    assert "mixed-line-endings.csv, row 9, column 'gender': unknown-value 'X'" in result.stdout
    assert "fix: " + CATALOGUE["unknown-value"].fix in result.stdout
    [entry] = read_entries(Workspace(project / "ctdc-data"))
    assert (entry.rows_read, entry.staged, entry.quarantined) == (10, 9, 1) and entry.balanced
    raw = read_export(BAD / "mixed-line-endings.csv", CsvOptions())
    assert raw.rows.tolist() == list(range(2, 12))
    assert raw.frame["id"].tolist() == [f"{i:03d}" for i in range(1, 11)]
    assert raw.frame["notes"][4] == "two\r\nlines"  # a line break inside quotes is kept as is
    assert not raw.frame["country"].str.contains("\r").any()


def test_xlsx_formula_without_a_saved_value_is_quarantined(
    project: Path, workspace: Workspace, schema: Schema, generated
) -> None:
    path = generated["uncached-formula.xlsx"]
    formula = '=IF(C3="male","NA","PE")'
    row_level_error(project, "bad-xlsx", path, "uncached-formula", 3, "nationality", formula)
    accepted_row_by_row(workspace, schema, "bad-xlsx", path, "uncached-formula", 3)


def test_xlsx_claiming_every_cell_is_read_by_its_real_cells(project: Path, generated) -> None:
    result = run_ctdc(
        project, "ingest", "--org", "bad-xlsx", str(generated["huge-dimension.xlsx"]), "--json"
    )
    assert result.exit_code == 0, result.stderr
    [summary] = json.loads(result.stdout)
    assert (summary["rows_read"], summary["staged"], summary["quarantined"]) == (2, 2, 0)


# --- library-level details -----------------------------------------------------------------------


def test_committed_files_match_the_generator(tmp_path: Path) -> None:
    make_bad.write_small(tmp_path)
    for name in make_bad.SMALL:
        assert (tmp_path / name).read_bytes() == (BAD / name).read_bytes(), name


def test_random_bytes_in_a_single_byte_encoding_are_binary(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(range(256)) * 16)
    with pytest.raises(CtdcError) as err:
        read_export(path, CsvOptions(encoding="latin-1"))
    assert err.value.slug == "binary-file" and "control characters" in err.value.detail


def test_utf16_file_pinned_as_utf8_says_where_and_how_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_text("id,name\n1,José\n", encoding="utf-16")
    with pytest.raises(CtdcError) as err:
        read_export(path, CsvOptions())
    assert err.value.slug == "unreadable-file"
    assert "byte 0xff at offset 0" in err.value.detail and "utf-16" in err.value.fix
    raw = read_export(path, CsvOptions(encoding="utf-16"))
    assert raw.frame["name"].tolist() == ["José"]


def test_utf8_read_as_latin1_is_called_utf8_not_binary(tmp_path: Path) -> None:
    path = tmp_path / "ar.csv"
    path.write_text("id,name\n" + "".join(f"{i},ناصر شمران\n" for i in range(50)), "utf-8")
    with pytest.raises(CtdcError) as err:
        read_export(path, CsvOptions(encoding="latin-1"))
    assert err.value.slug == "unreadable-file" and "this is UTF-8 text" in err.value.detail
    assert "encoding: utf-8" in err.value.fix


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_json_with_a_utf8_bom_reads(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"bom.{fmt}"
    body = '[{"id": "1"}]' if fmt == "json" else '{"id": "1"}\n'
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    assert read_export(path, JsonOptions(lines=fmt == "ndjson")).frame["id"].tolist() == ["1"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [("[" * 100_000 + "]" * 100_000, "RecursionError"), ('[{"n": ' + "9" * 5000 + "}]", "Value")],
)
def test_json_that_would_crash_the_parser(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(text)
    with pytest.raises(CtdcError) as err:
        read_export(path, JsonOptions())
    assert err.value.slug == "unreadable-file" and needle in err.value.detail


def test_archive_limits_are_checked_on_declared_sizes(generated) -> None:
    path = generated["huge-dimension.xlsx"]
    check_archive(path)  # a real workbook passes the defaults
    with pytest.raises(CtdcError, match="would unpack to"):
        check_archive(path, max_total=1000)
    with pytest.raises(CtdcError, match="parts, more than the limit"):
        check_archive(path, max_members=3)


def test_a_value_over_the_field_limit_stops_the_read(tmp_path: Path, monkeypatch) -> None:
    from ctdc.formats import csv as csv_reader

    monkeypatch.setattr(csv_reader, "MAX_FIELD_BYTES", 1000)
    path = tmp_path / "f.csv"
    path.write_text("id,notes\n1,ok,extra\n2," + "x" * 5000 + "\n3,ok\n")  # exact path
    with pytest.raises(CtdcError) as err:
        read_export(path, CsvOptions())
    assert err.value.slug == "value-too-long" and err.value.row == 3


def test_blank_lines_keep_row_numbers_on_both_csv_paths(tmp_path: Path) -> None:
    clean, forced = tmp_path / "clean.csv", tmp_path / "forced.csv"
    clean.write_text("id,n\n1,a\n\n2,b\n,\n3,c\n")
    # the extra field of row 7 sends the second file down the exact path
    forced.write_text("id,n\n1,a\n\n2,b\n,\n3,c\n4,d,extra\n")
    a = read_export(clean, CsvOptions())
    b = read_export(forced, CsvOptions())
    assert a.rows.tolist() == [2, 4, 6] and a.errors.empty
    assert b.rows.tolist() == [2, 4, 6, 7] and b.errors["reason"].tolist() == ["bad-field-count"]


def test_no_bad_file_crashes_any_reader(workspace: Workspace, schema: Schema, generated) -> None:
    """Every file of tests/data/bad/ under every bad-* mapping: a result or a catalogued error."""
    files = [p for p in BAD.iterdir() if p.is_file() and p.suffix != ".py"]
    files += [p for p in generated.values() if p.suffix == ".xlsx"]
    for mapping_file in sorted((BAD / "pipelines").glob("*.yaml")):
        mapping = load_mapping(mapping_file, schema)
        for path in files:
            try:
                result = ingest_file(
                    workspace, schema, mapping, path, key=workspace.load_key(), dry_run=True
                )
            except CtdcError as exc:
                assert exc.slug in CATALOGUE and exc.file is not None
            else:
                assert result.balanced, (mapping.org, path.name)


def test_ctdc_helper_rejects_tracebacks(tmp_path: Path) -> None:
    """The CLI tests above rely on this helper failing on a traceback."""
    with pytest.raises(AssertionError):
        run_ctdc(tmp_path, "--debug", "query", "SELECT 1", env={"CTDC_HOME": str(tmp_path / "x")})
