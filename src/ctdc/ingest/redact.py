"""Which offending values a summary may show, and what it says about the others.

The ingest and validate summaries (the table's example lines, ``--json``,
cron mail) go further than the 0600 quarantine, so they follow one rule:

**a value is shown only when it is a short vocabulary code of a mapped,
non-identifying column**, i.e. all of

- its problem is about the value itself (``unknown-value``, ``unknown-country``,
  ``bad-number``, ``bad-date``, ``out-of-range``, ``schema-violation``): the
  officer needs to see ``Varón`` or ``31/02/2021`` to add it to the vocabulary
  or fix the date format, and such a code says nothing about who a person is;
- its column is mapped to a schema field (``fields:``, ``multi:`` or
  ``age.column``), so it has passed the mapping's review. The case id column,
  a birth-date column (an exact birth date is a direct identifier) and every
  ``drop:`` or ``ignore:`` column never qualify;
- it is at most :data:`~ctdc.limits.MAX_SHOWN_CODE_CHARS` characters, on one
  line, with no control character: anything longer is free text, not a code.

Every other value (a whole row of a ``bad-field-count`` or ``bad-json-line``,
a case id, a too-long value or one with control characters, a value of a
dropped column) is replaced by a hint from :func:`ctdc.text.describe` (its
length and kinds of characters). The row number and the column name say
where it is; the raw row is in the quarantine, for ``ctdc quarantine export``.
"""

from __future__ import annotations

import re

import pandas as pd

from ctdc.limits import MAX_SHOWN_CODE_CHARS
from ctdc.mapping.spec import Mapping
from ctdc.text import describe, has_unsafe

#: problems about a value of a vocabulary column, where seeing the value is the fix
VALUE_REASONS = frozenset(
    {"unknown-value", "unknown-country", "bad-number", "bad-date", "out-of-range",
     "schema-violation"}
)  # fmt: skip
#: problems with a whole record: its text holds every column, identifiers too
ROW_REASONS = frozenset({"bad-field-count", "bad-json-line"})

#: what ``ctdc.formats.chunk.shown`` appends to a value it cut
_CUT_RE = re.compile(r"… \(([\d,]+) characters\)$")
_ESCAPED_RE = re.compile(r"\\x([0-9a-f]{2})")


def code_columns(mapping: Mapping) -> frozenset[str]:
    """Source columns whose values are vocabulary codes: mapped, and not identifying."""
    cols = {r.column for r in mapping.fields.values() if r.column}
    cols |= {m.column for m in mapping.multi}
    if mapping.age is not None and mapping.age.column:
        cols.add(mapping.age.column)
    never = {mapping.case_id, *mapping.drop, *mapping.ignore}
    if mapping.age is not None and mapping.age.birth_date:
        never.add(mapping.age.birth_date)
    return frozenset(cols - never)


#: what a summary says instead of a whole row (a bad field count, an unparseable line)
ROW_HINT = "whole row not shown: it may hold identifiers (ingest keeps it in the quarantine)"


def hint(value: str) -> str:
    """A value described without being shown (its length and kinds of characters).

    Read errors hold the value as ``raw.shown`` made it (controls escaped as
    ``\\xNN``, long text cut with its full length noted): both are undone
    first, so that the hint speaks of the value as it is in the export.
    """
    cut = _CUT_RE.search(value)
    text = value[: cut.start()] if cut else value
    text = _ESCAPED_RE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return describe(text, length=int(cut.group(1).replace(",", "")) if cut else None)


def example_value(codes: frozenset[str], column: str | None, reason: str,
                  value: object) -> dict[str, str | None]:  # fmt: skip
    """``{"value": ..., "value_hint": ...}`` for one example line of a summary.

    ``value`` is None when it may not be shown (see the module's rule); the
    hint then says what it looks like. ``codes`` is :func:`code_columns`.
    """
    text = "" if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)
    if reason in ROW_REASONS:
        return {"value": None, "value_hint": ROW_HINT}
    if not text:
        return {"value": "", "value_hint": None}
    if (
        reason in VALUE_REASONS
        and column in codes
        and len(text) <= MAX_SHOWN_CODE_CHARS
        and text == text.strip()
        and not has_unsafe(text)
    ):
        return {"value": text, "value_hint": None}
    return {"value": None, "value_hint": f"not shown: {hint(text)}"}


def redacted_rows(q: pd.DataFrame, codes: frozenset[str]) -> list[dict[str, object]]:
    """Open quarantine entries (``quarantine.open_rows``) as ``quarantine list --rows`` shows
    them: where, why and the fix, each value as :func:`example_value` allows, never the raw row.

    The rule is the summaries' (the data officer's terminal, scrollback and
    screen shares go further than the 0600 quarantine); ``codes`` is
    :func:`code_columns` of the organization's mapping, or empty when it cannot
    be read, and then no value is shown. Values are judged once per distinct
    (column, reason, value).
    """
    from ctdc.errors import CATALOGUE
    from ctdc.mapping.helpers import quarantine_id

    if q.empty:
        return []
    keys = ["column", "reason", "value"]
    distinct = q[keys].drop_duplicates()
    judged = [example_value(codes, c or None, r, v) for c, r, v in distinct.itertuples(index=False)]
    shown = distinct.assign(
        shown=[j["value"] for j in judged], hint=[j["value_hint"] for j in judged]
    )
    rows = q.merge(shown, on=keys, how="left", sort=False)
    for col in ("shown", "hint"):  # None, not NaN: NaN would print as a value
        rows[col] = rows[col].astype(object).where(rows[col].notna(), None)
    rows = rows.sort_values(["batch_id", "source_row", "column"], kind="stable")
    return [
        {
            "quarantine_id": quarantine_id(str(r.batch_id), int(r.source_row)),
            "file": r.source_file,
            "row": int(r.source_row),
            "column": r.column or None,
            "reason": r.reason,
            "value": r.shown,
            "value_hint": r.hint,
            "expected": r.expected,
            "fix": CATALOGUE[r.reason].fix if r.reason in CATALOGUE else "",
        }
        for r in rows.itertuples(index=False)
    ]
