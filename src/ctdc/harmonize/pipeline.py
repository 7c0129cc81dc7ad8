"""``harmonize``: staged batches -> one verified, k-anonymous release, published atomically.

A run is a sequence of named steps (``settings.py``, ``steps.py``,
``publish.py``), all under an exclusive lock: read the pinned policy, collect
and merge the live batches, anonymize (strict k by local recoding along the
schema's hierarchies, optional l-diversity over the sensitive fields), account
for every record, build the release tables, write them into a temp folder,
check k independently with a GROUP BY over the written Parquet, run every
attack of ``ctdc audit`` on it (``gate.py``), and only then publish, privately
and then publicly. A failed step publishes nothing. A run
over unchanged input publishes nothing new either: its data would be
byte-identical to the current release. That is known before any record is
read when the inputs (batches, withdrawals, settings, the day while records
wait) are those of the current release, and after the release is built otherwise.
Every run ends with the policy's retention (``keep_releases``, ``store.retention``);
a published release and what retention removed go to the release log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from ctdc.harmonize.manifest import ReleaseManifest, fingerprint
from ctdc.harmonize.public_manifest import PublicManifest
from ctdc.harmonize.publish import (
    Release,
    build_manifest,
    clear_stale_temps,
    previous_release,
    release_id,
    to_public,
    write_release,
)
from ctdc.harmonize.series import today_utc
from ctdc.harmonize.series_run import (
    account_series,
    input_digest,
    open_series,
    rollback_applies,
    withdrawals_digest,
)
from ctdc.harmonize.settings import RunSettings, load_settings
from ctdc.harmonize.steps import (
    build_tables,
    collect_batches,
    merge_records,
    stamp_release_id,
    verify_release,
    write_tables,
)
from ctdc.quarantine.retention import purge_expired
from ctdc.schema import Schema
from ctdc.store.lock import exclusive_lock
from ctdc.store.night_stamp import night_options, write_stamp
from ctdc.store.release import CASES_FILE, staging_release
from ctdc.store.release_log import ReleaseAction, record_event
from ctdc.store.retention import Pruned, prune_releases
from ctdc.store.rollback_state import RolledBack, clear_state, write_state
from ctdc.store.workspace import Workspace


class ReleaseStatus(StrEnum):
    PUBLISHED = "published"
    #: the input and settings give the current release again: nothing new is written
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class HarmonizeResult:
    """``path``/``manifest``: the private release; ``public_path``/``public_manifest``: its
    public copy, the only one analysts read."""

    status: ReleaseStatus
    release_id: str
    path: Path
    manifest: ReleaseManifest
    public_path: Path
    public_manifest: PublicManifest


def harmonize(
    ws: Workspace,
    schema: Schema,
    *,
    k: int | None = None,
    l: int | None = None,  # noqa: E741 -- the letter of l-diversity
    levels: dict[str, int | None] | None = None,
    wait: float = 0.0,
    progress: Callable[[str], None] | None = None,
    publish_dir: Path | None = None,
    public_mode: int | None = None,
    keep_public: int | None = None,
    new_epoch: bool = False,
) -> HarmonizeResult:
    """Build, verify and publish a release from every live committed batch.

    The verified release goes to the private workspace (with the full
    manifest) and then to the public folder ``publish_dir`` (default
    ``<data>/public``; folders ``public_mode``, files the same without x bits)
    with the public manifest; the public folder keeps the current release and
    the ``keep_public - 1`` newest before it (the three default to the policy's).
    An unchanged run re-publishes a public copy that a crash left behind the
    private one.

    Raises ``too-few-records`` when fewer than k records are staged, or none is
    left after anonymization (only possible with l-diversity): a release
    needs at least one class of k.

    Batches an organization's latest ``snapshot`` superseded are left out of
    the release and its accounting, and listed in the manifest's ``changes``.

    The release continues the series (:mod:`ctdc.harmonize.series`): records
    published before keep their released rows, new ones join as a k-anonymous
    increment or wait. ``new_epoch`` re-anonymizes everything; a changed schema,
    k, l, levels or protected flags refuses to run without it (``new-epoch-needed``).

    The workspace's pinned policy decides k, l and the release levels, and
    ``schema`` must be its pinned schema. ``k``, ``l`` and ``levels`` (``None`` =
    auto) are one run's explicit overrides, recorded in the manifest; k never
    goes under the steward's floor. ``l`` asks for distinct l-diversity of every
    sensitive field.
    """
    say = progress or (lambda _msg: None)
    options = night_options(k, l, levels, publish_dir, public_mode, keep_public)
    with exclusive_lock(ws.lock_path, wait=wait):
        settings = load_settings(ws, schema, k=k, l=l, levels=levels, publish_dir=publish_dir,
                                 public_mode=public_mode, keep_public=keep_public)  # fmt: skip
        say(settings.summary())
        clear_stale_temps(ws, settings.area)
        purged = purge_expired(ws, retention_days=settings.policy.quarantine_retention_days)
        if purged.batches or purged.archived_exports:  # raw rows past retention
            say(f"retention: purged {purged.rows:,} quarantined rows, "
                f"{purged.archived_exports} archived exports")  # fmt: skip
        batches = collect_batches(ws)
        previous = previous_release(ws)
        before = (previous.manifest.series or {}) if previous is not None else {}
        today = today_utc()
        rollback = rollback_applies(ws, previous)
        inputs = input_digest(ws, schema, settings, batches, bool(before.get("held")), today,
                              rollback)  # fmt: skip
        if previous is not None and not new_epoch and inputs in _known(before, rollback):
            return _stamped(ws, settings, options, bool(before.get("held")),
                            _unchanged(ws, previous, settings, schema))  # fmt: skip
        say(f"merging {len(batches.entries)} batches")
        merged = merge_records(ws, batches, settings.k)
        series = open_series(ws, schema, settings, previous, merged, new_epoch=new_epoch)
        say(f"anonymizing {len(series.plan.pending):,} pending of {len(merged.frame):,} records "
            f"(epoch {series.epoch}, {len(series.plan.frozen):,} published rows frozen): "
            f"k={settings.k} over {len(schema.quasi_identifiers)} quasi-identifiers"
            + (f", l={settings.l}" if settings.l else ""))  # fmt: skip
        outcome = series.run(merged)
        anonymized = outcome.anonymized
        accounting = account_series(batches, merged, series, outcome)
        tables = build_tables(anonymized, schema, settings)
        with staging_release(ws) as tmp:
            data_sha = write_tables(tmp, tables)
            say("verifying k-anonymity on the written Parquet")
            check = verify_release(tmp / CASES_FILE, schema, settings)
            digest = fingerprint(data_sha, batches.ids, settings.k, settings.l, settings.levels,
                                 withdrawals_digest(ws), settings.policy.licence_mark)  # fmt: skip
            if previous is not None and previous.manifest.fingerprint == digest:
                if rollback is not None:  # the next night knows before it merges
                    write_state(ws, replace(rollback, unchanged_inputs=inputs))
                return _stamped(ws, settings, options, bool(before.get("held")),
                                _unchanged(ws, previous, settings, schema))  # fmt: skip
            rid = release_id(ws, data_sha)
            data_sha = stamp_release_id(tmp / CASES_FILE, rid)  # the file as published
            series.write_ledger(rid, outcome)  # the gate's frozen rows check reads it
            say("auditing the release (every attack of `ctdc audit`)")
            report = series.audit(tmp, rid, previous)
            manifest = build_manifest(
                release=rid,
                fingerprint=digest,
                schema=schema,
                settings=settings,
                batches=batches,
                accounting=accounting,
                anonymized=anonymized,
                check=check,
                tables=tables,
                data_sha256=data_sha,
                previous=previous.manifest if previous else None,
                series={
                    **series.summary(outcome),
                    "inputs": input_digest(
                        ws, schema, settings, batches, bool(len(outcome.held)), today
                    ),
                    "audit": report.names_passed(),
                },
            )
            final = write_release(ws, tmp, manifest)
        # the new ledger holds what a rollback kept out as withheld: its state is spent
        clear_state(ws)
        record_event(ws, ReleaseAction.PUBLISH, release=manifest.release_id,
                     previous=previous.path.name if previous is not None else None)  # fmt: skip
        public, public_doc = to_public(settings.area, final, manifest, settings.keep_public,
                                       schema=schema)  # fmt: skip
        retain(ws, settings)
        say(f"published release {manifest.release_id} to {settings.area.root}")
        return _stamped(ws, settings, options, bool(len(outcome.held)),
                        HarmonizeResult(ReleaseStatus.PUBLISHED, manifest.release_id, final,
                                        manifest, public, public_doc))  # fmt: skip


def _stamped(ws: Workspace, settings: RunSettings, options: dict[str, object], held: bool,
             result: HarmonizeResult) -> HarmonizeResult:  # fmt: skip
    """``result``, once the stamp the next night compares is written (``store.night_stamp``)."""
    write_stamp(ws.root, settings.area.root, options, held=held,
                retention_days=settings.policy.quarantine_retention_days,
                release_id=result.release_id, public_path=result.public_path)  # fmt: skip
    return result


def _known(before: dict[str, object], rollback: RolledBack | None) -> set[object]:
    """Input digests that give the current release again: its own, and one a run found
    unchanged while a rollback's state applied."""
    known = {before.get("inputs")}
    if rollback is not None and rollback.unchanged_inputs:
        known.add(rollback.unchanged_inputs)
    return known - {None}


def retain(ws: Workspace, settings: RunSettings) -> Pruned:
    """The policy's retention (``keep_releases``), logged when it removed anything."""
    keep = settings.policy.keep_releases
    pruned = prune_releases(ws, settings.area, keep)
    if pruned.releases or pruned.staging:
        record_event(ws, ReleaseAction.PRUNE, removed=pruned.releases,
                     staging_removed=pruned.staging,
                     reason=f"retention policy keep_releases={keep or 'all'}")  # fmt: skip
    return pruned


def _unchanged(ws: Workspace, previous: Release, settings: RunSettings,
               schema: Schema) -> HarmonizeResult:  # fmt: skip
    """The current release stays; its public copy is made again if a crash left it behind."""
    path, same = previous.path, previous.manifest
    public, public_doc = to_public(settings.area, path, same, settings.keep_public, schema=schema)
    retain(ws, settings)
    return HarmonizeResult(ReleaseStatus.UNCHANGED, path.name, path, same, public, public_doc)
