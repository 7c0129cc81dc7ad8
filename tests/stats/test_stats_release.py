"""``safe_table`` over real Parquet files in a public folder: counts, NULLs, WHERE, shares, errors.

Each public folder is written by the test with pyarrow (``stats_fixtures.write_public``:
``current -> releases/<id>`` with cases, dictionary and a manifest holding k); the
expected counts come from a GROUP BY that DuckDB runs on the same file here.
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from stats_fixtures import RELEASE_ID, write_public

from ctdc.errors import CtdcError
from ctdc.stats import NULL_LABEL, SafeTable, Suppression, safe_table

ROWS = 400


def _cases(seed: int = 5) -> pa.Table:
    """Random rows with NULLs in every column; the names are not the CTDC schema's."""
    rng = random.Random(seed)
    return pa.table({
        "region": [rng.choice(["North", "South", "East", "West", None]) for _ in range(ROWS)],
        "age band": [rng.choice([18, 25, 40, 60, None]) for _ in range(ROWS)],
        "sex_status": [rng.choice(["kept", "generalized", "suppressed"]) for _ in range(ROWS)],
        "flag": [rng.choice([True, True, False, None]) for _ in range(ROWS)],
        "note": [f"n{i}" for i in range(ROWS)],
    })  # fmt: skip


@pytest.fixture
def public(tmp_path: Path) -> Path:
    return write_public(tmp_path / "public", _cases(), k=5)


def _group_by(public: Path, columns: str, where: str = "TRUE") -> dict[tuple, int]:
    path = public / "current" / "cases.parquet"
    rows = duckdb.sql(f"SELECT {columns}, count(*) FROM read_parquet('{path}') "
                      f"WHERE {where} GROUP BY ALL").fetchall()  # fmt: skip
    return {tuple(None if v is None else str(v) for v in row[:-1]): row[-1] for row in rows}


def _published(table: SafeTable) -> dict[tuple, int]:
    return {cell.values: cell.count for cell in table.cells if cell.count is not None}


def test_counts_equal_a_duckdb_group_by(public: Path) -> None:
    table = safe_table(public, ["region", "age band"])
    expected = _group_by(public, 'region, "age band"')
    assert {cell.values for cell in table.cells} == set(expected)  # NULL a category of its own
    assert (None, None) in expected
    for values, count in _published(table).items():
        assert count == expected[values]
    assert table.k == 5 and table.release_id == RELEASE_ID
    regions = _group_by(public, "region")
    for margin in table.margins[:-1]:
        if margin.column == "region" and margin.count is not None:
            assert margin.count == regions[(margin.value,)]
    assert table.total.count == ROWS


def test_labels_order_and_levels(public: Path) -> None:
    table = safe_table(public, ["age band"])
    assert [cell.values[0] for cell in table.cells] == ["18", "25", "40", "60", None]
    records = table.records()
    assert records[-2]["age band"] == NULL_LABEL and records[-1]["age band"] == "(all)"
    assert [r["level"] for r in records] == ["cell"] * 5 + ["total"]


def test_a_cell_below_k_is_blank_with_reason_primary_and_its_row_gets_a_complement(
    tmp_path: Path,
) -> None:
    rows = [("a", "x")] * 3 + [("a", "y")] * 20 + [("a", "z")] * 30 \
        + [("b", "x")] * 25 + [("b", "y")] * 40 + [("b", "z")] * 50  # fmt: skip
    data = pa.table({"g": [r[0] for r in rows], "h": [r[1] for r in rows]})
    table = safe_table(write_public(tmp_path / "p", data, k=5), ["g", "h"])
    by_values = {cell.values: cell for cell in table.cells}
    assert by_values[("a", "x")].count is None
    assert by_values[("a", "x")].suppressed is Suppression.PRIMARY
    # row a and column x each had exactly one primary: each gets a complement
    assert [by_values[("a", h)].suppressed for h in "yz"].count(Suppression.COMPLEMENTARY) == 1
    assert by_values[("b", "x")].suppressed is Suppression.COMPLEMENTARY
    assert all(m.count is not None for m in table.margins)
    record = next(r for r in table.records() if r["g"] == "a" and r["h"] == "x")
    assert record["count"] is None and record["suppressed"] == "primary"
    assert "3" not in table.to_csv().splitlines()[1]


def test_where_filters_in_duckdb(public: Path) -> None:
    where = "\"age band\" >= 25 AND sex_status <> 'suppressed' -- analysts comment"
    table = safe_table(public, ["region"], where=where)
    expected = _group_by(public, "region", where.split("--")[0])
    assert _published(table) == {v: n for v, n in expected.items() if n >= 5}
    assert table.total.count == sum(expected.values())


def test_share_is_true_rows_over_rows(public: Path) -> None:
    table = safe_table(public, ["region"], share="flag")
    path = public / "current" / "cases.parquet"
    shares = dict(duckdb.sql(f"SELECT region, count(*) FILTER (WHERE flag) / count(*) "
                             f"FROM read_parquet('{path}') GROUP BY ALL").fetchall())  # fmt: skip
    for cell in table.cells:
        if cell.share is not None:
            assert cell.share == pytest.approx(shares[cell.values[0]])
    assert table.total.share is not None


def test_k_may_only_be_raised(public: Path) -> None:
    assert safe_table(public, ["region"], k=80).k == 80
    with pytest.raises(CtdcError) as caught:
        safe_table(public, ["region"], k=4)
    assert caught.value.slug == "bad-option" and "below the release's k 5" in str(caught.value)


@pytest.mark.parametrize(
    ("by", "share", "slug", "words"),
    [
        (["regio"], None, "bad-option", ["'regio' is not in release", "region, age band"]),
        (["region", "region"], None, "bad-option", ["more than once"]),
        ([], None, "bad-option", ["at least one column"]),
        (["region"], "note", "bad-option", ["'note' is VARCHAR, not BOOLEAN", ": flag"]),
        (["region"], "flags", "bad-option", ["'flags' is not in release"]),
        (["flag"], "flag", "bad-option", ["also a --by column"]),
    ],
)
def test_column_errors(public: Path, by: list[str], share: str | None, slug: str,
                       words: list[str]) -> None:  # fmt: skip
    with pytest.raises(CtdcError) as caught:
        safe_table(public, by, share=share)
    assert caught.value.slug == slug
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize(
    ("where", "slug", "words"),
    [
        ("nope > 1", "bad-sql", ['"nope" not found']),
        ("region = ", "bad-sql", ["syntax error"]),
        ("   ", "bad-sql", ["--where is empty"]),
        # clauses after the condition: a syntax error inside the parentheses stats adds...
        ("TRUE LIMIT 1", "bad-sql", ["syntax error"]),
        ("TRUE; SELECT 1", "bad-sql", ["syntax error"]),
        ("1=1) GROUP BY ALL UNION SELECT 1, 1, 1 --", "bad-sql", ["syntax error"]),
        # ... or, when they close and reopen them, a statement that is not a lone WHERE
        ("TRUE) GROUP BY region HAVING (TRUE", "query-refused", ["one condition"]),
        ("TRUE) UNION SELECT * FROM cases WHERE (TRUE", "query-refused", ["one condition"]),
        ("TRUE) LIMIT (1", "query-refused", ["one condition"]),
        ("TRUE) ORDER BY (region", "query-refused", ["one condition"]),
        ("region IN (SELECT * FROM read_text('/etc/passwd'))", "query-refused", ["read_text"]),
        ("region IN (SELECT * FROM '/etc/passwd')", "query-refused", ["not one of the views"]),
        ("NOT " * 600 + "TRUE", "query-refused", ["nested too deeply"]),
    ],
)
def test_where_errors(public: Path, where: str, slug: str, words: list[str]) -> None:
    with pytest.raises(CtdcError) as caught:
        safe_table(public, ["region"], where=where)
    assert caught.value.slug == slug, str(caught.value)
    for word in words:
        assert word in str(caught.value)


def test_no_release_yet(tmp_path: Path) -> None:
    with pytest.raises(CtdcError) as caught:
        safe_table(tmp_path, ["region"])
    assert caught.value.slug == "no-release"


def test_a_release_without_k_in_its_manifest(public: Path) -> None:
    (public / "current" / "manifest.json").write_text('{"release_id": "x"}', encoding="utf-8")
    with pytest.raises(CtdcError) as caught:
        safe_table(public, ["region"])
    assert caught.value.slug == "no-release" and "has no k" in str(caught.value)


def test_odd_column_names(tmp_path: Path) -> None:
    data = pa.table({'a "quoted" name': ["x"] * 6 + ["y"] * 7, "count": [1] * 13})
    table = safe_table(write_public(tmp_path / "p", data, k=5), ['a "quoted" name', "count"])
    assert [(c.values, c.count) for c in table.cells] == [(("x", "1"), 6), (("y", "1"), 7)]
