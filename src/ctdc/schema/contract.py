"""The pandera contract derived from the schema, and its failures as quarantine rows.

The mapping step already turns text into typed values, so the contract is the
independent second check that a mapping (or a schema edit) can never push a
value into staging that the schema does not allow. Its failure cases come back
as row errors (:mod:`ctdc.row_errors`), the quarantine's shape; the caller,
which knows the export's column names, fills in ``column`` and ``expected``.

Two ways to run the same contract: :func:`contract_failures` is pandera's own
lazy validation of a DataFrame; :func:`table_failures` runs the same
``DataFrameSchema`` on an Arrow table (ingest's staged chunks): the column
set, types and nullability from Arrow metadata and null counts, and every
check by calling the contract's own pandera ``Check`` objects on zero-copy
pandas views of the columns that have checks. It returns the same failure
cases in the same order, without turning the chunk into a DataFrame and
without pandera's per-call report building.

The three checks the schema builds (``isin``, ``in_range``, ``str_matches``)
are evaluated in Arrow from the check's own statistics, with pandera's
semantics (nulls pass; ``str_matches`` is Python's ``re.match``, run once per
distinct value). A pandera call costs ~1 ms however small the chunk, and an
ingest checks ~25 columns per chunk; any other check still goes through
pandera. A test compares the two on the cases where they could differ.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandera.errors import SchemaErrors

from ctdc.row_errors import RowErrors, no_row_errors, row_errors
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


def contract_failures(contract: pa.DataFrameSchema, frame: pd.DataFrame) -> RowErrors:
    """Validate lazily; return one row error per failing cell (``pos`` is the frame's index).

    Frame-level failures (a missing or mistyped column) are bugs in the
    mapping code, not in the data, so they are raised rather than quarantined.
    """
    try:
        contract.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        cell = cases[cases["index"].notna()]
        if len(cell) < len(cases):
            raise
        fields = cell["column"].astype(str).to_numpy()
        return row_errors(
            cell["index"].astype("int64").to_numpy(),
            column=fields,
            field=fields,
            reason=cell["check"]
            .astype(str)
            .str.replace(r"\(.*", "", regex=True)
            .map(lambda c: _CHECK_SLUGS.get(c, "schema-violation"))
            .to_numpy(),
            value=cell["failure_case"].astype(str).to_numpy(),
        )
    return no_row_errors()


#: pandas dtype of the contract -> the Arrow types that hold it
_TEXT = (pyarrow.string(), pyarrow.large_string())
_ARROW_TYPES = {
    "Int16": (pyarrow.int16(),),
    "boolean": (pyarrow.bool_(),),
    "string": _TEXT,
    "string[pyarrow]": _TEXT,
    "string[python]": _TEXT,
}
_PANDAS_TYPES = {
    pyarrow.int16(): pd.Int16Dtype(),
    pyarrow.bool_(): pd.BooleanDtype(),
    pyarrow.string(): pd.StringDtype("pyarrow"),
    pyarrow.large_string(): pd.StringDtype("pyarrow"),
}


def _arrow_failing(check: pa.Check, arr: pyarrow.ChunkedArray) -> np.ndarray | None:
    """Row positions failing a built-in ``check``, computed in Arrow (nulls pass, as with
    pandera's ``ignore_na``); None for a check with no Arrow form here."""
    stats = check.statistics or {}
    if check.name == "isin":
        values = pyarrow.array(list(stats["allowed_values"]), type=arr.type)
        ok = pc.is_in(arr, value_set=values)
    elif check.name == "in_range":
        above = pc.greater_equal if stats.get("include_min", True) else pc.greater
        below = pc.less_equal if stats.get("include_max", True) else pc.less
        ok = pc.and_(above(arr, stats["min_value"]), below(arr, stats["max_value"]))
    elif check.name == "str_matches":
        pattern = re.compile(stats["pattern"])
        distinct = pc.unique(arr).drop_null().to_pylist()
        matching = pyarrow.array([v for v in distinct if pattern.match(v)], type=arr.type)
        ok = pc.is_in(arr, value_set=matching)
    else:
        return None
    failing = pc.and_kleene(pc.invert(ok), pc.is_valid(arr)).fill_null(False)
    return np.flatnonzero(failing.to_numpy(zero_copy_only=False))


def table_failures(contract: pa.DataFrameSchema, table: pyarrow.Table) -> RowErrors:
    """:func:`contract_failures` for an Arrow table: ``pos`` is the row position.

    A column set or type that differs from the contract is a bug in the mapping
    code, not in the data, so it raises (as pandera's frame-level failures do).
    """
    names = set(table.column_names)
    if names != set(contract.columns):
        wanted = set(contract.columns)
        raise ValueError(
            f"staged columns differ from the contract: missing {sorted(wanted - names)}"
            f", unexpected {sorted(names - wanted)}"
        )
    index: list[np.ndarray] = []
    fields: list[str] = []
    reasons: list[str] = []
    values: list[np.ndarray] = []

    def add(pos: np.ndarray, name: str, reason: str, value: np.ndarray) -> None:
        if len(pos):
            index.append(pos)
            fields.extend([name] * len(pos))
            reasons.extend([reason] * len(pos))
            values.append(value)

    for name, column in contract.columns.items():
        arr = table.column(name)
        if arr.type not in _ARROW_TYPES.get(str(column.dtype), ()):
            raise TypeError(f"column {name!r} is {arr.type}, the contract says {column.dtype}")
        if not column.nullable and arr.null_count:
            pos = np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))
            add(pos, name, _CHECK_SLUGS["not_nullable"], np.full(len(pos), np.nan, dtype=object))
        for check in column.checks:
            found = _arrow_failing(check, arr)
            if found is None:
                series = arr.to_pandas(types_mapper=_PANDAS_TYPES.get)
                passed = check(series).check_output  # indexed like ``series``, nulls maybe out
                found = np.sort(passed.index.to_numpy()[
                    ~passed.to_numpy(dtype=bool, na_value=True)].astype(np.int64))  # fmt: skip
            pos = found
            failing = arr.take(pos).to_pylist()
            add(pos.astype(np.int64), name, _CHECK_SLUGS.get(check.name, "schema-violation"),
                np.array([str(v) for v in failing], dtype=object))  # fmt: skip
    if not index:
        return no_row_errors()
    failed = np.array(fields, dtype=object)
    return row_errors(
        np.concatenate(index).astype("int64"),
        column=failed,
        field=failed,
        reason=np.array(reasons, dtype=object),
        value=np.concatenate(values),
    )
