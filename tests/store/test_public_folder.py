"""The public folder: what analysts read, apart from the private workspace, and nothing more.

Four marked sample exports are ingested and harmonized for real; the checks
read the files back with their own code. The attacks they close:

- analysts had to be the key owner: the workspace was 0700 and the release lay
  inside it, so whoever could read the release could read the key, the staging
  and the quarantine (a forked child that drops to ``nobody`` now queries the
  public folder and is refused every private file);
- the public manifest named every batch (the first 64 bits of each export's
  SHA-256: anyone holding a file could confirm it went in) and gave per-
  organization counts and suppressions (a night's new record pointed at its
  organization): no byte of the public folder holds a batch id, an export hash,
  an organization id, a pseudonym or a marker planted in the exports;
- ``catalog.duckdb`` followed the umask (0666 under umask 000): every public
  mode is set explicitly;
- stale temp folders of a killed publish stayed forever.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from ctdc.errors import CtdcError
from ctdc.harmonize import harmonize
from ctdc.harmonize.manifest import ReleaseManifest
from ctdc.harmonize.public_manifest import COUNTS_ROUNDED_TO, PublicManifest, rounded
from ctdc.ingest import ingest_file
from ctdc.mapping import load_mapping
from ctdc.package import package_files
from ctdc.query import release_log
from ctdc.sample import ORGS, generate_samples
from ctdc.schema import Schema
from ctdc.store.public import (
    REPORT_FILE,
    PublicArea,
    current_public_release,
    prune,
    publish_public,
)
from ctdc.store.workspace import Workspace, init_workspace

# the slow tier: a sample release published once for the module
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MARKER = "QQPUBLICCANARY3"
K = 5
ROWS = 150
NOBODY = 65534
PUBLIC_KEYS = {"manifest", "release_id", "created_at", "ctdc_version", "schema", "k", "l",
               "quasi_identifiers", "sensitive", "generalization_levels", "counts_rounded_to",
               "records_released", "cells_suppressed", "k_check", "files", "previous_release",
               "policy"}  # fmt: skip


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(scope="module")
def published(schema: Schema) -> Iterator[dict[str, Any]]:
    """Marked exports of four organizations, ingested and harmonized at k=5.

    Built under a ``mkdtemp`` made 0711 (pytest's own temp folders are 0700), so
    that another user can reach the public folder the way an analyst would.
    """
    base = Path(tempfile.mkdtemp(prefix="ctdc-public-"))
    os.chmod(base, 0o711)
    sample = generate_samples(base / "exports", rows=ROWS, seed=5, marker=MARKER)
    ws, _ = init_workspace(base / "data", k_floor=2)
    ingests = {}
    for org in ORGS:
        mapping = load_mapping(ROOT / "pipelines" / f"{org}.yaml", schema)
        ingests[org] = ingest_file(ws, schema, mapping, sample.files[org], key=ws.load_key())
    result = harmonize(ws, schema, k=K)
    assert result.status == "published"
    yield {"base": base, "ws": ws, "sample": sample, "ingests": ingests, "result": result}
    shutil.rmtree(base, ignore_errors=True)


def test_public_folder_holds_the_current_release_its_catalog_and_nothing_else(
    published: dict[str, Any], schema: Schema
) -> None:
    ws, result = published["ws"], published["result"]
    public = ws.root / "public"
    assert sorted(p.name for p in public.iterdir()) == ["catalog.duckdb", "current", "releases",
                                                        "views.sql"]  # fmt: skip
    assert os.readlink(public / "current") == f"releases/{result.release_id}"
    assert [p.name for p in (public / "releases").iterdir()] == [result.release_id]
    assert result.public_path == public / "releases" / result.release_id
    names = sorted(p.name for p in result.public_path.iterdir())
    assert names == sorted(["cases.parquet", "dictionary.parquet", "manifest.json",
                            *package_files(schema)])  # fmt: skip
    for name in ("cases.parquet", "dictionary.parquet"):  # the verified bytes, copied as they are
        assert (result.public_path / name).read_bytes() == (result.path / name).read_bytes()
    # the private copy and the full manifest stay in the workspace
    private = json.loads((ws.root / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert private["accounting"]["per_org"].keys() == set(ORGS)
    assert private == result.manifest.to_dict()
    assert ReleaseManifest.from_dict(private) == result.manifest


def test_modes_private_0700_0600_public_0755_0644_root_traversable_only(
    published: dict[str, Any],
) -> None:
    ws = published["ws"]
    public = ws.root / "public"
    assert _mode(ws.root) == 0o711  # others may open public/ by name, never list the root
    for folder, dirs, files in os.walk(ws.root):
        here = Path(folder)
        if here == public or public in here.parents:
            want_dir, want_file = 0o755, 0o644
        else:
            want_dir, want_file = 0o700, 0o600
        for d in dirs:
            path = here / d
            if path != public and not path.is_symlink():
                assert _mode(path) == want_dir, path
        for f in files:
            path = here / f
            if not path.is_symlink():
                assert _mode(path) == want_file, path
    assert _mode(public) == 0o755
    assert _mode(public / "catalog.duckdb") == 0o644


def _parquet_text(path: Path) -> str:
    """Every cell, column name and key-value metadata entry of a Parquet file, as text."""
    table = pq.read_table(path)
    meta = pq.read_metadata(path)
    parts = ["\x1f".join("" if v is None else str(v) for v in col.to_pylist())
             for col in table.columns]  # fmt: skip
    parts += table.column_names
    parts.append(repr(meta.metadata))
    parts += [repr(field.metadata) for field in pq.read_schema(path)]
    parts.append(str(meta.created_by))
    return "\n".join(parts)


def test_no_byte_of_the_public_folder_holds_private_data(
    published: dict[str, Any], schema: Schema
) -> None:
    """Batch ids, export hashes, organization ids, pseudonyms, markers: none is public."""
    ws, result, sample = published["ws"], published["result"], published["sample"]
    pseudonyms: set[str] = set()
    for staged in (ws.root / "staging").rglob("*.parquet"):
        pseudonyms |= set(pq.read_table(staged, columns=["case_pseudonym"])[0].to_pylist())
    assert len(pseudonyms) > 3 * ROWS
    export_hashes = [hashlib.sha256(p.read_bytes()).hexdigest() for p in sample.files.values()]
    batch_ids = [i.batch_id for i in published["ingests"].values()]
    assert sorted(batch_ids) == sorted(h[:16] for h in export_hashes)
    needles = [MARKER, MARKER.lower(), *ORGS, *batch_ids, *export_hashes,
               result.manifest.fingerprint, result.manifest.fingerprint[:8]]  # fmt: skip
    files = [Path(folder) / f for folder, _, names in os.walk(ws.root / "public") for f in names]
    expected = 5 + len(package_files(schema))  # root: views.sql, catalog (current is a link)
    assert len(files) == expected and all(p.stat().st_size > 0 for p in files)
    for path in files:
        texts = [path.read_bytes().decode("latin-1")]
        if path.suffix == ".parquet":
            texts.append(_parquet_text(path))
        for text in texts:
            assert not [n for n in needles if n in text], path
            assert not [p for p in pseudonyms if p in text], path
    # the needles are real: the private side holds them
    private = (ws.root / "current" / "manifest.json").read_text(encoding="utf-8")
    assert all(b in private for b in batch_ids) and all(o in private for o in ORGS)
    exports = "".join(p.read_bytes().decode("latin-1") for p in sample.files.values())
    assert exports.count(MARKER) > len(ORGS) * ROWS


def test_public_manifest_is_an_allow_list_with_rounded_counts(published: dict[str, Any]) -> None:
    result = published["result"]
    doc = json.loads((result.public_path / "manifest.json").read_text(encoding="utf-8"))
    assert doc == result.public_manifest.to_dict()
    assert PublicManifest.from_dict(doc) == result.public_manifest
    assert {key for _, _, key in release_log.COLUMNS} <= set(doc)  # the log reads these keys
    assert set(doc) <= PUBLIC_KEYS
    assert doc["manifest"] == "public" and doc["release_id"] == result.release_id
    assert doc["counts_rounded_to"] == COUNTS_ROUNDED_TO == 10
    private = result.manifest
    assert doc["records_released"] == rounded(private.accounting.total.released)
    assert doc["records_released"] % 10 == 0
    cells = private.anonymization.cells_suppressed
    assert doc["cells_suppressed"] == {q: rounded(n) for q, n in cells.items()}
    assert all(n % 10 == 0 for n in doc["cells_suppressed"].values())
    assert doc["k"] == K and doc["k_check"]["passed"] is True
    assert doc["schema"]["sha256"] == private.policy.policy.schema_sha256
    for name, entry in doc["files"].items():
        assert entry == {"sha256": hashlib.sha256((result.public_path / name).read_bytes())
                         .hexdigest()}  # fmt: skip
    assert doc["previous_release"] is None
    assert rounded(4) == 0 and rounded(5) == 10 and rounded(1234) == 1230


def test_catalog_views_read_only_the_public_folder(published: dict[str, Any]) -> None:
    ws, result = published["ws"], published["result"]
    public = (ws.root / "public").resolve()
    con = duckdb.connect(str(public / "catalog.duckdb"), read_only=True)
    try:
        sqls = [row[0] for row in con.execute("SELECT sql FROM duckdb_views() "
                                              "WHERE NOT internal").fetchall()]  # fmt: skip
        assert len(sqls) == 3 + len(list(result.public_path.glob("hierarchy_*.parquet")))
        for sql in sqls:
            paths = [part for part in sql.split("'") if part.startswith("/")]
            assert paths and all(Path(p).is_relative_to(public) for p in paths), sql
        released = result.manifest.accounting.total.released
        assert con.execute("SELECT count(*) FROM cases").fetchone()[0] == released
        log = con.execute("SELECT release_id, k, records_released FROM release_log").fetchall()
        assert log == [(result.release_id, K, rounded(released))]
    finally:
        con.close()


def test_a_user_without_rights_on_the_workspace_queries_the_public_folder(
    published: dict[str, Any],
) -> None:
    """Fork, drop to ``nobody``, run the analyst's query; every private file is refused.

    The child runs both the library call and ``ctdc --data-dir <workspace> query``
    (in-process: the interpreter under /root is not executable by nobody), which
    must find the public folder without reading the private policy.
    """
    if os.geteuid() != 0:
        pytest.skip("dropping to another user needs root (CI runs as root)")
    from typer.testing import CliRunner

    from ctdc.cli import app
    from ctdc.query import run_query

    ws, result = published["ws"], published["result"]
    public = ws.root / "public"
    private = {
        "key": ws.key_path,
        "staging": next((ws.root / "staging").rglob("*.parquet")),
        "quarantine": ws.root / "quarantine",
        "ledger": ws.root / "ledger",
        "private manifest": ws.root / "current" / "manifest.json",
        "private cases": result.path / "cases.parquet",
        "policy": ws.root / "policy",
        "workspace listing": ws.root,
    }
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.chdir(public)  # an analyst's own folder, not whatever the last test left
            report: dict[str, Any] = {"uid": os.getuid()}
            frame = run_query(public, "SELECT count(*) AS n FROM cases")
            report["query"] = int(frame["n"].iloc[0])
            sql = "SELECT count(*) AS n FROM cases"
            args = ["--data-dir", str(ws.root), "query", sql, "--format", "json"]
            cli = CliRunner().invoke(app, args)
            report["cli"] = [cli.exit_code, cli.stdout, cli.stderr]
            con = duckdb.connect(str(public / "catalog.duckdb"), read_only=True)
            report["catalog"] = con.execute("SELECT count(*) FROM cases").fetchone()[0]
            con.close()
            denied = {}
            for name, path in private.items():
                try:
                    os.listdir(path) if path.is_dir() else path.read_bytes()
                    denied[name] = False
                except PermissionError:
                    denied[name] = True
            report["denied"] = denied
            os.write(write, json.dumps(report).encode())
            code = 0
        except BaseException as exc:  # reported to the parent, which then fails
            os.write(write, json.dumps({"error": repr(exc)}).encode())
        finally:
            os._exit(code)
    os.close(write)
    chunks = []
    while select.select([read], [], [], 120)[0]:
        chunk = os.read(read, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    report = json.loads(b"".join(chunks) or b"{}")
    assert os.waitstatus_to_exitcode(status) == 0, report
    released = result.manifest.accounting.total.released
    assert report["uid"] == NOBODY
    assert report["query"] == released and report["catalog"] == released
    exit_code, stdout, stderr = report["cli"]
    assert exit_code == 0, stderr
    assert json.loads(stdout) == [{"n": released}]
    assert report["denied"] == {name: True for name in private}


@pytest.fixture
def copied(published: dict[str, Any]) -> Iterator[Workspace]:
    """A copy of the published workspace (modes and relative links kept), for tests that
    change it."""
    target = Path(tempfile.mkdtemp(prefix="ctdc-public-copy-"))
    shutil.copytree(published["ws"].root, target / "data", symlinks=True)
    yield Workspace(target / "data")
    shutil.rmtree(target, ignore_errors=True)


def test_publish_elsewhere_for_a_group_under_umask_000_and_stale_temps_go(
    copied: Workspace, published: dict[str, Any], schema: Schema
) -> None:
    """A publish_dir outside the workspace, mode 0750: modes are set, never the umask's.

    The input is unchanged, so the private release stays; the unchanged run still
    fills the new public folder (as it repairs one a crash left behind). Temps a
    killed run left in both folders are removed under the lock.
    """
    ws = copied
    outside = ws.root.parent / "srv" / "public"
    dead = outside / "releases" / ".tmp-dead"
    dead.mkdir(parents=True)
    (dead / "cases.parquet").write_text(MARKER)
    (outside / ".current.999.tmp").write_text(MARKER)
    (outside / ".catalog.duckdb.999.tmp").write_text(MARKER)
    (outside / ".views.sql.k3x_9q.tmp").write_text(MARKER)
    (ws.releases_dir / ".tmp-dead").mkdir()
    (ws.releases_dir / ".tmp-dead" / "cases.parquet").write_text(MARKER)
    (ws.root / ".current.999.tmp").write_text(MARKER)
    (ws.root / "catalog.duckdb").write_text(MARKER)  # where earlier versions kept the catalog
    old = os.umask(0)
    try:
        result = harmonize(ws, schema, k=K, publish_dir=outside, public_mode=0o750)
    finally:
        os.umask(old)
    assert result.status == "unchanged"
    assert result.release_id == published["result"].release_id
    assert current_public_release(outside) == outside / "releases" / result.release_id
    assert sorted(p.name for p in outside.iterdir()) == ["catalog.duckdb", "current", "releases",
                                                         "views.sql"]  # fmt: skip
    assert [p.name for p in (outside / "releases").iterdir()] == [result.release_id]
    assert not (ws.releases_dir / ".tmp-dead").exists()
    assert not (ws.root / ".current.999.tmp").exists()
    assert not (ws.root / "catalog.duckdb").exists()
    assert _mode(ws.root) == 0o700  # nobody needs to traverse it now
    for folder, _dirs, files in os.walk(outside):
        assert _mode(Path(folder)) == 0o750
        for f in files:
            assert _mode(Path(folder) / f) == 0o640, f
            assert MARKER not in (Path(folder) / f).read_bytes().decode("latin-1")
    assert _mode(outside / "catalog.duckdb") == 0o640
    with duckdb.connect(str(outside / "catalog.duckdb"), read_only=True) as con:
        released = result.manifest.accounting.total.released
        assert con.execute("SELECT count(*) FROM cases").fetchone()[0] == released


@pytest.mark.parametrize(
    ("where", "slug"),
    [
        (lambda ws: ws.root, "unsafe-publish-dir"),
        (lambda ws: ws.root / "staging", "unsafe-publish-dir"),
        (lambda ws: ws.root / "releases" / "public", "unsafe-publish-dir"),
        (lambda ws: ws.root / "open", "unsafe-publish-dir"),
        (lambda ws: ws.root.parent, "unsafe-publish-dir"),
    ],
)
def test_a_public_folder_overlapping_the_workspace_is_refused(
    where: Any, slug: str, copied: Workspace, schema: Schema
) -> None:
    before = sorted(str(p) for p in copied.root.rglob("*"))
    with pytest.raises(CtdcError) as err:
        harmonize(copied, schema, k=K, publish_dir=where(copied))
    assert err.value.slug == slug
    assert sorted(str(p) for p in copied.root.rglob("*")) == before


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757, 0o600, 0o644])
def test_a_public_mode_that_lets_others_write_or_hides_it_from_the_owner_is_refused(
    mode: int, copied: Workspace, schema: Schema
) -> None:
    with pytest.raises(CtdcError) as err:
        harmonize(copied, schema, k=K, public_mode=mode)
    assert err.value.slug == "bad-option"


def test_keep_public_keeps_the_newest_releases_and_never_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """publish_public + prune on synthetic releases: the current one always stays, also when
    the folder is given relative to the working directory (``--data-dir data``)."""
    monkeypatch.chdir(tmp_path)
    area = PublicArea(Path("public"), 0o755)
    area.releases_dir.mkdir(parents=True)
    src = Path("src.bin")
    src.write_bytes(b"PAR1")
    ids = ["20260101T000000Z-aaaaaaaa", "20260102T000000Z-bbbbbbbb", "20260103T000000Z-cccccccc"]
    for n, rid in enumerate(ids):
        previous = current_public_release(area.root)
        publish_public(area, rid, {"cases.parquet": src}, {"release_id": rid, "n": n},
                       "manifest.json")  # fmt: skip
        assert current_public_release(area.root) == (area.releases_dir / rid).resolve()
        assert previous is None or previous.is_dir()
    assert prune(area, 2) == [ids[0]]
    assert sorted(p.name for p in area.releases_dir.iterdir()) == ids[1:]
    # current is never removed, even when it is not the newest
    os.replace(area.current, area.root / "x")
    os.symlink(Path("releases") / ids[1], area.current)
    assert prune(area, 1) == [ids[2]]
    assert [p.name for p in area.releases_dir.iterdir()] == [ids[1]]
    assert _mode(area.releases_dir / ids[1]) == 0o755
    assert _mode(area.releases_dir / ids[1] / "cases.parquet") == 0o644
    with pytest.raises(CtdcError):
        prune(area, 0)


def test_a_new_release_removes_the_report_of_the_one_before(
    copied: Workspace, schema: Schema
) -> None:
    """report.html describes one release: a run that publishes another removes it (ctdc
    report writes it again), a run that changes nothing keeps it."""
    report = copied.root / "public" / REPORT_FILE
    report.write_text("<html>report of the release before</html>", encoding="utf-8")
    assert harmonize(copied, schema, k=K).status == "unchanged"
    assert report.is_file()
    assert harmonize(copied, schema, k=K + 1, new_epoch=True).status == "published"
    assert not report.exists()
