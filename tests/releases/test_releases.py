"""``ctdc releases``: list, show, diff, rollback and prune on real workspaces, in-process.

One module fixture publishes two releases of the ``test-org`` export (R1: 60 records;
R2: 15 more, an increment); each test that changes anything works on a copy of it.
The rollback tests perform the intersection attack across a rollback, with the
private ledgers as the strongest adversary's pairing of rows, and show it find
nothing; the same night without the rollback's state finds records to narrow.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from conftest import TEST_MAPPING, query_json, run_ctdc
from ctdc.harmonize import harmonize
from ctdc.ingest import ingest_file
from ctdc.mapping import load_mapping
from ctdc.schema import Schema
from ctdc.store.lock import exclusive_lock
from ctdc.store.policy import change_policy, pinned_schema
from ctdc.store.publication import ledger_path, read_ledger
from ctdc.store.release import current_release
from ctdc.store.release_log import read_log
from ctdc.store.rollback_state import state_path
from ctdc.store.workspace import Workspace, init_workspace

# the slow tier: scenarios of several nights (make test runs it after the fast tier)
pytestmark = pytest.mark.slow

K = 3
HEADER = "ID;Nombre;Notas;Edad;Fecha;Sexo;Nac;Secuestro;Control"
COUNTRIES = ["Perú", "Colombia", "Venezuela"]
LEVELS = {"year_of_registration": 0, "citizenship": 0, "country_of_exploitation": 0}
HEX64 = re.compile(r"[0-9a-f]{64}")


def export(folder: Path, name: str, ids: list[int]) -> Path:
    """A test-org export (as in tests/harmonize/test_series.py)."""
    lines = [HEADER]
    for i in ids:
        lines.append(
            f"{i:05d};P {i};n;{20 + i % 3 + (i % 5) * 9};01/02/{2019 + i % 2};"
            f"{'Mujer' if i % 4 else 'Hombre'};{COUNTRIES[i % 3]};"
            f"{'Sí' if i % 7 == 0 else 'No'};{'Deuda' if i % 2 else 'Amenazas'}"
        )
    path = folder / name
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def ws(self) -> Workspace:
        return Workspace(self.root / "data")

    @property
    def schema(self) -> Schema:
        return pinned_schema(self.ws)

    def ctdc(self, *args: str):
        return run_ctdc(self.root, "--data-dir", "data", *args)

    def night(self, name: str, ids: list[int], mode: str = "append", **kw):
        org = load_mapping(self.root / "pipelines" / "test-org.yaml", self.schema)
        path = export(self.root, name, ids)
        ingest_file(self.ws, self.schema, org, path, key=self.ws.load_key(), mode=mode)
        return harmonize(self.ws, self.schema, k=K, levels=LEVELS, **kw)

    def ingest(self, name: str, ids: list[int], mode: str = "append") -> None:
        org = load_mapping(self.root / "pipelines" / "test-org.yaml", self.schema)
        ingest_file(self.ws, self.schema, org, export(self.root, name, ids),
                    key=self.ws.load_key(), mode=mode)  # fmt: skip

    def ids(self) -> list[str]:
        return [r["release_id"] for r in json.loads(self.ctdc("releases", "list", "--json")
                                                    .stdout)["releases"]]  # fmt: skip


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("releases")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    init_workspace(root / "data", k_floor=2)
    project = Project(root)
    # nothing waits: every increment is published at once (no hold, no monthly rhythm), so
    # R2 shows its 15 records
    change_policy(project.ws, {"series_hold_cells": 1000.0, "series_increment_days": 1},
                  reason="test")  # fmt: skip
    project.night("a.csv", list(range(1, 61)))
    project.night("b.csv", list(range(61, 76)))
    return project


@pytest.fixture
def project(base: Project, tmp_path: Path) -> Project:
    """A copy of the two-release project (links kept relative, so the copy stands alone)."""
    shutil.copytree(base.root, tmp_path / "p", symlinks=True)
    return Project(tmp_path / "p")


def published(ws: Workspace, release_id: str, columns: list[str]) -> pd.DataFrame:
    ledger = read_ledger(ws.root, release_id)
    assert ledger is not None
    rows = ledger[ledger["state"] == "published"].set_index("case_pseudonym")[columns]
    return rows.astype("string").fillna("<NULL>")


def narrowed(ws: Workspace, a: str, b: str, columns: list[str]) -> int:
    """The intersection attack: records published in both releases in two different forms
    (the adversary intersects them to the most specific value of each)."""
    x, y = published(ws, a, columns), published(ws, b, columns)
    both = x.index.intersection(y.index)
    return int((x.loc[both] != y.loc[both]).any(axis=1).sum())


def test_list_show_and_diff_mark_current_and_print_no_pseudonym(base: Project) -> None:
    r1, r2 = base.ids()
    listed = json.loads(base.ctdc("releases", "list", "--json").stdout)["releases"]
    assert [r["current"] for r in listed] == [False, True]
    assert listed[1]["public_current"] and listed[1]["epoch"] == listed[0]["epoch"] == 1
    text = base.ctdc("releases", "list")
    assert text.exit_code == 0 and f"* {r2}" in text.stdout and "[current]" in text.stdout
    shown = json.loads(base.ctdc("releases", "show", r1, "--json").stdout)
    assert shown["release_id"] == r1 and shown["records"] == 60 and not shown["current"]
    assert shown["accounting"]["released"] == 60 and shown["k"] == K
    diff = base.ctdc("releases", "diff", r1, r2, "--json")
    doc = json.loads(diff.stdout)
    assert doc["records"] == {"a": 60, "b": 75}
    assert doc["rows_added"] == 15 and doc["rows_removed"] == 0
    assert (doc["records_added"], doc["records_removed"], doc["records_changed"]) == (15, 0, 0)
    assert doc["k"] == {"a": K, "b": K} and doc["schema_sha256"]["a"] == doc["schema_sha256"]["b"]
    assert "loss_metric" in doc and "cells_suppressed" in doc
    plain = base.ctdc("releases", "diff", r1, r2)
    assert "rows added: 15, removed: 0" in plain.stdout
    # no pseudonym, no row content in anything the commands print
    ledger = read_ledger(base.ws.root, r2)
    assert ledger is not None
    pseudonyms = set(ledger["case_pseudonym"])
    for out in (text.stdout, json.dumps(listed), json.dumps(shown), diff.stdout, plain.stdout,
                base.ctdc("releases", "show", r2).stdout):  # fmt: skip
        assert not set(HEX64.findall(out)) & pseudonyms
        assert "P 1" not in out and "00061" not in out
    # the analysts' release_log says which release is current, in the sandbox and the catalog
    log = query_json(base.root, "SELECT release_id, current FROM release_log ORDER BY 1")
    assert [(r["release_id"], r["current"]) for r in log] == [(r2, True)]  # keep_public=1
    import duckdb

    con = duckdb.connect(str(base.ws.root / "public" / "catalog.duckdb"), read_only=True)
    assert con.execute("SELECT release_id FROM release_log WHERE current").fetchall() == [(r2,)]


def test_bad_ids_and_options_are_clear_errors(base: Project) -> None:
    r1, _ = base.ids()
    bad = base.ctdc("releases", "show", "nope")
    assert bad.exit_code == 2 and "error[unknown-release]" in bad.stderr and r1 in bad.stderr
    bad = base.ctdc("releases", "diff", r1, "../releases", "--json")
    assert bad.exit_code == 2 and json.loads(bad.stdout)["error"]["slug"] == "unknown-release"
    bad = base.ctdc("releases", "rollback", "20990101T000000Z-deadbeef", "--reason", "x")
    assert bad.exit_code == 2 and "error[unknown-release]" in bad.stderr
    bad = base.ctdc("releases", "prune", "--keep", "0")
    assert bad.exit_code == 2 and "error[bad-option]" in bad.stderr
    assert base.ids() == [r1, base.ids()[1]] and not state_path(base.ws).exists()


def test_a_rollback_survives_the_night_and_the_next_release_builds_on_it(
    project: Project,
) -> None:
    r1, r2 = project.ids()
    ws = project.ws
    done = project.ctdc("releases", "rollback", r1, "--reason", "bad batch", "--json")
    assert done.exit_code == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["withdrawn"] == [r2] and doc["kept_out"] == 15
    assert current_release(ws) is not None and current_release(ws).name == r1  # type: ignore[union-attr]
    public = ws.root / "public"
    assert (public / "current").resolve().name == r1 and not (public / "releases" / r2).exists()
    assert read_log(ws)[-1].action == "rollback" and read_log(ws)[-1].reason == "bad batch"
    listed = json.loads(project.ctdc("releases", "list", "--json").stdout)["releases"]
    assert [(r["current"], r["rolled_back"]) for r in listed] == [(True, False), (False, True)]
    # the next night with new records builds on R1, keeps the policy's retention (2)
    change_policy(ws, {"keep_releases": 2}, reason="test")
    nxt = project.night("c.csv", list(range(76, 136)))
    assert nxt.status == "published" and nxt.manifest.changes.previous_release == r1
    assert nxt.manifest.series["epoch"] == 1 and not state_path(ws).exists()
    assert project.ids() == [r2, nxt.release_id]  # R1 pruned by retention, R2 the newer
    assert not ledger_path(ws.root, r1).exists()
    assert read_log(ws)[-1].action == "prune" and read_log(ws)[-1].removed == (r1,)
    diff = json.loads(project.ctdc("releases", "diff", r2, nxt.release_id, "--json").stdout)
    assert diff["records_changed"] == 0 and diff["records_removed"] == 15


def test_a_one_off_k_rolled_back_stays_rolled_back_and_the_night_is_cheap(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's case: a one-off ``--k 4 --new-epoch`` release, rolled back. The next
    nights at the usual k give the rolled-back-to release again, known before any merge."""
    _, r2 = project.ids()
    oneoff = harmonize(project.ws, project.schema, k=K + 1, levels=LEVELS, new_epoch=True)
    assert oneoff.status == "published" and oneoff.manifest.series["epoch"] == 2
    done = project.ctdc("releases", "rollback", r2, "--reason", "k=4 was a one-off")
    assert done.exit_code == 0 and "is current again" in done.stdout
    import ctdc.harmonize.pipeline as pipeline

    def no_merge(*args: object, **kwargs: object) -> None:
        raise AssertionError("merged although nothing changed")

    monkeypatch.setattr(pipeline, "merge_records", no_merge)
    for _ in range(2):
        night = harmonize(project.ws, project.schema, k=K, levels=LEVELS)
        assert night.status == "unchanged" and night.release_id == r2
    assert (project.ws.root / "public" / "current").resolve().name == r2


def test_the_intersection_attack_across_a_rollback_finds_nothing(
    project: Project, base: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The adversary kept R2 (withdrawn by the rollback) and reads the next release: no
    record shows two forms. Without the rollback's state, the same night re-codes the
    records R2 published, and the attack narrows them."""
    r1, r2 = project.ids()
    columns = project.schema.release_row
    assert project.ctdc("releases", "rollback", r1, "--reason", "test").exit_code == 0
    nxt = project.night("c.csv", list(range(76, 136)))
    assert narrowed(project.ws, r2, nxt.release_id, columns) == 0
    assert narrowed(project.ws, r1, nxt.release_id, columns) == 0
    shown_in_r2 = set(published(project.ws, r2, columns).index)
    shown_in_r1 = set(published(project.ws, r1, columns).index)
    later = set(published(project.ws, nxt.release_id, columns).index)
    assert not (shown_in_r2 - shown_in_r1) & later  # the 15 stay out of the epoch
    # the same nights with the state ignored: the attack succeeds
    naive = Project(tmp_path / "naive")
    shutil.copytree(base.root, naive.root, symlinks=True)
    assert naive.ctdc("releases", "rollback", r1, "--reason", "test").exit_code == 0
    import ctdc.harmonize.series_run as series_run

    monkeypatch.setattr(series_run, "kept_out", lambda ws, previous: frozenset())
    leaky = naive.night("c.csv", list(range(76, 136)))
    assert narrowed(naive.ws, r2, leaky.release_id, columns) > 0


def test_a_locked_or_refused_rollback_changes_nothing(project: Project) -> None:
    r1, r2 = project.ids()
    ws = project.ws
    log = read_log(ws)
    with exclusive_lock(ws.lock_path):
        bad = project.ctdc("releases", "rollback", r1, "--reason", "x")
    assert bad.exit_code == 3 and "error[locked]" in bad.stderr
    # a withdrawal since R1 must not be undone by publishing R1 again
    assert project.ctdc("withdraw", "--org", "test-org", "00007").exit_code == 0
    bad = project.ctdc("releases", "rollback", r1, "--reason", "x", "--json")
    assert bad.exit_code == 1 and json.loads(bad.stdout)["error"]["slug"] == "rollback-refused"
    assert "00007" not in bad.stdout + bad.stderr
    for_sure = current_release(ws)
    assert for_sure is not None and for_sure.name == r2
    assert (ws.root / "public" / "current").resolve().name == r2
    assert not state_path(ws).exists() and read_log(ws) == log


def test_prune_keeps_the_current_release_and_the_staging_a_kept_release_needs(
    project: Project,
) -> None:
    r1, r2 = project.ids()
    ws = project.ws
    assert project.ctdc("releases", "rollback", r1, "--reason", "test").exit_code == 0
    # two snapshots: the first supersedes a.csv and b.csv, the second the first (never used)
    project.ingest("d.csv", list(range(1, 76)), mode="snapshot")
    project.ingest("e.csv", list(range(1, 80)), mode="snapshot")
    staged = sorted(p.name for p in (ws.root / "staging" / "test-org").iterdir())
    assert len(staged) == 4
    done = project.ctdc("releases", "prune", "--keep", "1", "--json")
    assert done.exit_code == 0, done.stderr
    doc = json.loads(done.stdout)
    # never the current R1; d.csv was never in a release, b.csv only in R2, pruned with it
    assert doc == {"releases": [r2], "staging_removed": 2}
    assert project.ids() == [r1] and (ws.root / "releases" / r1).is_dir()
    assert not ledger_path(ws.root, r2).exists() and ledger_path(ws.root, r1).exists()
    left = sorted(p.name for p in (ws.root / "staging" / "test-org").iterdir())
    assert len(left) == 2  # a.csv (R1 lists it) and e.csv (live)
    assert read_log(ws)[-1].action == "prune" and read_log(ws)[-1].staging_removed == 2
