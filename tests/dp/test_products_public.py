"""The DP products beside a release, as analysts meet them: the views ``synthetic_cases``
and ``dp_counts`` in ``views.sql``, the catalog and ``ctdc query`` (appearing with the
first product, and no wider than its files), and the public report, which labels them.

One copy of the shared sample release gets a synthetic table and two DP tables through the
real CLI; the checks read them back with DuckDB and pyarrow, and plant a symlink posing as
a DP table to show that the sandbox does not open it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import SHARED_K, copy_of_sample, query_json, run_ctdc
from ctdc.store.catalog import refresh_catalog
from ctdc.store.public import PublicArea

# the slow tier: a full pac-synth pass and two DP tables, made once for the module
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def products(shared_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shared release with one synthetic table and two DP count tables; the
    views file's bytes before the first product and after each command are kept."""
    root = tmp_path_factory.mktemp("products") / "copy"
    copy_of_sample(shared_sample, root)
    views = root / "data" / "public" / "views.sql"
    seen = {"before": views.read_bytes()}
    commands = {
        "dp": ["stats", "--dp", "2", "--by", "gender"],
        "dp again": ["stats", "--dp", "1", "--by", "gender,data_source"],
        "synthetic": ["synthesize", "--epsilon", "1", "--rows", "30"],
    }
    for name, args in commands.items():
        result = run_ctdc(root, "--data-dir", "data", *args)
        assert result.exit_code == 0, result.output
        seen[name] = views.read_bytes()
    (root / "views-seen.txt").write_bytes(b"\0".join(seen[n] for n in seen))
    return root


def _seen(root: Path) -> list[bytes]:
    return (root / "views-seen.txt").read_bytes().split(b"\0")


def test_the_views_appear_with_the_first_product_and_only_then(products: Path) -> None:
    before, first_dp, second_dp, synthetic = _seen(products)
    dp, synth = b"VIEW dp_counts", b"VIEW synthetic_cases"
    assert dp not in before and synth not in before
    assert dp in first_dp and synth not in first_dp
    assert second_dp == first_dp  # a second DP table joins through the glob: no rewrite
    assert synth in synthetic
    area = PublicArea(products / "data" / "public")
    assert refresh_catalog(area) is False  # nothing new to add


def test_views_sql_and_the_catalog_read_what_the_files_hold(
    products: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = products / "data" / "public"
    tables = sorted((public / "dp").glob("*.parquet"))
    assert len(tables) == 2
    synthetic = pq.read_table(public / "synthetic" / "current" / "cases.parquet")
    expected = {t.stem: pq.read_table(t).num_rows for t in tables}
    monkeypatch.chdir(public)  # views.sql's paths are relative to the public folder
    with duckdb.connect() as con:
        con.execute(views_text := (public / "views.sql").read_text(encoding="utf-8"))
        assert "dp/[0-9]*.parquet" in views_text
        got = dict(con.execute("SELECT dp_table, count(*) FROM dp_counts GROUP BY ALL")
                   .fetchall())  # fmt: skip
        assert got == expected
        assert con.execute("SELECT count(*) FROM synthetic_cases").fetchone() == (
            synthetic.num_rows,
        )
    monkeypatch.undo()
    with duckdb.connect(str(public / "catalog.duckdb"), read_only=True) as con:
        assert dict(con.execute("SELECT dp_table, count(*) FROM dp_counts GROUP BY ALL")
                    .fetchall()) == expected  # fmt: skip
        columns = [d[0] for d in con.execute("SELECT * FROM synthetic_cases").description]
        assert columns == synthetic.column_names


def test_ctdc_query_reads_both_products(products: Path) -> None:
    public = products / "data" / "public"
    tables = sorted((public / "dp").glob("*.parquet"))
    [first] = [t for t in tables if t.stem.endswith("-counts-gender")]  # by gender only
    [second] = [t for t in tables if t != first]
    rows = query_json(products, "SELECT dp_table, gender, data_source, count FROM dp_counts "
                      "ORDER BY ALL")  # fmt: skip
    for table in (first, second):
        truth = pq.read_table(table).to_pylist()
        mine = [r for r in rows if r["dp_table"] == table.stem]
        assert sorted(r["count"] for r in mine) == sorted(r["count"] for r in truth)
        assert {r["gender"] for r in mine} == {r["gender"] for r in truth}
    assert {r["data_source"] for r in rows if r["dp_table"] == first.stem} == {None}
    assert not any("/" in r["dp_table"] for r in rows)  # no path, only the table's name
    [n] = query_json(products, "SELECT count(*) AS n FROM synthetic_cases")
    assert n["n"] == pq.read_metadata(public / "synthetic" / "current" / "cases.parquet").num_rows
    joined = query_json(products, "SELECT count(*) AS n FROM cases, (SELECT 1 FROM dp_counts "
                        "LIMIT 1)")  # fmt: skip
    assert joined[0]["n"] > SHARED_K


def test_a_symlink_posing_as_a_dp_table_is_not_opened(products: Path, tmp_path: Path) -> None:
    """Planted in dp/ with a DP table's name, pointing at a staged batch: the sandbox leaves it
    out of ``dp_counts`` and refuses to open it by path."""
    public = products / "data" / "public"
    staged = next((products / "data" / "staging").rglob("*.parquet"))
    planted = public / "dp" / "20990101T000000Z-counts-gender.parquet"
    planted.symlink_to(staged)
    try:
        rows = query_json(products, "SELECT DISTINCT dp_table FROM dp_counts")
        assert planted.stem not in {r["dp_table"] for r in rows}
        result = run_ctdc(products, "--data-dir", "data", "query",
                          f"SELECT * FROM read_parquet('{planted}')")  # fmt: skip
        assert result.exit_code == 2 and "query-refused" in result.stderr
        assert "case_pseudonym" not in result.output
    finally:
        planted.unlink()


def test_the_report_labels_the_dp_table_and_the_synthetic_rows(products: Path) -> None:
    result = run_ctdc(products, "--data-dir", "data", "report")
    assert result.exit_code == 0, result.stderr
    page = (products / "data" / "public" / "report.html").read_text(encoding="utf-8")
    section = page[page.index('id="dp-products"') :]
    assert "Not the k-anonymous release." in section
    assert "counts by gender" in section and "SYNTHETIC DATA: no row is a real case." in section
    assert "30 rows sampled by marginal model ctdc" in section
    audit = run_ctdc(products, "--data-dir", "data", "audit", "--k", str(SHARED_K))
    assert audit.exit_code == 0, audit.stdout  # the report and the products pass the audit
