"""Readers: every format comes back as text, with the row numbers a person would look up."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctdc.errors import CtdcError
from ctdc.formats.options import CsvOptions, JsonOptions, ParquetOptions, XlsxOptions
from ctdc.formats.read import read_export


def test_csv_keeps_text_as_text(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('id,country,n\n00123,NA,1\n"00124","",2\n', encoding="utf-8")
    raw = read_export(path, CsvOptions())
    assert raw.frame["id"].tolist() == ["00123", "00124"]
    assert raw.frame["country"].tolist() == ["NA", ""]
    assert raw.rows.tolist() == [2, 3]


def test_tsv_and_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "a.tsv"
    path.write_bytes("\ufeffid\tname\n1\tJosé\n".encode())
    raw = read_export(path, CsvOptions(encoding="utf-8-sig", delimiter="\t", name="tsv"))
    assert list(raw.frame.columns) == ["id", "name"] and raw.frame["name"][0] == "José"


def test_csv_duplicate_header_names_the_column(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("id,name,name\n1,a,b\n")
    with pytest.raises(CtdcError) as err:
        read_export(path, CsvOptions())
    assert err.value.slug == "duplicate-column" and err.value.column == "name"


def test_header_only_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("id,name\n")
    with pytest.raises(CtdcError) as err:
        read_export(path, CsvOptions())
    assert err.value.slug == "empty-file"


def test_xlsx_dates_numbers_and_header_row(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Cases"
    ws.append(["Export of 2024"])  # a title row above the header
    ws.append(["id", "born", "age", "flag", "formula"])
    ws.append(["00123", dt.datetime(1990, 5, 17), 33.0, True, "=1+1"])
    ws.append([None, None, None, None, None])  # an empty row is not a record
    ws.append(["7", dt.date(2001, 1, 2), 12, False, None])
    wb.save(path)
    raw = read_export(path, XlsxOptions(sheet="Cases", header_row=2))
    assert raw.frame["born"].tolist() == ["1990-05-17", "2001-01-02"]
    assert raw.frame["age"].tolist() == ["33", "12"]
    assert raw.frame["flag"].tolist() == ["true", "false"]
    assert raw.frame["id"].tolist() == ["00123", "7"]
    # never evaluated: openpyxl saves no value with a formula, so the row is quarantined
    assert raw.frame["formula"].tolist() == ["", ""]
    assert raw.rows.tolist() == [3, 5]
    [err] = raw.errors.itertuples()
    assert (err.pos, err.column, err.reason, err.value) == (
        0,
        "formula",
        "uncached-formula",
        "=1+1",
    )


def _with_cached_values(path: Path, cached: dict[str, str]) -> None:
    """Write a computed value into formula cells, as Excel does when it saves."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, value in cached.items():
        xml, n = re.subn(rf'(<c r="{ref}"[^>]*>\s*<f>[^<]*</f>)\s*(<v\s*/>|<v>\s*</v>)?',
                         rf"\1<v>{value}</v>", xml)  # fmt: skip
        assert n == 1, ref
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def test_xlsx_formulas_read_as_their_saved_values(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "age", "band"])
    ws.append(["1", "=20+3", "adult"])
    ws.append(["2", "=A3*10", None])
    ws.append([None, None, '=IF(B4>17,"adult","minor")'])  # a row of formulas only
    wb.save(path)
    _with_cached_values(path, {"B2": "23", "B3": "20"})
    raw = read_export(path, XlsxOptions())
    assert raw.frame["age"].tolist() == ["23", "20", ""]
    assert raw.rows.tolist() == [2, 3, 4]  # the formulas-only row is a record, not skipped
    [err] = raw.errors.itertuples()
    assert (err.pos, err.column, err.reason) == (2, "band", "uncached-formula")
    assert err.value == '=IF(B4>17,"adult","minor")'


def test_xlsx_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["id"])
    wb.save(path)
    with pytest.raises(CtdcError) as err:
        read_export(path, XlsxOptions(sheet="Casos"))
    assert "Sheet" in err.value.message()


def test_json_lists_booleans_and_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"id": "1", "moc": ["Debt", "Threats"], "ok": True, "age": 30.0},
                                {"id": "2", "age": None}]))  # fmt: skip
    raw = read_export(path, JsonOptions())
    assert raw.frame.to_dict("records") == [
        {"id": "1", "moc": "Debt;Threats", "ok": "true", "age": "30"},
        {"id": "2", "moc": "", "ok": "", "age": ""},
    ]
    assert raw.rows.tolist() == [1, 2]


def test_json_array_streams_through_a_small_buffer(tmp_path: Path, monkeypatch) -> None:
    """Records, strings and numbers cut by the read buffer at every offset come out whole,
    exactly as ``json.loads`` reads them, and the reader never holds the document."""
    from ctdc import limits
    from ctdc.formats import json as json_reader

    records = [{"id": f"c{i}", "n": 12345678901234567890 + i, "x": 1.5e-7, "name": "Ñandú \u2028"}
               for i in range(300)]  # fmt: skip
    path = tmp_path / "big.json"
    path.write_text(" [ " + " ,\n".join(json.dumps(r) for r in records) + " ]\n", "utf-8")
    monkeypatch.setattr(json_reader, "READ_CHARS", 7)
    monkeypatch.setattr(limits, "CHUNK_ROWS", 64)  # records cut across chunks too
    monkeypatch.setattr(json_reader.json, "loads", None)  # no whole-document parse
    raw = read_export(path, JsonOptions())
    assert raw.rows.tolist() == list(range(1, 301))
    assert raw.frame["id"].tolist() == [r["id"] for r in records]
    assert raw.frame["n"].tolist() == [str(r["n"]) for r in records]
    assert set(raw.frame["name"]) == {"Ñandú \u2028"} and set(raw.frame["x"]) == {"1.5e-07"}


@pytest.mark.parametrize(
    ("text", "row", "needle"),
    [
        ('[{"id": "1"}, {"id": "2"', 2, "the file ends inside record 2"),
        ('[{"id": "1"}', None, "ends inside the array"),
        ('[{"id": "1"} {"id": "2"}]', 1, "expected ',' or ']' after record 1"),
        ('[{"id": "1"}, 7]', None, "record 2 is a int"),
        ('[{"id": "1"}] [{"id": "2"}]', None, "extra data after the array"),
        ('{"id": "1"}', None, "expected a JSON array of objects"),
        ('[{"id": "1"}, {"id": "2",}]', 2, "invalid JSON in record 2"),
    ],
)
def test_broken_json_array_names_the_record(
    tmp_path: Path, text: str, row: int | None, needle: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(CtdcError) as err:
        read_export(path, JsonOptions())
    assert err.value.slug == "unreadable-file" and needle in err.value.detail
    assert err.value.row == row


def test_json_record_over_the_limit_is_refused(tmp_path: Path, monkeypatch) -> None:
    from ctdc.formats import json as json_reader

    monkeypatch.setattr(json_reader, "READ_CHARS", 16)
    monkeypatch.setattr(json_reader, "MAX_RECORD_CHARS", 100)
    path = tmp_path / "wide.json"
    path.write_text('[{"id": "1"}, {"notes": "' + "x" * 500 + '"}]')
    with pytest.raises(CtdcError) as err:
        read_export(path, JsonOptions())
    assert err.value.row == 2 and "over 100 characters" in err.value.detail


def test_empty_json_array_is_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text(" [ ] ")
    with pytest.raises(CtdcError) as err:
        read_export(path, JsonOptions())
    assert err.value.slug == "empty-file" and "an empty array" in err.value.detail


def test_ndjson_broken_line_is_a_row_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.ndjson"
    path.write_text('{"id": "1"}\n\n{"id": 2\n')
    raw = read_export(path, JsonOptions(lines=True))
    assert raw.rows.tolist() == [1, 3] and raw.frame["id"].tolist() == ["1", ""]
    [err] = raw.errors.itertuples()
    assert (err.pos, err.reason, err.value) == (1, "bad-json-line", '{"id": 2')


def test_ndjson_with_no_object_at_all_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "a.ndjson"
    path.write_text("id,name\n1,a\n")
    with pytest.raises(CtdcError) as err:
        read_export(path, JsonOptions(lines=True))
    assert err.value.slug == "unreadable-file" and err.value.row == 1


def test_parquet_values_become_text(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"id": [1, 2], "c": ["NA", None]}), path)
    raw = read_export(path, ParquetOptions())
    assert raw.frame["id"].tolist() == ["1", "2"] and raw.frame["c"].tolist() == ["NA", ""]


def test_binary_file_named_csv_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CtdcError) as err:
        read_export(path, CsvOptions())
    assert err.value.slug in {"unreadable-file", "empty-file"}


_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    records=st.lists(
        st.dictionaries(st.sampled_from(["id", "name", "n", "x", "ü"]), _SCALAR, max_size=5),
        min_size=1,
        max_size=12,
    ).filter(any),  # some key somewhere: an array of empty objects has no columns
    space=st.sampled_from(["", " ", "\n", " \r\n\t"]),
    read_chars=st.integers(min_value=1, max_value=40),
)
@pytest.mark.slow
def test_a_streamed_json_array_reads_as_json_loads_would(
    tmp_path_factory: pytest.TempPathFactory, records: list, space: str, read_chars: int
) -> None:
    """Whatever the whitespace and wherever the buffer cuts, each record is what
    ``json.loads`` makes of the whole document, cell by cell."""
    from ctdc.formats import json as json_reader
    from ctdc.formats.values import cell_text

    path = tmp_path_factory.mktemp("json") / "a.json"
    body = f",{space}".join(json.dumps(r, ensure_ascii=False) for r in records)
    path.write_text(f"{space}[{space}{body}{space}]{space}", encoding="utf-8")
    json_reader.READ_CHARS, saved = read_chars, json_reader.READ_CHARS
    try:
        raw = read_export(path, JsonOptions())
    finally:
        json_reader.READ_CHARS = saved
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert raw.rows.tolist() == list(range(1, len(records) + 1))
    for name in raw.frame.columns:
        assert raw.frame[name].tolist() == [cell_text(r.get(name)) for r in expected], name


@pytest.mark.parametrize(
    ("rows", "names"),
    [
        ([("id", "sex", None, None)], ["id", "sex"]),  # trailing empty columns dropped
        ([("id", None, "sex")], ["id", "", "sex"]),  # an empty name in between stays empty
        (  # group labels merged across columns, one label merged down
            [("Case", None, "Victim", None, None), (None, "date", "sex", "age", "country")],
            ["Case", "Case / date", "Victim / sex", "Victim / age", "Victim / country"],
        ),
        ([("ID", "Victim", None), ("ID", "sex", "age")], ["ID", "Victim / sex", "Victim / age"]),
    ],
)
def test_header_names_from_merged_header_rows(rows: list[tuple], names: list[str]) -> None:
    from ctdc.formats.xlsx import header_names

    assert header_names(rows) == names


def test_xlsx_header_over_two_rows_with_merged_cells(tmp_path: Path) -> None:
    path = tmp_path / "merged.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Case management export"])  # a title above the header
    ws.append(["Case", None, "Victim", None])
    ws.append(["id", "date", "sex", "date"])  # "date" twice: only the group tells them apart
    ws.append(["1", "2021-03-01", "F", "1990-01-01"])
    ws.merge_cells("A2:B2")
    ws.merge_cells("C2:D2")
    wb.save(path)
    raw = read_export(path, XlsxOptions(header_row=2, header_rows=2))
    assert raw.frame.columns.tolist() == [
        "Case / id",
        "Case / date",
        "Victim / sex",
        "Victim / date",
    ]
    assert raw.frame.iloc[0].tolist() == ["1", "2021-03-01", "F", "1990-01-01"]
    assert raw.rows.tolist() == [4]
    with pytest.raises(CtdcError) as err:  # one header row: "date" twice
        read_export(path, XlsxOptions(header_row=3))
    assert err.value.slug == "duplicate-column" and err.value.row == 3
