"""The pandera contract derived from the schema, and its failures as quarantine rows.

The mapping step already turns text into typed values, so the contract is the
independent second check that a mapping (or a schema edit) can never push a
value into staging that the schema does not allow. Its failure cases come back
as (row index, field, slug, value, expected), the quarantine's shape.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from ctdc.schema.model import Field, Schema

#: pandera check name -> quarantine reason slug
_CHECK_SLUGS = {
    "isin": "unknown-value",
    "in_range": "out-of-range",
    "greater_than_or_equal_to": "out-of-range",
    "less_than_or_equal_to": "out-of-range",
    "str_matches": "schema-violation",
    "not_nullable": "missing-required",
}


def _checks(f: Field) -> list[pa.Check]:
    if f.type in ("category", "country"):
        return [pa.Check.isin(list(f.allowed))]
    if f.type == "integer" and (f.min is not None or f.max is not None):
        lo = f.min if f.min is not None else -(2**15)
        hi = f.max if f.max is not None else 2**15 - 1
        return [pa.Check.in_range(lo, hi)]
    if f.type == "string" and f.pattern:
        return [pa.Check.str_matches(f.pattern)]
    return []


def expected_text(f: Field) -> str:
    """What a field accepts, in words a data officer can act on."""
    if f.type == "category":
        return "one of: " + ", ".join(f.values)
    if f.type == "country":
        return "an ISO 3166-1 country"
    if f.type == "integer":
        return f"a whole number from {f.min} to {f.max}"
    if f.type == "boolean":
        return "yes/no (true/false, 1/0)"
    return f"text matching {f.pattern}" if f.pattern else "text"


def build_contract(schema: Schema, names: list[str]) -> pa.DataFrameSchema:
    """A pandera schema over ``names`` (typically the staged fields)."""
    columns = {
        n: pa.Column(
            schema[n].pandas_dtype,
            checks=_checks(schema[n]),
            nullable=not schema[n].required,
            coerce=False,
        )
        for n in names
    }
    return pa.DataFrameSchema(columns, strict=True, ordered=False, name=schema.name)


def contract_failures(contract: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """Validate lazily; return one row per failing cell: index, field, reason, value.

    Frame-level failures (a missing or mistyped column) are bugs in the
    mapping code, not in the data, so they are raised rather than quarantined.
    """
    empty = pd.DataFrame({"index": [], "field": [], "reason": [], "value": []})
    try:
        contract.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        cell = cases[cases["index"].notna()]
        if len(cell) < len(cases):
            raise
        return pd.DataFrame(
            {
                "index": cell["index"].astype("int64").to_numpy(),
                "field": cell["column"].astype(str).to_numpy(),
                "reason": cell["check"]
                .astype(str)
                .str.replace(r"\(.*", "", regex=True)
                .map(lambda c: _CHECK_SLUGS.get(c, "schema-violation"))
                .to_numpy(),
                "value": cell["failure_case"].astype(str).to_numpy(),
            }
        )
    return empty
