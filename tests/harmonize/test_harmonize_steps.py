"""Each step of ``harmonize()`` run alone, on a real staged workspace and real Parquet on disk.

The workspace holds one hand-made ``test-org`` export (the mapping of
``conftest.py``) ingested twice with overlapping case ids, so merging has
duplicates to count. Levels are pinned at 0: these tests are about the steps'
contracts, not the anonymizer's search.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from conftest import TEST_MAPPING
from ctdc.anonymize import AnonymizationReport, AnonymizationResult
from ctdc.errors import CtdcError
from ctdc.harmonize import harmonize, series_run, steps
from ctdc.harmonize.accounting import Accounting, OrgAccounting, check_balanced
from ctdc.harmonize.increment import SeriesOutcome
from ctdc.harmonize.manifest import ReleaseManifest, fingerprint
from ctdc.harmonize.pipeline import ReleaseStatus
from ctdc.harmonize.public_manifest import PublicManifest
from ctdc.harmonize.publish import (
    build_manifest,
    clear_stale_temps,
    previous_release,
    release_id,
    to_public,
    write_release,
)
from ctdc.harmonize.settings import RunSettings, load_settings
from ctdc.harmonize.steps import (
    Anonymized,
    Merged,
    account_records,
    anonymize_records,
    build_tables,
    collect_batches,
    merge_records,
    verify_release,
    write_tables,
)
from ctdc.ingest import ingest_file
from ctdc.mapping import load_mapping
from ctdc.report.harmonize import harmonize_tables
from ctdc.schema import Schema
from ctdc.slugs import Slug
from ctdc.store.ledger import BatchMode
from ctdc.store.lock import exclusive_lock
from ctdc.store.public import current_public_release
from ctdc.store.release import CASES_FILE, DICTIONARY_FILE, MANIFEST_FILE, current_release
from ctdc.store.workspace import Workspace, init_workspace, open_workspace

LEVELS: dict[str, int | None] = {
    "year_of_registration": 0, "age_band": 0, "citizenship": 0, "country_of_exploitation": 0,
}  # fmt: skip
K = 2
HEADER = "ID;Nombre;Notas;Edad;Fecha;Sexo;Nac;Secuestro;Control"


def _export(path: Path, ids: range) -> Path:
    """A test-org export of few distinct values, so that classes of k form without suppression."""
    lines = [HEADER]
    for i in ids:
        lines.append(f"{i:05d};P {i};n;{20 + i % 2 * 10};01/02/{2020 + i % 2};"
                     f"{'Mujer' if i % 2 else 'Hombre'};Perú;No;"
                     f"{('Deuda', 'Amenazas')[i % 3 == 0]}")  # fmt: skip
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


@pytest.fixture(scope="module")
def staged(schema: Schema, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Two batches of test-org: ids 1-30, then 21-40 (ten duplicates across the batches)."""
    tmp = tmp_path_factory.mktemp("steps")
    ws, _ = init_workspace(tmp / "data", k_floor=2)
    (tmp / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    mapping = load_mapping(tmp / "test-org.yaml", schema)
    for name, ids in (("a.csv", range(1, 31)), ("b.csv", range(21, 41))):
        ingest_file(ws, schema, mapping, _export(tmp / name, ids), key=ws.load_key())
    return ws


@pytest.fixture
def ws(staged: Workspace, tmp_path: Path) -> Workspace:
    """A private copy of the staged workspace, for a test that writes releases."""
    root = tmp_path / "data"
    shutil.copytree(staged.root, root, symlinks=True)
    return open_workspace(root)


@pytest.fixture
def settings(staged: Workspace, schema: Schema) -> RunSettings:
    return load_settings(staged, schema, k=K, levels=LEVELS)


def test_load_settings_applies_the_runs_overrides_to_the_pinned_policy(
    staged: Workspace, schema: Schema
) -> None:
    settings = load_settings(staged, schema, k=3, levels=LEVELS)
    assert settings.k == 3 and settings.l is None
    assert settings.run.overrides["k"] == 3 and settings.policy.k != 3
    assert settings.levels["citizenship"] == 0
    assert settings.area.root == staged.root / "public" and settings.keep_public == 1
    assert "this run:" in settings.summary()
    for bad in ({"l": 0}, {"keep_public": 0}, {"levels": {"gender": 1}}):
        with pytest.raises(CtdcError) as err:
            load_settings(staged, schema, **bad)  # type: ignore[arg-type]
        assert err.value.slug is Slug.BAD_OPTION, bad
    with pytest.raises(CtdcError) as err:
        load_settings(staged, schema, k=1)
    assert err.value.slug is Slug.K_BELOW_FLOOR


def test_the_policy_is_read_under_the_lock(ws: Workspace, schema: Schema) -> None:
    """A run waiting for the lock reads the policy only once it holds it, so a policy
    change made meanwhile (under the same lock) is the one it applies."""
    with exclusive_lock(ws.lock_path):
        (ws.root / "policy" / "policy.json").unlink()
        with pytest.raises(CtdcError) as err:
            harmonize(ws, schema, k=K, levels=LEVELS)
    assert err.value.slug is Slug.LOCKED  # not no-policy: nothing was read before the lock
    with pytest.raises(CtdcError) as err:
        harmonize(ws, schema, k=K, levels=LEVELS)
    assert err.value.slug is Slug.NO_POLICY


def test_collect_batches_lists_the_live_batches(staged: Workspace, tmp_path: Path) -> None:
    batches = collect_batches(staged)
    assert len(batches.entries) == 2 and batches.superseded == []
    assert all(e.mode is BatchMode.APPEND for e in batches.entries)  # read back as the enum
    assert batches.ids == tuple(sorted(e.batch_id for e in batches.entries))
    empty, _ = init_workspace(tmp_path / "empty", k_floor=2)
    with pytest.raises(CtdcError) as err:
        collect_batches(empty)
    assert err.value.slug is Slug.NO_STAGED_DATA


def test_merge_records_counts_the_duplicates(staged: Workspace) -> None:
    batches = collect_batches(staged)
    merged = merge_records(staged, batches, K)
    assert len(merged.frame) == 40 and merged.duplicates == {"test-org": 10}
    assert merged.frame["case_pseudonym"].is_unique
    with pytest.raises(CtdcError) as err:
        merge_records(staged, batches, 41)
    assert err.value.slug is Slug.TOO_FEW_RECORDS


def test_anonymize_records_releases_k_anonymous_rows(
    staged: Workspace, schema: Schema, settings: RunSettings
) -> None:
    merged = merge_records(staged, collect_batches(staged), K)
    anonymized = anonymize_records(merged, schema, settings)
    report = anonymized.result.report
    assert report.k == K and report.records_in == 40
    assert len(anonymized.frame) == report.records_out > 0
    assert set(anonymized.hierarchies) == set(LEVELS)
    sizes = anonymized.frame.groupby(schema.quasi_identifiers, dropna=False).size()
    assert sizes.min() >= K


def test_account_records_balances_and_refuses_a_lost_record(
    staged: Workspace, schema: Schema, settings: RunSettings
) -> None:
    batches = collect_batches(staged)
    merged = merge_records(staged, batches, K)
    anonymized = anonymize_records(merged, schema, settings)
    accounting = account_records(batches, merged, anonymized)
    total = accounting.total
    assert total.balanced and total == accounting.per_org["test-org"]
    assert (total.rows_read, total.staged, total.duplicates_merged) == (50, 50, 10)
    assert total.released + total.records_suppressed == 40
    assert Accounting.from_dict(accounting.to_dict()) == accounting
    lost = Anonymized(AnonymizationResult(anonymized.frame.iloc[1:], anonymized.result.report),
                      anonymized.hierarchies)  # fmt: skip
    with pytest.raises(CtdcError) as err:
        account_records(batches, merged, lost)
    assert err.value.slug is Slug.ACCOUNTING_UNBALANCED and err.value.exit_code == 1
    assert "released" in err.value.message()


def test_an_engine_report_that_does_not_add_up_is_an_accounting_failure(
    staged: Workspace, schema: Schema, settings: RunSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not ``bad-option``, the slug of the engine's other ValueErrors: no option would help."""

    def unbalanced(*_args: object, **_kwargs: object) -> AnonymizationResult:
        report = AnonymizationReport(k=K, quasi_identifiers=("gender",), records_in=40,
                                     records_out=38, records_suppressed=1,
                                     cells_suppressed={"gender": 0},
                                     records_suppressed_by_group={},
                                     cells_suppressed_by_group={}, classes=1,
                                     min_class_size=38)  # fmt: skip
        raise AssertionError(f"unreachable: {report}")

    monkeypatch.setattr(steps, "anonymize", unbalanced)
    merged = merge_records(staged, collect_batches(staged), K)
    with pytest.raises(CtdcError) as err:
        anonymize_records(merged, schema, settings)
    assert err.value.slug is Slug.ACCOUNTING_UNBALANCED and "does not balance" in str(err.value)


def test_an_unbalanced_accounting_has_its_own_slug() -> None:
    row = OrgAccounting(rows_read=10, quarantined=1, staged=9, duplicates_merged=0,
                        records_suppressed=2, released=6)  # fmt: skip
    assert not row.balanced and row.to_dict()["balanced"] is False
    with pytest.raises(CtdcError) as err:
        check_balanced(Accounting(total=row, per_org={"x": row}))
    assert err.value.slug is Slug.ACCOUNTING_UNBALANCED
    assert err.value.slug is not Slug.K_CHECK_FAILED


def test_build_write_and_verify_the_release_tables(
    staged: Workspace, schema: Schema, settings: RunSettings, tmp_path: Path
) -> None:
    merged = merge_records(staged, collect_batches(staged), K)
    anonymized = anonymize_records(merged, schema, settings)
    tables = build_tables(anonymized, schema, settings)
    assert tables.cases.schema == schema.release_arrow_schema()
    assert tables.cases.num_rows == len(anonymized.frame)
    assert "org_id" not in tables.cases.column_names
    sha = write_tables(tmp_path, tables)
    assert sha == hashlib.sha256((tmp_path / CASES_FILE).read_bytes()).hexdigest()
    assert pq.read_table(tmp_path / DICTIONARY_FILE).num_rows == tables.dictionary.num_rows
    assert write_tables(tmp_path, tables) == sha  # same tables, same bytes
    check = verify_release(tmp_path / CASES_FILE, schema, settings)
    assert check.passed and check.min_class_size >= K and check.l_diversity is None
    # one record alone is a class of one: the independent check refuses it
    pq.write_table(tables.cases.slice(0, 1), tmp_path / "one.parquet")
    with pytest.raises(CtdcError) as err:
        verify_release(tmp_path / "one.parquet", schema, settings)
    assert err.value.slug is Slug.K_CHECK_FAILED


def test_the_publish_steps_write_both_manifests(ws: Workspace, schema: Schema) -> None:
    settings = load_settings(ws, schema, k=K, levels=LEVELS)
    clear_stale_temps(ws, settings.area)
    batches = collect_batches(ws)
    merged: Merged = merge_records(ws, batches, K)
    anonymized = anonymize_records(merged, schema, settings)
    accounting = account_records(batches, merged, anonymized)
    tables = build_tables(anonymized, schema, settings)
    built = ws.releases_dir / ".tmp-test"
    built.mkdir(parents=True)
    sha = write_tables(built, tables)
    check = verify_release(built / CASES_FILE, schema, settings)
    assert previous_release(ws) is None
    digest = fingerprint(sha, batches.ids, K, None, settings.levels)
    manifest = build_manifest(release=release_id(ws, sha), fingerprint=digest, schema=schema,
                              settings=settings, batches=batches, accounting=accounting,
                              anonymized=anonymized, check=check, tables=tables,
                              data_sha256=sha, previous=None)  # fmt: skip
    assert manifest.release_id.endswith(sha[:8]) and manifest.batches == batches.ids
    assert manifest.changes.batches_added == batches.ids and manifest.changes.rows_before == 0
    assert ReleaseManifest.from_dict(manifest.to_dict()) == manifest
    accounting_table, loss, risk = harmonize_tables(manifest)  # the CLI's report reads it
    assert (accounting_table.row_count, loss.row_count, risk.row_count) == (
        2,
        len(manifest.quasi_identifiers),
        2,
    )
    final = write_release(ws, built, manifest)
    assert final == current_release(ws) and not built.exists()
    again = previous_release(ws)
    assert again is not None and again.manifest == manifest and again.path == final
    public, doc = to_public(settings.area, final, manifest, settings.keep_public)
    assert public == current_public_release(settings.area.root)
    assert doc.records_released % doc.counts_rounded_to == 0
    assert doc.files[CASES_FILE] == sha and doc.previous_release is None
    assert PublicManifest.from_dict(doc.to_dict()) == doc
    assert to_public(settings.area, final, manifest, settings.keep_public) == (public, doc)
    assert (public / MANIFEST_FILE).is_file()


@pytest.mark.slow
def test_harmonize_runs_the_steps_and_then_finds_the_input_unchanged(
    ws: Workspace, schema: Schema
) -> None:
    first = harmonize(ws, schema, k=K, levels=LEVELS)
    assert first.status is ReleaseStatus.PUBLISHED and first.status == "published"
    second = harmonize(ws, schema, k=K, levels=LEVELS)
    assert second.status is ReleaseStatus.UNCHANGED
    assert (second.manifest, second.public_manifest) == (first.manifest, first.public_manifest)


def test_a_step_that_loses_a_record_stops_the_run_before_anything_is_published(
    ws: Workspace, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = series_run.run_increment

    def drop_one(*args: Any, **kwargs: Any) -> SeriesOutcome:
        out = real(*args, **kwargs)
        frame = out.anonymized.frame.iloc[1:]
        anonymized = replace(out.anonymized, result=replace(out.anonymized.result, frame=frame))
        return replace(out, anonymized=anonymized)

    monkeypatch.setattr(series_run, "run_increment", drop_one)
    with pytest.raises(CtdcError) as err:
        harmonize(ws, schema, k=K, levels=LEVELS)
    assert err.value.slug is Slug.ACCOUNTING_UNBALANCED
    assert current_release(ws) is None
    for folder in (ws.releases_dir, ws.root / "public" / "releases"):
        assert (list(folder.iterdir()) if folder.exists() else []) == [], folder
    assert current_public_release(ws.root / "public") is None
