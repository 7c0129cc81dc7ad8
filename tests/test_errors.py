"""The error catalogue: stable slugs, documented, and rendered as one actionable line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctdc.errors import CATALOGUE, CtdcError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def test_every_slug_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [slug for slug in CATALOGUE if f"`{slug}`" not in text]
    assert missing == []


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
