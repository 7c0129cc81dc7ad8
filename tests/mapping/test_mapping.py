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


#: five problems of four kinds: an unknown target field, two bad codes, a required key
#: missing (case_id) and a wrong type (drop is a list of columns)
SEVERAL = """\
org: acme
data_source: Hotline
source: {format: csv}
drop: Passport
fields:
  genre: {column: sex}
  gender:
    column: sex
    values: {No: Femme, F: Female, X: Autre}
"""


def test_every_problem_is_reported_at_once(tmp_path, schema) -> None:
    err = _error(tmp_path, schema, SEVERAL)
    assert err.slug == "bad-mapping" and err.exit_code == 2
    message = err.message()
    assert message.startswith("error[bad-mapping]: ") and "acme.yaml" in message
    assert "5 problems" in message
    expected = [
        "fields.genre: `genre` is not a field of the schema (line 6); fix: did you mean `gender`?",
        "fields.gender.values.No: gender: 'Femme' is not one of",
        "fields.gender.values.X: gender: 'Autre' is not one of",
        "case_id: `case_id` is required",
        "drop: `drop` must be a list of column names (line 4)",
    ]
    for needle in expected:
        assert f"  - {needle}" in message, needle
    assert "(line 9)" in message  # the bad codes' line


def test_every_problem_stops_the_cli_with_the_slugs_exit_code(tmp_path, schema) -> None:
    from conftest import run_ctdc

    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "acme.yaml").write_text(SEVERAL, encoding="utf-8")
    (tmp_path / "export.csv").write_text("sex\nF\n", encoding="utf-8")
    result = run_ctdc(tmp_path, "validate", "--org", "acme", "export.csv")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error[bad-mapping]: ")
    for needle in ("`genre` is not a field", "'Femme'", "'Autre'", "`case_id` is required",
                   "`drop` must be a list"):  # fmt: skip
        assert needle in result.stderr, needle


def test_one_problem_keeps_the_one_line_form(tmp_path, schema) -> None:
    message = _error(tmp_path, schema, BASE.replace("No: Female", "No: Femme")).message()
    assert "problems" not in message and "\n" not in message


def test_a_bad_field_rule_does_not_hide_the_next_one(tmp_path, schema) -> None:
    text = BASE + "  is_abduction: {column: kidnapped, country: alpha2}\n  nope: {column: z}\n"
    message = _error(tmp_path, schema, text).message()
    assert "2 problems" in message and "`country` must be one of" in message
    assert "`nope` is not a field of the schema" in message


def test_every_unmapped_and_missing_column_is_named(tmp_path, schema) -> None:
    from ctdc.mapping.transform import check_columns

    mapping = _load(tmp_path, schema, BASE)
    with pytest.raises(CtdcError) as err:
        check_columns(["id", "sex", "Passport", "Notes"], mapping)
    assert err.value.slug == "unmapped-column" and err.value.exit_code == 1
    assert "2 columns 'Passport', 'Notes' are not named in the mapping" in err.value.message()
    with pytest.raises(CtdcError) as err:
        check_columns(["Passport"], mapping)
    assert err.value.slug == "missing-column"
    assert "no column 'id', 'sex'; also not named in the mapping: 'Passport'" in err.value.message()
