"""Guessing an encoding and a delimiter the mapping does not pin."""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

import pytest

from conftest import run_ctdc
from ctdc.formats.detect import guess_delimiter, guess_encoding
from ctdc.ingest import ingest_file
from ctdc.mapping import load_mapping
from ctdc.mapping.source import SourceSpec, guess_source

ROOT = Path(__file__).resolve().parents[2]
TEXT = "id;nombre;país\n1;José;Perú\n2;Zoë;España\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("utf-32"), "utf-32"),
        (TEXT.encode("utf-8"), "utf-8"),
        (b"id,n\n1,plain ascii\n", "utf-8"),
        ((TEXT + "3;€ “quoted”;x\n").encode("cp1252"), "cp1252"),  # bytes 0x80-0x9f in use
        (TEXT.encode("latin-1"), "latin-1"),  # no byte 0x80-0x9f: as `mapping init` says
        (TEXT.encode("latin-1") + b"4;\x81;x\n", "latin-1"),  # 0x81 is not cp1252
    ],
)
def test_guess_encoding(data: bytes, encoding: str) -> None:
    assert guess_encoding(data) == encoding
    data.decode(encoding)  # and the guess reads the bytes


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n4,5,6\n", ","),
        ("a;b;c\n1;2,5;3\n4;5,5;6\n", ";"),  # decimal commas do not fool it
        ("a\tb\n1\t2\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('a;b\n"x;y";2\n"line\nbreak";3\n', ";"),
        ("only\none\ncolumn\n", ","),
    ],
)
def test_guess_delimiter(text: str, delimiter: str) -> None:
    assert guess_delimiter(text) == delimiter


def test_pinned_source_is_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(TEXT.encode("latin-1"))
    source = SourceSpec("csv")
    assert guess_source(path, source) == (source, None)


def _unpinned(tmp_path: Path, org: str) -> Path:
    """``pipelines/<org>.yaml`` without `encoding` and `delimiter`, in a project folder."""
    text = (ROOT / "pipelines" / f"{org}.yaml").read_text(encoding="utf-8")
    text = re.sub(r"\n  (encoding|delimiter): [^\n]*", "", text)
    (tmp_path / "pipelines").mkdir(exist_ok=True)
    path = tmp_path / "pipelines" / f"{org}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unpinned_export_is_read_as_guessed_and_the_pin_is_printed(tmp_path, schema) -> None:
    export = ROOT / "sample_data" / "hotline-es.csv"  # latin-1 with ";"
    loose = load_mapping(_unpinned(tmp_path, "hotline-es"), schema)
    assert loose.source.guess == ("encoding", "delimiter")
    pinned = load_mapping(ROOT / "pipelines" / "hotline-es.yaml", schema)
    assert pinned.source.guess == ()
    a = ingest_file(None, schema, loose, export, key=b"k" * 32, dry_run=True)
    b = ingest_file(None, schema, pinned, export, key=b"k" * 32, dry_run=True)
    assert a.notes == [
        'encoding latin-1 and delimiter ";" guessed (not pinned in the mapping); '
        'to pin: source: {format: csv, encoding: latin-1, delimiter: ";"}'
    ]
    assert b.notes == []
    assert {**a.to_dict(), "notes": []} == {**b.to_dict(), "notes": []}


def test_cli_prints_the_guess_with_the_yaml_to_pin_it(tmp_path: Path) -> None:
    _unpinned(tmp_path, "hotline-es")
    export = ROOT / "sample_data" / "hotline-es.csv"
    result = run_ctdc(tmp_path, "validate", "--org", "hotline-es", str(export))
    assert result.exit_code == 0, result.stderr
    assert 'to pin: source: {format: csv, encoding: latin-1, delimiter: ";"}' in result.stdout
    result = run_ctdc(tmp_path, "validate", "--org", "hotline-es", str(export), "--json")
    [summary] = json.loads(result.stdout)
    assert summary["notes"][0].startswith('encoding latin-1 and delimiter ";" guessed')


def test_guessed_json_encoding(tmp_path, schema) -> None:
    export = ROOT / "sample_data" / "intl-agency.json"
    loose = load_mapping(_unpinned(tmp_path, "intl-agency"), schema)
    assert loose.source.guess == ("encoding",)
    result = ingest_file(None, schema, loose, export, key=b"k" * 32, dry_run=True)
    assert result.notes == [
        "encoding utf-8 guessed (not pinned in the mapping); "
        "to pin: source: {format: json, encoding: utf-8}"
    ]
    assert result.rows_read > 0
