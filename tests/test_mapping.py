"""Mapping files: strings stay strings, and every mistake names its YAML line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctdc.errors import CtdcError
from ctdc.mapping.load import load_mapping
from ctdc.mapping.spec import normalize
from ctdc.schema import Schema

BASE = """\
org: acme
data_source: Hotline
source: {format: csv}
case_id: id
fields:
  gender:
    column: sex
    values: {No: Female, "00": Male}
"""


def _load(tmp_path: Path, schema: Schema, text: str, name: str = "acme") -> object:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path, schema)


def _error(tmp_path: Path, schema: Schema, text: str, name: str = "acme") -> CtdcError:
    with pytest.raises(CtdcError) as err:
        _load(tmp_path, schema, text, name)
    return err.value


def test_vocabulary_keys_stay_text(tmp_path: Path, schema: Schema) -> None:
    mapping = _load(tmp_path, schema, BASE)
    assert mapping.fields["gender"].values == {"no": "Female", "00": "Male"}


def test_normalize_ignores_case_accents_and_spaces() -> None:
    assert normalize("  Sí ") == normalize("SI") == "si"
    assert normalize("País  de\texplotación") == "pais de explotacion"


@pytest.mark.parametrize(
    ("edit", "line", "needle"),
    [
        (("gender:", "genre:"), 6, "not a field of the schema"),
        (("No: Female", "No: Femme"), 8, "not one of"),
        (("format: csv", "format: xls"), 3, "source.format"),
        (("case_id: id\n", "case_id: id\ncolour: red\n"), 5, "unknown keys"),
        (("column: sex", "column: sex\n    colour: red"), 6, "unknown keys"),
        (("format: csv}", "format: csv, header_rows: 2}"), 3, "is for XLSX headers"),
        (("format: csv}", "format: xlsx, header_rows: 9}"), 3, "1 to 5"),
    ],
)
def test_errors_name_the_yaml_line(tmp_path, schema, edit, line, needle) -> None:
    err = _error(tmp_path, schema, BASE.replace(*edit))
    assert err.slug == "bad-mapping" and err.exit_code == 2
    assert f"line {line}" in err.message() and needle in err.message()
    assert "acme.yaml" in err.message()


def test_org_must_match_file_name(tmp_path, schema) -> None:
    err = _error(tmp_path, schema, BASE, name="other")
    assert "must equal the file name" in err.message()


def test_internal_fields_cannot_be_mapped(tmp_path, schema) -> None:
    text = BASE + "  case_pseudonym: {column: x}\n"
    assert "internal" in _error(tmp_path, schema, text).message()


def test_multi_flags_must_share_one_group(tmp_path, schema) -> None:
    text = BASE + "multi:\n  - column: m\n    values: {a: moc_threats, b: labour_begging}\n"
    assert "one group" in _error(tmp_path, schema, text).message()


def test_age_from_birth_date_needs_a_registration_date(tmp_path, schema) -> None:
    text = BASE + "age: {birth_date: dob, birth_date_format: '%Y-%m-%d'}\n"
    assert "year_of_registration" in _error(tmp_path, schema, text).message()


def test_unknown_encoding(tmp_path, schema) -> None:
    text = BASE.replace("{format: csv}", "{format: csv, encoding: klingon}")
    assert "klingon" in _error(tmp_path, schema, text).message()
