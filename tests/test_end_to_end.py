"""The whole job as its three users run it, through the real CLI, on marked sample exports.

A data officer ingests four organizations' exports (CSV latin-1, XLSX, JSON, CSV),
the cron job harmonizes, an analyst queries. The exports carry a unique marker in
every direct identifier and free-text cell; the checks below read the release
back with their own DuckDB and pyarrow code, not with ctdc's, and prove:

- no marker, pseudonym or organization id in any byte of the release folder;
  the public folder, which is all an analyst reads, holds no batch id either;
- no released column has the role ``direct_identifier`` or ``internal``;
- every combination of quasi-identifier values occurs at least k times;
- the manifest's row accounting balances and matches the files on disk.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import query_json, run_ctdc
from ctdc.package import package_files
from ctdc.sample import ORGS, generate_samples
from ctdc.schema import Schema

# the slow tier: an end-to-end scenario (make test runs it after the fast tier)
pytestmark = pytest.mark.slow

MARKER = "QQLEAKCANARY7"
K = 5
ROWS = 300


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Sample (marked) -> init -> ingest x4 -> a second registry batch -> harmonize."""
    root = tmp_path_factory.mktemp("e2e")
    sample = generate_samples(root / "exports", rows=ROWS, seed=23, marker=MARKER)
    assert run_ctdc(root, "--data-dir", "data", "init", "--k-floor", "2").exit_code == 0
    ingests = {}
    for org in ORGS:
        result = run_ctdc(root, "--data-dir", "data", "ingest", "--org", org,
                    str(sample.files[org]), "--json")  # fmt: skip
        assert result.exit_code == 0, result.stderr
        [ingests[org]] = json.loads(result.stdout)
    # A later registry export repeats 30 cases with a corrected year: latest batch wins.
    text = sample.files["registry-gov"].read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    bad = {p.row for p in sample.planted if p.org == "registry-gov"}
    header = rows[0]
    body = [r for n, r in enumerate(rows[1:], start=2) if n not in bad][:30]
    year = header.index("yearOfRegistration")
    for r in body:
        r[year] = str(int(r[year]) - 1)
    update = root / "exports" / "registry-gov-update.csv"
    with update.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *body])
    result = run_ctdc(root, "--data-dir", "data", "ingest", "--org", "registry-gov", str(update),
                "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    ingests["registry-gov-update"] = json.loads(result.stdout)[0]
    assert ingests["registry-gov-update"]["staged"] == 30
    result = run_ctdc(root, "--data-dir", "data", "harmonize", "--k", str(K), "--json")
    assert result.exit_code == 0, result.stderr
    release = (root / "data" / "current").resolve()
    return {
        "root": root,
        "data": root / "data",
        "release": release,
        "public": root / "data" / "public",
        "harmonize": json.loads(result.stdout),
        "manifest": json.loads((release / "manifest.json").read_text()),
        "ingests": ingests,
        "sample": sample,
    }


def _all_text(path: Path) -> str:
    """Every cell of a Parquet file as text (the file bytes are compressed)."""
    table = pq.read_table(path)
    return (
        "\n".join(
            "\x1f".join("" if v is None else str(v) for v in col.to_pylist())
            for col in table.columns
        )
        + "\n"
        + "\x1f".join(table.column_names)
        + str(pq.read_metadata(path).metadata)
    )


def test_release_folder_has_no_marker_pseudonym_or_org_in_any_byte(
    run: dict, schema: Schema
) -> None:
    files = sorted(p for p in run["release"].rglob("*") if p.is_file())
    assert {p.name for p in files} >= {"cases.parquet", "manifest.json", "dictionary.parquet"}
    public = sorted(p for p in run["public"].rglob("*") if p.is_file() and not p.is_symlink())
    assert {p.name for p in public} == {"cases.parquet", "manifest.json", "dictionary.parquet",
                                        "catalog.duckdb", "views.sql",
                                        *package_files(schema)}  # fmt: skip
    private_only = [*ORGS, *(i["batch_id"] for i in run["ingests"].values())]
    for path in public:  # the private manifest names orgs and batches; the public side never
        raw = path.read_bytes().decode("latin-1")
        assert not [s for s in private_only if s in raw], f"{path.name} names an org or batch"
    files += public
    pseudonyms = set()
    for staged in (run["data"] / "staging").rglob("*.parquet"):
        pseudonyms |= set(pq.read_table(staged, columns=["case_pseudonym"])[0].to_pylist())
    assert len(pseudonyms) >= 4 * ROWS * 0.9
    for path in files:
        raw = path.read_bytes()
        texts = [raw.decode("latin-1")]
        if path.suffix == ".parquet":
            texts.append(_all_text(path))
        for text in texts:
            assert MARKER not in text, f"marker leaked into {path.name}"
            assert MARKER.lower() not in text.lower()
            leaked = [p for p in pseudonyms if p in text]
            assert not leaked, f"pseudonyms leaked into {path.name}: {leaked[:3]}"
    # The marker reached ingest (so its absence above means something).
    exports = "".join(p.read_bytes().decode("latin-1") for p in run["sample"].files.values())
    assert exports.count(MARKER) > 4 * ROWS


def test_release_columns_have_no_identifier_or_internal_role(run: dict, schema: Schema) -> None:
    columns = set(pq.read_schema(run["release"] / "cases.parquet").names)
    forbidden = set(schema.names("direct_identifier", "internal"))
    assert {"org_id", "case_pseudonym", "batch_id"} <= forbidden
    assert not columns & forbidden
    assert set(schema.quasi_identifiers) <= columns
    dictionary = pq.read_table(run["release"] / "dictionary.parquet").to_pylist()
    assert {d["role"] for d in dictionary} <= {"quasi_identifier", "sensitive", "attribute",
                                               "status"}  # fmt: skip
    assert [d["column"] for d in dictionary] == pq.read_schema(
        run["release"] / "cases.parquet").names  # fmt: skip


def test_every_quasi_identifier_combination_occurs_at_least_k_times(
    run: dict, schema: Schema
) -> None:
    qis = ", ".join(f'"{q}"' for q in schema.quasi_identifiers)
    cases = str(run["release"] / "cases.parquet")
    con = duckdb.connect()
    # GROUP BY puts NULLs (suppressed cells) in a group of their own: the strict semantics.
    smallest, classes, rows = con.execute(
        f"SELECT min(n), count(*), sum(n) FROM "
        f"(SELECT count(*) AS n FROM read_parquet(?) GROUP BY {qis})",
        [cases],
    ).fetchone()
    assert smallest >= K
    assert classes > 1 and rows == run["manifest"]["accounting"]["total"]["released"]
    # The released data still says something: not everything suppressed.
    known = con.execute(
        "SELECT count(*) FROM read_parquet(?) WHERE gender IS NOT NULL", [cases]
    ).fetchone()[0]
    assert known > rows / 2
    assert run["manifest"]["k"] == K and run["manifest"]["k_check"]["passed"]


def test_accounting_balances_and_matches_the_files(run: dict) -> None:
    acc = run["manifest"]["accounting"]
    rows = [acc["total"], *acc["per_org"].values()]
    for row in rows:
        assert row["balanced"]
        assert row["rows_read"] == row["staged"] + row["quarantined"]
        assert (
            row["staged"] == row["released"] + row["records_suppressed"] + row["duplicates_merged"]
        )
    assert set(acc["per_org"]) == set(ORGS)
    ingests = run["ingests"]
    registry = acc["per_org"]["registry-gov"]
    assert registry["rows_read"] == ROWS + 30
    assert registry["duplicates_merged"] == 30  # 30 cases re-sent; the later batch won
    for org in ORGS:
        assert acc["per_org"][org]["quarantined"] >= ingests[org]["quarantined"] > 0
    # Against the files: released rows, quarantine rows.
    released = pq.read_metadata(run["release"] / "cases.parquet").num_rows
    assert released == acc["total"]["released"]
    quarantined = sum(
        pq.read_metadata(p).num_rows for p in (run["data"] / "quarantine").rglob("*.parquet")
    )
    assert quarantined == acc["total"]["quarantined"]
    planted = len(run["sample"].planted)
    assert acc["total"]["quarantined"] == planted


def test_latest_batch_wins_for_resent_cases(run: dict) -> None:
    from ctdc.harmonize.merge import merge_staging
    from ctdc.store.ledger import read_entries
    from ctdc.store.workspace import open_workspace

    ws = open_workspace(run["data"])
    entries = read_entries(ws)
    update = next(
        e for e in entries if e.batch_id == run["ingests"]["registry-gov-update"]["batch_id"]
    )
    first = next(e for e in entries if e.org == "registry-gov" and e is not update)
    assert update.seq > first.seq
    merged, dups = merge_staging(ws, entries)
    assert dups["registry-gov"] == 30 and merged["case_pseudonym"].is_unique
    resent = pq.read_table(
        ws.staging_dir("registry-gov") / f"{update.batch_id}.parquet"
    ).to_pandas()
    old = pq.read_table(ws.staging_dir("registry-gov") / f"{first.batch_id}.parquet").to_pandas()
    got = merged.set_index("case_pseudonym").loc[resent["case_pseudonym"], "year_of_registration"]
    was = old.set_index("case_pseudonym").loc[resent["case_pseudonym"], "year_of_registration"]
    assert (got.to_numpy() == resent["year_of_registration"].to_numpy()).all()
    assert (got.to_numpy() == was.to_numpy() - 1).all()


def test_analyst_queries_the_release(run: dict) -> None:
    total = run["manifest"]["accounting"]["total"]["released"]
    # what the analyst reads is the public copy of the verified release, byte for byte
    public = run["root"] / run["harmonize"]["public"]["path"]  # relative to the cwd, as given
    assert public.resolve() == (run["public"] / "current").resolve()
    cases = (public / "cases.parquet").read_bytes()
    assert cases == (run["release"] / "cases.parquet").read_bytes()
    assert query_json(run["root"], "SELECT count(*) AS n FROM cases") == [{"n": total}]
    result = run_ctdc(run["root"], "--data-dir", "data", "query",
                "SELECT gender, count(*) AS n FROM cases GROUP BY ALL ORDER BY n DESC",
                "--format", "csv")  # fmt: skip
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "gender,n" and sum(int(x.split(",")[1]) for x in lines[1:]) == total
    # Read-only: analysts cannot write next to the release.
    result = run_ctdc(run["root"], "--data-dir", "data", "query", "CREATE TABLE x AS SELECT 1")
    assert result.exit_code == 2
