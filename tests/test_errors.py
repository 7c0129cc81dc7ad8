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
