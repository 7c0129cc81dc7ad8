"""``ctdc synthesize`` in-process: what it publishes, that every file says synthetic, that the
audit's ``files`` check accepts exactly it, that nothing private leaks, and its refusals."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import ROOT, SHARED_K, copy_of_sample, run_ctdc
from ctdc.audit.files import files, find_secrets, parquet_text
from ctdc.store.public import PublicArea
from ctdc.store.workspace import Workspace, init_workspace

# the slow tier: pac-synth fits on ~1,200 records
pytestmark = pytest.mark.slow

MARKER = "QQSYNTHCANARY5"
#: rows per organization of the marked workspace: ~1,200 records, enough for pac-synth at
#: epsilon 1 to keep some values (at 40 a organization, ~160 records, it keeps none)
MARKED_ROWS = 300


def _ingested(root: Path, rows: int, marker: str | None = None) -> Workspace:
    """The four sample exports of ``rows`` rows each, ingested (not harmonized: the
    synthesizer reads staging)."""
    from ctdc.ingest import ingest_file
    from ctdc.mapping import load_mapping
    from ctdc.sample import generate_samples
    from ctdc.schema import load_schema

    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    samples = generate_samples(root / "exports", rows=rows, seed=11, marker=marker)
    ws, _ = init_workspace(root / "data", k_floor=2)
    key = ws.load_key()
    for org, path in samples.files.items():
        ingest_file(ws, schema, load_mapping(ROOT / "pipelines" / f"{org}.yaml", schema), path,
                    key=key)  # fmt: skip
    if marker:
        exports = "".join(p.read_bytes().decode("latin-1") for p in samples.files.values())
        assert exports.count(marker) > 4 * rows  # the marker did reach ingest
    return ws


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose four sample exports carry a marker in every identifier, ingested,
    then ``ctdc synthesize`` once."""
    root = tmp_path_factory.mktemp("marked")
    _ingested(root, MARKED_ROWS, MARKER)
    result = run_ctdc(root, "--data-dir", "data", "synthesize", "--epsilon", "1", "--rows", "200",
                      "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    (root / "out.txt").write_text(result.output, encoding="utf-8")
    return root


def _private(ws: Workspace) -> dict[str, set[str]]:
    staged = pq.read_table(ws.root / "staging", columns=["case_pseudonym", "org_id", "batch_id"])
    return {
        "pseudonym": set(staged.column("case_pseudonym").to_pylist()),
        "organization id": set(staged.column("org_id").to_pylist()),
        "batch id": set(staged.column("batch_id").to_pylist()),
        "marker": {MARKER},
    }


def test_no_marker_pseudonym_org_or_batch_in_any_new_file_or_output(marked: Path) -> None:
    ws = Workspace(marked / "data")
    secrets = _private(ws)
    assert len(secrets["pseudonym"]) > 100 // 2 and len(secrets["organization id"]) == 4
    new = [p for p in (marked / "data" / "public").rglob("*") if p.is_file()]
    assert {p.name for p in new} == {"cases.parquet", "cases.csv", "dictionary.parquet",
                                     "datapackage.json", "synthetic.json"}  # fmt: skip
    for path in new:
        data = path.read_bytes()
        found = find_secrets(data, secrets, raw_binary=path.suffix == ".parquet")
        if path.suffix == ".parquet":
            found |= find_secrets(parquet_text(path), secrets, raw_binary=False)
        assert not found, f"{found} in {path.name}"
    assert not find_secrets((marked / "out.txt").read_bytes(), secrets, raw_binary=False)
    log = marked / "data" / "logs" / "ctdc.log"
    if log.is_file():
        assert not find_secrets(log.read_bytes(), secrets, raw_binary=False)


def test_every_file_says_synthetic(marked: Path) -> None:
    folder = marked / "data" / "public" / "synthetic" / "current"
    meta = pq.read_schema(folder / "cases.parquet").metadata
    assert meta[b"ctdc.synthetic"] == b"true"
    dictionary = pq.read_table(folder / "dictionary.parquet")
    assert dictionary.schema.metadata[b"ctdc.synthetic"] == b"true"
    assert all(d.startswith("SYNTHETIC DATA") for d in dictionary.column("description").to_pylist())
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    [resource] = package["resources"]
    assert resource["name"] == "synthetic_cases" and "SYNTHETIC" in resource["description"]
    sidecar = json.loads((folder / "synthetic.json").read_text(encoding="utf-8"))
    assert sidecar["synthetic"] is True and sidecar["epsilon"] == 1.0 and sidecar["rows"] == 200
    assert sidecar["generator"]["name"] == "marginal model" and sidecar["generator"]["version"]
    assert sidecar["generator"]["parameters"]["epsilon"] == 1.0
    assert sidecar["delta"] == 1e-6 and sidecar["created_at"]
    assert sidecar["source"] == {"release_id": None, "epoch": None}  # never harmonized


def test_beside_a_release_the_files_check_accepts_it_and_nothing_else(
    shared_sample: Path, tmp_path: Path
) -> None:
    ws, _ = copy_of_sample(shared_sample, tmp_path / "copy")
    result = run_ctdc(tmp_path / "copy", "--data-dir", "data", "synthesize", "--epsilon", "1",
                      "--rows", "50", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    release = (ws.root / "public" / "current").resolve()
    assert doc["source"]["release_id"] == release.name and doc["source"]["epoch"] == 1
    area = PublicArea(ws.root / "public", 0o755)
    check = files(area, release, 0o755)
    assert check.passed, check.detail
    folder = ws.root / "public" / "synthetic" / doc["synthetic_id"]
    assert os.readlink(folder.parent / "current") == folder.name
    stray = folder / "notes.txt"
    stray.write_text("x", encoding="utf-8")
    os.chmod(stray, 0o644)
    check = files(area, release, 0o755)
    assert not check.passed and "stray synthetic/" in check.detail
    stray.unlink()
    (folder.parent / "scratch").mkdir()
    assert "stray synthetic/scratch" in files(area, release, 0o755).detail


def test_a_tighter_public_mode_reaches_the_dp_and_synthetic_products(
    shared_sample: Path, tmp_path: Path
) -> None:
    """public_mode 0755 -> 0750: the next harmonize re-applies it to dp/ and synthetic/
    too (they were left 0755/0644, and ``ctdc audit`` then failed on its files check)."""
    root = tmp_path / "copy"
    ws, _ = copy_of_sample(shared_sample, root)
    for args in (["synthesize", "--epsilon", "1", "--rows", "30"],
                 ["stats", "--dp", "1", "--by", "gender"],
                 ["policy", "set", "public_mode=0750", "--reason", "the group only"],
                 ["harmonize", "--quiet", "--k", str(SHARED_K)],
                 ["audit", "--json", "--k", str(SHARED_K)]):  # fmt: skip
        result = run_ctdc(root, "--data-dir", "data", *args)
        assert result.exit_code == 0, (args, result.output)
    assert all(check["passed"] for check in json.loads(result.stdout)["checks"])
    public = ws.root / "public"
    seen = set()
    for folder, _dirs, names in os.walk(public):
        seen.add(Path(folder).relative_to(public).parts[:1])
        assert os.stat(folder).st_mode & 0o777 == 0o750, folder
        for name in names:
            path = Path(folder) / name
            if not path.is_symlink():
                assert path.stat().st_mode & 0o777 == 0o640, path
    assert {("dp",), ("synthetic",), ("releases",)} <= seen


@pytest.mark.parametrize(
    "args",
    [
        ["--epsilon", "0", "--rows", "10"],
        ["--epsilon", "-1", "--rows", "10"],
        ["--epsilon", "nan", "--rows", "10"],
        ["--epsilon", "1", "--rows", "0"],
        ["--epsilon", "1", "--rows", "200001"],
        ["--epsilon", "1", "--rows", "10", "--delta", "0.5"],
        ["--epsilon", "1", "--generator", "mbi"],
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    init_workspace(tmp_path / "data")
    result = run_ctdc(tmp_path, "--data-dir", "data", "synthesize", *args, "--json")
    assert result.exit_code == 2, result.output
    assert "error[bad-option]" in result.stderr and "Traceback" not in result.output
    assert json.loads(result.stdout)["error"]["slug"] == "bad-option"
    assert not (tmp_path / "data" / "public" / "synthetic").exists()


def test_nothing_staged_is_a_data_error(tmp_path: Path) -> None:
    init_workspace(tmp_path / "data")
    result = run_ctdc(tmp_path, "--data-dir", "data", "synthesize", "--epsilon", "1", "--rows",
                      "10")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "error[no-staged-data]" in result.stderr and "ctdc ingest" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "data" / "public" / "synthetic").exists()


def test_the_budget_is_charged_before_anything_is_fitted_or_published(
    marked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table is charged to the epoch's budget before the fit: over the budget, it exits 1
    (``budget-exceeded``), fits nothing, publishes nothing and the ledger is unchanged."""
    import shutil

    import ctdc.dp.synthetic as synthetic
    from ctdc.dp.budget import budget_path

    def never(*args: object) -> None:
        raise AssertionError("fitted after a refused charge")

    marked = Path(shutil.copytree(marked, tmp_path / "copy", symlinks=True))  # the policy changes
    assert run_ctdc(marked, "--data-dir", "data", "policy", "set", "dp_epsilon_budget=0.4",
                    "--reason", "test").exit_code == 0  # fmt: skip
    monkeypatch.setattr(synthetic, "generate", never)
    ledger = budget_path(Workspace(marked / "data"))
    spent = ledger.read_bytes() if ledger.exists() else b""
    before = sorted((marked / "data" / "public" / "synthetic").iterdir())
    result = run_ctdc(marked, "--data-dir", "data", "synthesize", "--epsilon", "0.5", "--rows",
                      "10")  # fmt: skip
    assert result.exit_code == 1 and "error[budget-exceeded]" in result.stderr
    assert sorted((marked / "data" / "public" / "synthetic").iterdir()) == before
    assert (ledger.read_bytes() if ledger.exists() else b"") == spent


def test_a_pac_synth_panic_is_a_clear_data_error_not_a_traceback(
    marked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pac-synth panics (a Rust panic, a BaseException) when its noisy record count comes out
    negative: the run stops with ``too-few-records``, publishes nothing and does not retry."""
    import pacsynth

    class PanicException(BaseException):  # pyo3's, by name: it cannot be imported
        pass

    calls = []

    def panic(self: object, dataset: object) -> None:
        calls.append(1)
        raise PanicException("adding noise to number of records resulted in a negative number")

    monkeypatch.setattr(pacsynth.DpAggregateSeededSynthesizer, "fit", panic, raising=False)
    before = sorted((marked / "data" / "public" / "synthetic").iterdir())
    result = run_ctdc(marked, "--data-dir", "data", "synthesize", "--epsilon", "1", "--rows",
                      "10", "--generator", "pac-synth")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "error[too-few-records]" in result.stderr and "Traceback" not in result.output
    assert calls == [1]
    assert sorted((marked / "data" / "public" / "synthetic").iterdir()) == before


def test_a_published_synthetic_table_is_in_the_privacy_budget_ledger(marked: Path) -> None:
    from ctdc.dp.budget import read_budget

    spent = [(e.product, e.epsilon) for e in read_budget(Workspace(marked / "data"))]
    assert spent[0] == ("synthetic cases (200 rows, marginal)", 1.0)  # the fixture's; others add
    assert all(product.startswith("synthetic cases (") for product, _ in spent)


def test_too_few_records_for_pac_synth_is_a_clear_data_error_not_an_empty_table(
    tmp_path: Path,
) -> None:
    """~160 records: at epsilon 1 pac-synth's threshold is above every count and it samples
    no row. The run stops with ``too-few-records`` naming the records and the epsilon (exit
    1, the error object on stdout with --json) and publishes nothing, not an empty table."""
    ws = _ingested(tmp_path, 40)
    staged = pq.read_table(ws.root / "staging", columns=["case_pseudonym"]).num_rows
    result = run_ctdc(tmp_path, "--data-dir", "data", "synthesize", "--epsilon", "1", "--rows",
                      "100", "--json", "--generator", "pac-synth")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "error[too-few-records]" in result.stderr and "Traceback" not in result.output
    error = json.loads(result.stdout)["error"]
    assert error["slug"] == "too-few-records"
    assert f"{staged:,} staged records" in result.stderr and "epsilon 1" in result.stderr
    assert "--epsilon" in result.stderr and "stage more records" in result.stderr
    assert not (ws.root / "public" / "synthetic").exists()
