"""The error catalogue: stable slugs, documented, and rendered as one actionable line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctdc.errors import CATALOGUE, CtdcError
from ctdc.slugs import ExitCode, Slug

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def _documented(section: str) -> dict[str, list[str]]:
    """The slug table of one ``## section`` of docs/errors.md: slug -> its other cells."""
    text = DOCS.read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.removeprefix("| ").removesuffix(" |").split(" | ")
            for line in body.splitlines() if line.startswith("| `")]  # fmt: skip
    return {row[0].strip("`"): row[1:] for row in rows}


def test_every_slug_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [slug for slug in CATALOGUE if f"`{slug}`" not in text]
    assert missing == []


def test_enum_catalogue_and_docs_list_the_same_slugs() -> None:
    """Every slug is a ``Slug`` member, in the catalogue, and in its section of the docs with
    its exit code; none is documented that the code does not raise or store."""
    assert set(Slug) == set(CATALOGUE)
    assert all(kind.slug is slug for slug, kind in CATALOGUE.items())
    row_level = _documented("Row level (quarantine reasons)")
    run_level = _documented("Run level")
    assert set(row_level) == {s.value for s, kind in CATALOGUE.items() if kind.row_level}
    assert set(run_level) == {s.value for s, kind in CATALOGUE.items() if not kind.row_level}
    for slug, cells in run_level.items():
        assert cells[0] == str(int(CATALOGUE[Slug(slug)].exit_code)), slug
    assert all(kind.exit_code == ExitCode.DATA for kind in CATALOGUE.values() if kind.row_level)


def test_slug_members_are_the_plain_string() -> None:
    """Code outside the catalogue may pass or compare the string form."""
    err = CtdcError("missing-extra", "faker is not installed")
    assert err.slug is Slug.MISSING_EXTRA and err.slug == "missing-extra"
    assert err.exit_code == 3 and err.message().startswith("error[missing-extra]: ")
    assert json.loads(json.dumps(err.to_dict()))["slug"] == "missing-extra"
    assert CATALOGUE["k-check-failed"] is CATALOGUE[Slug.K_CHECK_FAILED]


def test_message_names_file_row_column_and_fix() -> None:
    err = CtdcError("unmapped-column", "column 'Passport' is not named", file="x.csv", row=1,
                    column="Passport")  # fmt: skip
    msg = err.message()
    assert msg.startswith("error[unmapped-column]: x.csv, row 1, column 'Passport': ")
    assert "fix: add it to `drop:`" in msg
    assert err.exit_code == 1


def test_unknown_slugs_are_a_programming_error() -> None:
    with pytest.raises(KeyError):
        CtdcError("no-such-slug")


def test_hostile_input_limits_are_documented() -> None:
    """docs/errors.md lists every safety limit of src/ctdc/limits.py that a user can meet."""
    from ctdc import limits

    text = DOCS.read_text(encoding="utf-8")
    documented = ["MAX_CELL_CHARS", "MAX_FIELD_BYTES", "XLSX_MAX_UNCOMPRESSED_BYTES",
                  "XLSX_MAX_RATIO", "XLSX_RATIO_MIN_BYTES", "XLSX_MAX_MEMBERS", "EXCEL_MAX_ROWS",
                  "BINARY_CONTROL_SHARE"]  # fmt: skip
    assert [name for name in documented if f"`{name}`" not in text] == []
    assert f"{limits.MAX_CELL_CHARS:,}" in text and f"{limits.EXCEL_MAX_ROWS:,}" in text
    assert f"| `XLSX_MAX_RATIO` | {limits.XLSX_MAX_RATIO} |" in text
