"""Property tests of the k-anonymity engine: for any frame and k, the promises hold.

Frames: 1-300 rows, 1-6 quasi-identifier columns of mixed dtypes (nullable
booleans, small-cardinality strings with NA -- including the string "NA",
which is Namibia and not missing --, Int16 with NA), a unique row id as payload.
Rows are either drawn cell by cell (mostly unique: lots to suppress) or copied
from a small pool (real classes to hide in), so both regimes get exercised.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ctdc.anonymize import anonymize, check_k_anonymity

KINDS = ("boolean", "Int16", "string", "str")

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as connection:
        yield connection


def _column(kind: str, values: list[int]) -> pd.api.extensions.ExtensionArray | pd.Series:
    """Codes to a column: -1 is NA, other codes map to values of the column's dtype."""
    if kind == "boolean":
        return pd.array([None if v < 0 else bool(v % 2) for v in values], dtype="boolean")
    if kind == "Int16":
        return pd.array([None if v < 0 else 7 * v - 3 for v in values], dtype="Int16")
    labels = ["NA", "ES", "CO", "TH", "PH", "UA"]
    strings = [None if v < 0 else labels[v % len(labels)] for v in values]
    if kind == "string":
        return pd.array(strings, dtype="string")
    return pd.Series(strings, dtype="str")


@st.composite
def frames(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str]]:
    n = draw(st.integers(1, 300))
    m = draw(st.integers(1, 6))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=m, max_size=m))
    cards = [draw(st.integers(2, 8)) for _ in range(m)]
    cell = [st.integers(-1, c - 1) for c in cards]
    if draw(st.booleans()):
        pool = draw(st.lists(st.tuples(*cell), min_size=1, max_size=40))
        # Rows copied from a small pool (classes to hide in) plus a few strays to rescue.
        strays = draw(st.lists(st.tuples(*cell), max_size=min(n - 1, 30)))
        picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=n - len(strays), max_size=n))[
            : n - len(strays)
        ]
        table = [pool[i] for i in picks] + strays
    else:
        table = draw(st.lists(st.tuples(*cell), min_size=n, max_size=n))
    qis = [f"q{j}_{kind}" for j, kind in enumerate(kinds)]
    data = {
        q: _column(kind, [row[j] for row in table])
        for j, (q, kind) in enumerate(zip(qis, kinds, strict=True))
    }
    df = pd.DataFrame(data)
    df["row_id"] = np.arange(n, dtype=np.int64) * 3 + 1
    df["org"] = np.where(np.arange(n) % 3 == 0, "org-a", "org-b")
    return df, qis


ks = st.integers(2, 15)


def _released_before(df: pd.DataFrame, out: pd.DataFrame) -> pd.DataFrame:
    """The input rows of the released records, in output order."""
    return df.set_index("row_id").loc[out["row_id"]].reset_index()[list(df.columns)]


@SETTINGS
@given(case=frames(), k=ks)
def test_output_is_strictly_k_anonymous(
    case: tuple[pd.DataFrame, list[str]], k: int, con: duckdb.DuckDBPyConnection
) -> None:
    df, qis = case
    result = anonymize(df, qis, k, group_col="org")
    out = result.frame
    if len(out):
        sizes = out.groupby(qis, dropna=False).size()
        assert sizes.min() >= k
        assert (result.report.classes, result.report.min_class_size) == (len(sizes), sizes.min())
    else:
        assert (result.report.classes, result.report.min_class_size) == (0, 0)
    r = result.report
    # Shown by --hypothesis-show-statistics: all four regimes should come up.
    event(
        f"records removed: {r.records_suppressed > 0}, cells lost: {r.cells_suppressed_total > 0}"
    )
    check = check_k_anonymity(out, qis, k, con=con)
    assert check.passed, check
    assert check.classes == result.report.classes


@SETTINGS
@given(case=frames(), k=ks)
def test_accounting_balances_and_rows_are_not_duplicated(
    case: tuple[pd.DataFrame, list[str]], k: int
) -> None:
    df, qis = case
    result = anonymize(df, qis, k, group_col="org")
    out, r = result.frame, result.report
    assert r.records_in == len(df) == r.records_out + r.records_suppressed
    assert r.records_out == len(out)
    ids = out["row_id"]
    assert not ids.duplicated().any()
    assert set(ids) <= set(df["row_id"])
    # surviving rows keep their input order
    assert ids.is_monotonic_increasing
    assert sum(r.records_suppressed_by_group.values()) == r.records_suppressed
    for q in qis:
        assert sum(per[q] for per in r.cells_suppressed_by_group.values()) == r.cells_suppressed[q]


@SETTINGS
@given(case=frames(), k=ks)
def test_never_invents_and_counts_every_lost_cell(
    case: tuple[pd.DataFrame, list[str]], k: int
) -> None:
    df, qis = case
    result = anonymize(df, qis, k)
    out = result.frame
    before = _released_before(df, out)

    assert list(out.columns) == list(df.columns)
    assert out.dtypes.equals(df.dtypes)
    payload = [c for c in df.columns if c not in qis]
    pd.testing.assert_frame_equal(out[payload], before[payload])
    for q in qis:
        was, now = before[q], out[q]
        unchanged = (was.isna() & now.isna()) | (was == now).fillna(False).astype(bool)
        assert (unchanged | now.isna()).all(), f"{q}: a value was changed, not suppressed"
        lost = int((was.notna() & now.isna()).sum())
        assert result.report.cells_suppressed[q] == lost


@SETTINGS
@given(case=frames(), k=ks)
def test_deterministic(case: tuple[pd.DataFrame, list[str]], k: int) -> None:
    df, qis = case
    first = anonymize(df, qis, k, group_col="org")
    second = anonymize(df.copy(), qis, k, group_col="org")
    pd.testing.assert_frame_equal(first.frame, second.frame)
    assert first.report == second.report


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=frames(), k=ks)
def test_k_anonymous_input_is_left_alone(case: tuple[pd.DataFrame, list[str]], k: int) -> None:
    # k copies of any frame are k-anonymous already: nothing may be lost.
    df, qis = case
    df = pd.concat([df] * k, ignore_index=True)
    df["row_id"] = np.arange(len(df))
    result = anonymize(df, qis, k)
    pd.testing.assert_frame_equal(result.frame, df)
    assert result.report.records_suppressed == 0
    assert sum(result.report.cells_suppressed.values()) == 0
