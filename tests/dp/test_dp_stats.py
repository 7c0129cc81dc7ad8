"""``ctdc stats --dp`` on a real workspace (ingested and harmonized in-process): what it
publishes, where, that nothing private reaches it, the budget that refuses overspending, and
every bad input with its slug and exit code."""

from __future__ import annotations

import json
import re
import shutil
import stat
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import Result

from conftest import ROOT, TEST_MAPPING, run_ctdc, write_test_export
from ctdc.audit.files import files, markers_and_bytes, private_strings
from ctdc.audit.run import workspace_area
from ctdc.audit.sources import open_sources
from ctdc.store.policy import pinned_schema
from ctdc.store.workspace import Workspace

RECORDS = 60
MARKERS = ("MarkerNombreDP", "MarkerNotaDP", "MarkerCaseDP")
SIDECAR_KEYS = {"product", "by", "share", "mechanism", "epsilon", "delta", "scale", "confidence",
                "cells", "release_id", "epoch", "created_at", "table"}  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose export carried markers in its name, notes and case id columns."""
    root = tmp_path_factory.mktemp("dp-project")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    write_test_export(root / "export.csv", RECORDS, seed=7)
    text = (root / "export.csv").read_bytes().decode("latin-1")
    text = re.sub(r"^C(\d{5});N\d+;x;", rf"{MARKERS[2]}\1;{MARKERS[0]}\1;{MARKERS[1]};", text,
                  flags=re.M)  # fmt: skip
    assert all(text.count(m) == RECORDS for m in MARKERS)
    (root / "export.csv").write_bytes(text.encode("latin-1"))
    for args in (["init"], ["ingest", "--org", "test-org", "export.csv", "--quiet"],
                 ["harmonize", "--quiet"]):  # fmt: skip
        result = run_ctdc(root, "--data-dir", "data", *args)
        assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    """A copy of :func:`built` of this test's own: the budget is spent per test."""
    shutil.copytree(built, tmp_path / "p", symlinks=True)
    return tmp_path / "p"


def ctdc(root: Path, *args: str) -> Result:
    return run_ctdc(root, "--data-dir", "data", *args)


def staged_counts(root: Path, by: str) -> dict[tuple, int]:
    """The true counts, one record per pseudonym, straight from the staging Parquet."""
    files_ = str(root / "data" / "staging" / "*" / "*.parquet")
    rows = duckdb.sql(f"SELECT {by}, count(*) FROM (SELECT DISTINCT ON (case_pseudonym) * "
                      f"FROM read_parquet('{files_}')) GROUP BY ALL").fetchall()  # fmt: skip
    return {tuple(r[:-1]): r[-1] for r in rows}


@pytest.mark.slow
def test_dp_counts_every_schema_cell_of_the_true_records(project: Path) -> None:
    # a huge epsilon makes the noise ~0 (P(noise != 0) ~ 2e-22): the counts are then the
    # staged records' own, not the k-anonymous release's
    assert ctdc(project, "policy", "set", "dp_epsilon_budget=100", "--reason", "t").exit_code == 0
    result = ctdc(project, "stats", "--dp", "50", "--by", "gender,citizenship", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    countries = len(pinned_schema(Workspace(project / "data"))["citizenship"].allowed)
    assert len(doc["records"]) == doc["cells"] == 5 * (countries + 1)  # and NULL, in each
    true = staged_counts(project, "gender, citizenship")
    assert sum(true.values()) == RECORDS
    got = {(r["gender"], r["citizenship"]): r["count"] for r in doc["records"]}
    assert len(got) == doc["cells"]  # every combination, once
    assert all(got[k] == v for k, v in true.items())
    assert all(v == 0 for k, v in got.items() if k not in true)  # empty cells published too
    assert {"Transgender", None} <= {g for g, _ in got}
    for r in doc["records"]:
        assert r["count_low"] <= r["count"] <= r["count_high"]
    assert doc["epsilon"] == 50 and doc["delta"] == 0 and doc["scale"] == pytest.approx(0.02)
    # a withdrawn record leaves the DP counts at once, as it leaves the release
    withdrawn = ctdc(project, "withdraw", "--org", "test-org", f"{MARKERS[2]}00003",
                     "--reason", "consent")  # fmt: skip
    assert withdrawn.exit_code == 0, withdrawn.output
    again = ctdc(project, "stats", "--dp", "40", "--by", "data_source", "--format", "json")
    assert sum(r["count"] for r in json.loads(again.stdout)["records"]) == RECORDS - 1


def test_dp_counts_by_level_columns_roll_the_true_records_up(project: Path) -> None:
    """``--by citizenship_region,age_band_wide``: the cells are the hierarchies' values at
    those levels (read here from their CSV files), the counts the true records rolled up."""
    assert ctdc(project, "policy", "set", "dp_epsilon_budget=100", "--reason", "t").exit_code == 0
    result = ctdc(project, "stats", "--dp", "50", "--by", "citizenship_region,age_band_wide",
                  "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    region, wide = _level("country", 2), _level("age_band", 1)
    true: dict[tuple, int] = {}
    for (country, band), n in staged_counts(project, "citizenship, age_band").items():
        key = (region.get(country), wide.get(band))
        true[key] = true.get(key, 0) + n
    got = {(r["citizenship_region"], r["age_band_wide"]): r["count"] for r in doc["records"]}
    assert {k[0] for k in got} == {*region.values(), None} and len(got) == doc["cells"]
    assert {k[1] for k in got} == {*wide.values(), None}
    assert all(got[k] == v for k, v in true.items()) and sum(true.values()) == RECORDS
    assert all(v == 0 for k, v in got.items() if k not in true)
    refused = ctdc(project, "stats", "--dp", "1", "--by", "gender", "--share",
                   "citizenship_region")  # fmt: skip
    assert refused.exit_code == 2 and "bad-option" in refused.stderr


def _level(hierarchy: str, level: int) -> dict[str, str]:
    """Leaf -> its value at ``level``, from the schema's hierarchy CSV."""
    text = (ROOT / "schemas" / "hierarchies" / f"{hierarchy}.csv").read_text(encoding="utf-8")
    return {row[0]: row[level] for row in (line.split(";") for line in text.splitlines())}


def test_dp_files_in_the_public_folder_with_sidecar_ledger_and_audit(project: Path) -> None:
    result = ctdc(project, "stats", "--dp", "1", "--by", "gender,data_source", "--share",
                  "is_abduction", "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert len(doc["records"]) == 5 * 2  # gender (4 and NULL) x data source (required)
    total = sum(r["count"] for r in doc["records"])
    assert abs(total - RECORDS) <= 40  # 20 noisy parts of scale 1: sd ~6
    for r in doc["records"]:
        assert 0 <= r["share_low"] <= r["share_high"] <= 1
    public = project / "data" / "public"
    dp_dir = public / "dp"
    names = sorted(p.name for p in dp_dir.iterdir())
    assert len(names) == 2 and doc["published"] == f"dp/{names[1]}"
    assert stat.S_IMODE(dp_dir.stat().st_mode) == 0o755
    assert {stat.S_IMODE((dp_dir / n).stat().st_mode) for n in names} == {0o644}
    sidecar = json.loads((dp_dir / names[0]).read_text(encoding="utf-8"))
    assert set(sidecar) == SIDECAR_KEYS
    release = (public / "current").resolve().name
    assert sidecar["release_id"] == release and sidecar["epoch"] == 1
    assert sidecar["epsilon"] == 1.0 and sidecar["delta"] == 0.0 and sidecar["scale"] == 1.0
    table = pq.read_table(dp_dir / names[1]).to_pylist()
    meta = pq.read_schema(dp_dir / names[1]).metadata[b"ctdc.dp"]
    assert json.loads(meta) == {k: v for k, v in sidecar.items() if k != "table"}
    assert [r["count"] for r in table] == [r["count"] for r in doc["records"]]
    ledger = (project / "data" / "privacy-budget.jsonl").read_text(encoding="utf-8")
    entry = json.loads(ledger)
    assert entry["product"] == "counts by gender, data_source, share of is_abduction"
    assert (entry["epsilon"], entry["release_id"], entry["epoch"]) == (1.0, release, 1)
    assert stat.S_IMODE((project / "data" / "privacy-budget.jsonl").stat().st_mode) == 0o600

    # the audit: the files check accepts dp/ and its files, and nothing else in it
    ws = Workspace(project / "data")
    area = workspace_area(ws)
    current = area.current.resolve()
    assert files(area, current, area.mode).passed
    (dp_dir / "notes.txt").write_text("x")
    (dp_dir / names[0]).chmod(0o666)
    check = files(area, current, area.mode)
    assert not check.passed and "stray dp/notes.txt" in check.detail
    assert f"dp/{names[0]} has mode 0666, not 0644" in check.detail


@pytest.mark.slow
def test_nothing_private_reaches_the_dp_files(project: Path) -> None:
    """The audit's markers check over dp/: planted markers, every pseudonym, organization
    id, batch id and export hash of the workspace, as bytes and as decoded Parquet."""
    for by in ("gender,citizenship", "year_of_registration"):
        assert ctdc(project, "stats", "--dp", "0.5", "--by", by).exit_code == 0
    ws = Workspace(project / "data")
    schema = pinned_schema(ws)
    current = workspace_area(ws).current.resolve()
    src = open_sources(ws, schema, current, None, 10)
    secrets = private_strings(src, None, MARKERS)
    assert len(secrets["pseudonym"]) == RECORDS and secrets["organization id"]
    assert secrets["batch id"] and secrets["marker"] == set(MARKERS)
    dp_dir = project / "data" / "public" / "dp"
    check = markers_and_bytes(src, dp_dir, secrets)
    assert check.passed, check.detail
    assert "4 files free of" in check.detail
    # the check can fail: a planted pseudonym in a DP sidecar is found
    leaked = next(iter(secrets["pseudonym"]))
    (dp_dir / "x.json").write_text(json.dumps({"note": leaked}))
    assert not markers_and_bytes(src, dp_dir, secrets).passed


def test_the_budget_refuses_overspending_before_any_noise(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ctdc(project, "policy", "set", "dp_epsilon_budget=1", "--reason", "t").exit_code == 0
    assert ctdc(project, "stats", "--dp", "0.6", "--by", "gender").exit_code == 0
    budget = project / "data" / "privacy-budget.jsonl"
    before, listed = budget.read_bytes(), sorted((project / "data/public/dp").iterdir())

    import ctdc.dp.aggregates as agg

    drawn: list[int] = []
    build = agg.count_measurement

    def counting(cells: int, epsilon: float):
        meas, scale, eps = build(cells, epsilon)
        return (lambda data: drawn.append(1) or meas(data)), scale, eps

    monkeypatch.setattr(agg, "count_measurement", counting)
    refused = ctdc(project, "stats", "--dp", "0.6", "--by", "gender", "--format", "json")
    assert refused.exit_code == 1
    assert "error[budget-exceeded]" in refused.stderr and "0.4 left" in refused.stderr
    assert json.loads(refused.stdout)["error"]["slug"] == "budget-exceeded"
    assert drawn == [] and budget.read_bytes() == before
    assert sorted((project / "data/public/dp").iterdir()) == listed
    # what is left still fits, and is drawn once
    assert ctdc(project, "stats", "--dp", "0.4", "--by", "gender").exit_code == 0
    assert drawn == [1]
    status = ctdc(project, "status")
    assert "privacy budget: epsilon 1 of 1 used by 2 DP products (all epochs), 0 left" in (
        status.stdout
    )
    doc = json.loads(ctdc(project, "status", "--json").stdout)["privacy_budget"]
    assert doc == {"epoch": 1, "budget": 1.0, "used": 1.0, "left": 0.0, "products": 2}


def test_csv_and_table_carry_the_guarantee(project: Path) -> None:
    csv = ctdc(project, "stats", "--dp", "0.5", "--by", "data_source", "--format", "csv")
    assert csv.exit_code == 0, csv.stderr
    lines = csv.stdout.splitlines()
    assert lines[0] == "data_source,count,count_low,count_high,epsilon,delta"
    assert [line.split(",")[0] for line in lines[1:]] == ["Case Management", "Hotline"]
    assert all(line.endswith(",0.5,0.0") for line in lines[1:])
    shown = ctdc(project, "stats", "--dp", "0.5", "--by", "gender", "--share", "is_abduction")
    assert shown.exit_code == 0, shown.stderr
    assert "epsilon=0.5, delta=0" in shown.stdout and "95% interval" in shown.stdout
    assert "(null)" in shown.stdout and "NonConforming" in shown.stdout
    assert "published dp/" in shown.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--dp", "0", "--by", "gender"], "epsilon must be a positive number"),
        (["--dp=-1", "--by", "gender"], "epsilon must be a positive number"),
        (["--dp", "nan", "--by", "gender"], "epsilon must be a positive number"),
        (["--dp", "1", "--by", "nope"], "'nope' is not a released field"),
        (["--dp", "1", "--by", "citizenship,country_of_exploitation,gender"], "over the limit"),
        (["--dp", "1", "--by", "gender", "--share", "gender"], "named twice"),
        (["--dp", "1", "--by", "gender", "--where", "gender = 'Male'"], "--where cannot be"),
    ],
)
def test_bad_inputs_are_usage_errors_that_charge_nothing(
    built: Path, args: list[str], said: str
) -> None:
    result = ctdc(built, "stats", *args, "--format", "json")
    assert result.exit_code == 2, result.output
    assert "error[bad-option]" in result.stderr and said in result.stderr
    assert json.loads(result.stdout)["error"]["slug"] == "bad-option"
    assert not (built / "data" / "privacy-budget.jsonl").exists()
    assert not (built / "data" / "public" / "dp").exists()


def test_the_budget_is_a_policy_setting(built: Path) -> None:
    result = ctdc(built, "policy", "set", "dp_epsilon_budget=-1", "--reason", "t")
    assert result.exit_code == 2 and "dp_epsilon_budget must be" in result.stderr
