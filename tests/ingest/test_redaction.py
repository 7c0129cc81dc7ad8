"""Redacted output and hostile text: the attacks on what ctdc prints, performed.

An export carries a marker in every identifying value (name, phone, e-mail,
address, remarks, the case id), a row with one field too many, a too-long
value in a dropped and in an ignored column, a control character in a name
and an unknown gender code. ``ctdc ingest`` and ``ctdc validate``, as text and
as ``--json``, must print the marker nowhere (stdout or stderr), while the
quarantine keeps the raw rows and the officer still sees the vocabulary code
(``Varón``) needed to fix the mapping. Before the fix, the summary printed
the whole raw row of the ``bad-field-count`` row and the dropped column's value.

Then the characters a terminal obeys (ESC, C1 controls such as U+009B, bidi
overrides, DEL, U+0085, U+2028) are planted in file names, cells and sample
values: every command that shows them shows them escaped, the quarantine
export CSV escapes them (and still neutralizes formulas), and ``mapping init``
ends with a written mapping or one catalogued line, never a traceback (the
reported crash: a sample value with U+009B).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ctdc.cli import app
from ctdc.mapping import load_mapping
from ctdc.schema import Schema
from ctdc.text import describe, escape, escape_json

MARKER = "ZQXMARK"

MAPPING = """\
org: leak-org
data_source: Hotline
source: {format: csv, encoding: utf-8, delimiter: ","}
case_id: ID
drop: [Name, Phone, Email, Address, Remarks]
ignore: [Spare]
age: {column: Age}
fields:
  year_of_registration: {column: Date, date_format: "%Y-%m-%d"}
  gender: {column: Sex, values: {F: Female, M: Male}}
"""
HEADER = ["ID", "Name", "Phone", "Email", "Address", "Remarks", "Spare", "Age", "Date", "Sex"]

#: the characters a terminal or a spreadsheet would obey, and their visible forms
HOSTILE = {
    "\x1b": "\\x1b",  # ESC: starts a control sequence
    "\x9b": "\\x9b",  # C1 CSI: the one-byte ESC [
    "\x85": "\\x85",  # C1 NEL: a line break to YAML and some terminals
    "\u202e": "\\u202e",  # RIGHT-TO-LEFT OVERRIDE ("Trojan Source")
    "\u2066": "\\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\u200f": "\\u200f",  # RIGHT-TO-LEFT MARK
    "\u2028": "\\u2028",  # LINE SEPARATOR
    "\x7f": "\\x7f",  # DEL
}
#: the parts of HOSTILE that are not C0/DEL (which ingest quarantines as control-character)
NOT_C0 = {ch: shown for ch, shown in HOSTILE.items() if ord(ch) >= 0x80}

runner = CliRunner()


def _row(i: int, **values: str) -> list[str]:
    row = {
        "ID": f"C{i:03d}",
        "Name": f"Ana {MARKER} Perez",
        "Phone": f"+34 600 {MARKER}",
        "Email": f"ana.{MARKER}@example.org",
        "Address": f"Calle {MARKER} 1",
        "Remarks": f"told us {MARKER} about her uncle",
        "Spare": "x",
        "Age": "25",
        "Date": "2021-03-04",
        "Sex": "F",
    }
    row.update(values)
    return [row[h] for h in HEADER]


def leaky_export(path: Path, good_rows: int = 22) -> Path:
    """Every identifying cell holds MARKER; the bad rows come first (the summary shows 5)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    w.writerow(_row(1, ID=f"{MARKER}-1"))
    w.writerow([*_row(2), f"one field too many {MARKER}"])  # bad-field-count: the whole row
    w.writerow(_row(3, Remarks=f"{MARKER} " * 9000))  # value-too-long in a dropped column
    w.writerow(_row(4, Name=f"Ana\x00{MARKER}"))  # control-character in a dropped column
    w.writerow(_row(5, ID=f"{MARKER}-1"))  # duplicate-case-id: the case id is not shown
    w.writerow(_row(6, Sex="Varón"))  # unknown-value: a vocabulary code, shown
    w.writerow(_row(7, Spare=MARKER * 4000))  # value-too-long in an ignored column
    for i in range(8, 8 + good_rows):
        w.writerow(_row(i))
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@contextlib.contextmanager
def _in(folder: Path) -> Iterator[None]:
    """Run in ``folder`` (the CLI finds pipelines/ and ctdc-data/ there), without CTDC_HOME."""
    old = os.environ.pop("CTDC_HOME", None)
    try:
        with contextlib.chdir(folder):
            yield
    finally:
        if old is not None:
            os.environ["CTDC_HOME"] = old


def cli(folder: Path, *args: str) -> tuple[int, str, str]:
    """``ctdc ARGS`` in-process in ``folder``: (exit code, stdout, stderr); never a traceback."""
    with _in(folder):
        result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"ctdc {args} raised {result.exception!r}") from result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pipelines/leak-org.yaml, an initialized workspace and the leaky export."""
    root = tmp_path_factory.mktemp("leak")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "leak-org.yaml").write_text(MAPPING, encoding="utf-8")
    leaky_export(root / "export.csv")
    code, _, err = cli(root, "init", "--k-floor", "2")
    assert code == 0, err
    return root


# --- no raw row, no identifier value, anywhere in the output ----------------------------------


@pytest.mark.parametrize("command", ["validate", "ingest"])
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_ingest_and_validate_print_no_identifier_value(
    project: Path, command: str, as_json: bool
) -> None:
    # a copy per run with its own bytes: a second ingest of the same file would be a no-op
    name = f"{command}-{'json' if as_json else 'text'}.csv"
    leaky_export(project / name, good_rows=22 + 2 * as_json + (command == "ingest"))
    args = [command, "--org", "leak-org", name, "--max-reject-rate", "1"]
    code, out, err = cli(project, *args, *(["--json"] if as_json else []))
    assert code == 0, err
    assert MARKER not in out and MARKER not in err
    # the officer still learns where and what: row, column, problem, and a hint
    if as_json:
        [summary] = json.loads(out)
        examples = {e["row"]: e for e in summary["examples"]}
        assert examples[3]["reason"] == "bad-field-count" and examples[3]["value"] is None
        assert examples[4]["column"] == "Remarks" and examples[4]["value"] is None
        assert examples[4]["value_hint"] == "not shown: 72,000 chars: letters, spaces"
        assert examples[5]["value_hint"] == "not shown: 11 chars: letters, '\\x00'"
        assert examples[6]["reason"] == "duplicate-case-id" and examples[6]["value"] is None
        assert examples[7]["value"] == "Varón"  # a vocabulary code: what the fix needs
    else:
        assert f"{name}, row 3: bad-field-count (whole row not shown" in out
        assert f"{name}, row 4, column 'Remarks': value-too-long (not shown: 72,000 chars" in out
        assert f"{name}, row 7, column 'Sex': unknown-value 'Varón'" in out


def test_the_quarantine_keeps_the_raw_rows(project: Path) -> None:
    """What the summary leaves out is where the officer needs it: in the 0600 quarantine."""
    leaky_export(project / "kept.csv", good_rows=30)
    code, out, err = cli(project, "ingest", "--org", "leak-org", "kept.csv", "--json",
                         "--max-reject-rate", "1")  # fmt: skip
    assert code == 0, err
    batch = json.loads(out)[0]["batch_id"]
    path = project / "ctdc-data" / "quarantine" / "leak-org" / f"{batch}.parquet"
    assert (path.stat().st_mode & 0o777) == 0o600
    q = pd.read_parquet(path)
    raw = json.loads(q[q.reason == "bad-field-count"].iloc[0].raw)
    assert MARKER in raw["Name"] and MARKER in raw["Email"]


def test_rejected_file_and_its_message_name_no_value(project: Path) -> None:
    leaky_export(project / "rejected.csv", good_rows=3)
    code, out, err = cli(project, "ingest", "--org", "leak-org", "rejected.csv")
    assert code == 1
    assert "error[reject-rate-exceeded]: rejected.csv" in err
    assert MARKER not in out and MARKER not in err


def test_a_parse_error_quoting_a_cell_is_cut_out(project: Path, monkeypatch) -> None:
    """A library error that quotes a cell (here a damaged XLSX) loses the quoted text."""
    import openpyxl

    def choke(*_args: object, **_kwargs: object) -> None:
        raise ValueError(f"could not convert string to float: 'Ana {MARKER}'")

    monkeypatch.setattr(openpyxl, "load_workbook", choke)  # what openpyxl raises on such a file
    (project / "pipelines" / "xlsx-org.yaml").write_text(
        MAPPING.replace("leak-org", "xlsx-org").replace(
            '{format: csv, encoding: utf-8, delimiter: ","}', "{format: xlsx}"
        ),
        encoding="utf-8",
    )
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    wb.save(project / "damaged.xlsx")
    code, out, err = cli(project, "validate", "--org", "xlsx-org", "damaged.xlsx")
    assert code == 1 and "error[unreadable-file]" in err
    assert "could not convert string to float: '…'" in err
    assert MARKER not in out + err


def test_an_unexpected_failure_is_one_line_without_its_text(project: Path, monkeypatch) -> None:
    """internal-error: the exception's type, never its message (it may quote a value)."""
    from ctdc.ingest import stream

    def crash(*_args: object, **_kw: object) -> None:
        raise KeyError(f"Ana {MARKER}")

    monkeypatch.setattr(stream, "apply_mapping", crash)
    code, out, err = cli(project, "validate", "--org", "leak-org", "export.csv", "--quiet")
    assert code == 3
    assert err.startswith("error[internal-error]: unexpected KeyError")
    assert MARKER not in out + err
    with _in(project):  # --debug still gives the traceback to whoever debugs
        result = runner.invoke(app, ["--debug", "validate", "--org", "leak-org", "export.csv"])
    assert isinstance(result.exception, KeyError)


# --- characters a terminal obeys: escaped wherever they are shown -----------------------------


def _assert_escaped(text: str, chars: dict[str, str]) -> None:
    for ch, shown in chars.items():
        assert ch not in text, f"{shown} printed as itself"
        assert shown in text, f"{shown} not shown"


@pytest.mark.parametrize(("ch", "shown"), HOSTILE.items(), ids=lambda v: repr(v))
def test_file_name_in_an_error_line_is_escaped(project: Path, ch: str, shown: str) -> None:
    code, out, err = cli(project, "validate", "--org", "leak-org", f"missing{ch}[2J.csv")
    assert code == 3
    assert err.startswith(f"error[file-not-found]: missing{shown}[2J.csv: ")
    assert ch not in out + err


def test_file_name_in_tables_examples_and_progress_is_escaped(project: Path) -> None:
    """An export named with ESC, C1, bidi... : the summary table, example lines and progress."""
    name = "exp" + "".join(HOSTILE) + "[link=https:x]ort.csv"
    leaky_export(project / name)
    code, out, err = cli(project, "ingest", "--org", "leak-org", name, "--max-reject-rate", "1")
    assert code == 0, err
    _assert_escaped(out, HOSTILE)  # the table (wrapped: each escape whole) and the example lines
    assert f"{escape(name)}, row 3: bad-field-count" in out
    assert f"… reading {escape(name)}" in err  # the progress line
    _assert_escaped(err, HOSTILE)
    assert "[link=https:x]" in out  # shown as text, not taken as rich markup
    code, out, _ = cli(project, "quarantine", "list", "--org", "leak-org")
    assert code == 0
    _assert_escaped(out, HOSTILE)


def test_error_message_escapes_file_column_and_detail() -> None:
    from ctdc.errors import CtdcError

    err = CtdcError("unmapped-column", "column 'a\u202eb' is not named\x1b[2J", file="f\x9b.csv",
                    column="c\x1b")  # fmt: skip
    msg = err.message()
    assert "\u202e" not in msg and "\x1b" not in msg and "\x9b" not in msg
    assert msg.startswith("error[unmapped-column]: f\\x9b.csv, column 'c\\x1b': column 'a\\u202eb'")


def test_quarantine_export_escapes_controls_and_still_neutralizes_formulas(
    project: Path,
) -> None:
    """The CSV a data officer opens: no character of HOSTILE as itself, formulas still quoted."""
    hostile = "".join(HOSTILE)
    rows = [HEADER, _row(1, Remarks=f"a{hostile}b", Sex="Varón"),  # unknown-value, raw kept
            _row(2, Name=f"=HYPERLINK(\"http://x\"){hostile}", Sex="?"),
            _row(3, Address=f"x{''.join(NOT_C0)}y", Sex="??")]  # fmt: skip
    rows += [_row(i) for i in range(4, 40)]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (project / "hostile-cells.csv").write_text(out.getvalue(), encoding="utf-8")
    code, _, err = cli(project, "ingest", "--org", "leak-org", "hostile-cells.csv",
                       "--max-reject-rate", "1")  # fmt: skip
    assert code == 0, err
    code, _, err = cli(project, "quarantine", "export", "--org", "leak-org", "-o", "q.csv")
    assert code == 0, err
    text = (project / "q.csv").read_bytes().decode("utf-8-sig")
    _assert_escaped(text, HOSTILE)
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert '\'=HYPERLINK("http://x")' + "".join(HOSTILE.values()) in cells
    assert "x" + "".join(NOT_C0.values()) + "y" in cells


def test_describe_and_escape_cover_every_class() -> None:
    assert describe("ana.marker@example.org") == "22 chars: letters, '.', '@'"
    assert describe("+34 600-123-456") == "15 chars: digits, spaces, '+', '-'"
    assert describe("Varón") == "5 chars: letters, non-ASCII letters"
    assert describe("") == "empty"
    for ch, shown in HOSTILE.items():
        assert escape(f"a{ch}b") == f"a{shown}b"
        assert shown in describe(ch)
    assert escape("a\tb\nc\rd", keep="\t\n\r") == "a\tb\nc\rd"
    assert escape("\x00\ud800\ufffe") == "\\x00\\ud800\\ufffe"
    data = {"k": "".join(HOSTILE) + "\ud800 Varón\n"}
    text = escape_json(json.dumps(data, ensure_ascii=False, indent=2))
    assert json.loads(text) == data and not any(ch in text for ch in HOSTILE)


# --- mapping init on hostile samples ------------------------------------------------------------

SAMPLES = {
    "c1-value": (["Case ID", "Gender", "Age"], [["1", "F\x9bx", "23"], ["2", "M", "30"]]),
    "nel-and-separator": (["Case ID", "Gender"], [["1", "F\x85x"], ["2", "M\u2028y"]]),
    "bidi-value": (["Case ID", "Sex"], [["1", "\u202eelameF"], ["2", "\u2066M\u2069"]]),
    "esc-value": (["Case ID", "Sex"], [["1", "\x1b[2JF"], ["2", "M"]]),
    "nul-value": (["Case ID", "Sex"], [["1", "F\x00"], ["2", "M"]]),
    "c1-column": (["Case ID", "Gen\x9bder", "Re\u202emarks"], [["1", "F", "x"], ["2", "M", "y"]]),
    "nel-column": (["Case ID", "Sex\x85", "Notes\u2028"], [["1", "F", "x"], ["2", "M", "y"]]),
    "esc-column": (["Case ID", "Sex\x1b[31m"], [["1", "F"]]),
    "nul-column": (["Case ID", "Sex\x00"], [["1", "F"]]),
    "long-values": (["Case ID", "Gender", "Remarks"],
                    [["1", "F" * 40_000, "r" * 100_000], ["2", "M" * 60, "x"]]),
    "anchor-value": (["Case ID", "Gender"], [["1", "&a [*a, *a]"], ["2", "*a"]]),
    "lone-surrogate": (["Case ID", "Gender"], [["1", "F"], ["2", "M"]]),
}  # fmt: skip


def _write_sample(path: Path, key: str) -> Path:
    names, rows = SAMPLES[key]
    if key == "lone-surrogate":  # JSON may name one; Python reads it as a lone surrogate
        path = path.with_suffix(".json")
        path.write_text('[{"Case ID": "1", "Gender": "F\\ud800"}, {"Case ID": "2", '
                        '"Gender": "M"}]', encoding="utf-8")  # fmt: skip
        return path
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([names, *rows])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("key", SAMPLES)
def test_mapping_init_on_hostile_samples(
    tmp_path: Path, schema: Schema, key: str, as_json: bool
) -> None:
    """A clean exit: a mapping that loads, or one catalogued line; nothing obeyed, no traceback."""
    sample = _write_sample(tmp_path / "sample.csv", key)
    target = tmp_path / "pipelines" / "hostile-org.yaml"
    args = ["mapping", "init", sample.name, "--org", "hostile-org", "-o", str(target)]
    code, out, err = cli(tmp_path, *args, *(["--json"] if as_json else []))
    printed = out + err
    assert not any(ch in printed for ch in HOSTILE), printed
    assert "\ud800" not in printed
    if code != 0:  # a reasoned refusal, not the internal-error safety net
        assert code in (1, 2) and err.startswith("error[") and " — fix: " in err, err
        expected = {"esc-column": "control-character", "nul-column": "control-character",
                    "lone-surrogate": "unreadable-file"}  # fmt: skip
        assert err.startswith(f"error[{expected[key]}]: sample."), err
        return
    written = target.read_text(encoding="utf-8")
    assert not any(ch in written for ch in HOSTILE)
    load_mapping(target, schema)  # the scaffold loads as a mapping
    if as_json:
        plan = json.loads(out)
        assert plan["org"] == "hostile-org"


def test_mapping_init_reproduces_the_u009b_crash_as_a_mapping(tmp_path: Path, schema) -> None:
    """The reported traceback: U+009B in a sample value. The value is kept, escaped in YAML."""
    sample = _write_sample(tmp_path / "sample.csv", "c1-value")
    target = tmp_path / "pipelines" / "hostile-org.yaml"
    code, out, err = cli(tmp_path, "mapping", "init", sample.name, "--org", "hostile-org",
                         "-o", str(target))  # fmt: skip
    assert code == 0, err
    assert '"F\\u009bx": TODO' in target.read_text(encoding="utf-8")
    assert "F\\x9bx" in out  # the summary's value table, escaped
    mapping = load_mapping(target, schema)
    assert mapping.fields["gender"].column == "Gender"


def test_mapping_init_turns_an_unexpected_failure_into_one_line(
    tmp_path: Path, monkeypatch
) -> None:
    import ctdc.onboard as onboard

    def crash(*_args: object, **_kw: object) -> None:
        raise RuntimeError(f"sample value {MARKER}")

    monkeypatch.setattr(onboard, "build_scaffold", crash)
    sample = _write_sample(tmp_path / "sample.csv", "esc-value")
    code, out, err = cli(tmp_path, "mapping", "init", sample.name, "--org", "hostile-org",
                         "-o", str(tmp_path / "p" / "hostile-org.yaml"))  # fmt: skip
    assert code == 3 and err.startswith("error[internal-error]: unexpected RuntimeError")
    assert MARKER not in out + err


def test_the_rule_shows_only_short_codes_of_mapped_columns(schema: Schema) -> None:
    """The rule of ``ctdc.ingest.redact`` on a committed mapping with a birth-date column."""
    from ctdc.ingest.redact import ROW_HINT, code_columns, example_value

    mapping = load_mapping(Path(__file__).resolve().parents[2] / "pipelines" / "casework-ngo.yaml",
                           schema)  # fmt: skip
    codes = code_columns(mapping)
    assert "Gender" in codes and "Control methods" in codes
    assert {"Case ID", "Date of birth", *mapping.drop} & codes == set()
    assert example_value(codes, "Gender", "unknown-value", "Varón")["value"] == "Varón"
    for column, reason, value in [
        ("Date of birth", "bad-date", "1990-02-31"),  # an exact birth date identifies
        ("Case ID", "duplicate-case-id", "CW-2019-00042"),
        ("Gender", "unknown-value", "x" * 49),  # longer than a code: free text
        ("Gender", "unknown-value", "Var\u202eón"),  # a control is never shown as itself
        ("Gender", "control-character", "F\\x00"),  # the reason is not about a vocabulary
        (mapping.drop[0], "value-too-long", "Ana"),
    ]:
        shown = example_value(codes, column, reason, value)
        assert shown["value"] is None and shown["value_hint"].startswith("not shown: "), column
    whole = example_value(codes, None, "bad-field-count", "CW-1,Ana,...")
    assert whole == {"value": None, "value_hint": ROW_HINT}
