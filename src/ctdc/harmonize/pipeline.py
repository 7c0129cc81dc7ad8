"""``harmonize``: staged batches -> one verified, k-anonymous release, published atomically.

Steps, under an exclusive lock: union and de-duplicate the staging (DuckDB),
anonymize (strict k by local recoding along the schema's hierarchies, optional
l-diversity over the sensitive fields), derive the label
columns, write the release into a temp folder, check k independently with a
GROUP BY over the written Parquet, and only then publish. A failed check
publishes nothing. A run over unchanged input publishes nothing new either:
its data would be byte-identical to the current release.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ctdc import __version__
from ctdc.anonymize import Hierarchy, anonymize, check_k_anonymity, check_l_diversity
from ctdc.errors import CtdcError
from ctdc.harmonize.derive import apply_derivations
from ctdc.harmonize.merge import merge_staging
from ctdc.harmonize.public_manifest import public_manifest
from ctdc.harmonize.release_table import to_release_table
from ctdc.schema import Schema
from ctdc.store.atomic import write_json, write_parquet
from ctdc.store.catalog import write_catalog
from ctdc.store.ledger import BatchEntry, Superseded, live_entries, read_entries
from ctdc.store.lock import exclusive_lock
from ctdc.store.policy import check_schema, effective, load_policy
from ctdc.store.public import (
    PublicArea,
    current_public_release,
    prepare,
    prune,
    public_area,
    publish_public,
)
from ctdc.store.release import (
    CASES_FILE,
    DICTIONARY_FILE,
    MANIFEST_FILE,
    current_release,
    publish,
    read_manifest,
    remove_stale_release_temps,
    staging_release,
)
from ctdc.store.workspace import Workspace

MIN_K = 2


@dataclass(frozen=True)
class HarmonizeResult:
    """``path``/``manifest``: the private release; ``public_path``/``public_manifest``: its
    public copy, the only one analysts read."""

    status: str  # "published" | "unchanged"
    release_id: str
    path: Path
    manifest: dict[str, Any]
    public_path: Path | None = None
    public_manifest: dict[str, Any] | None = None


def label_columns(frame: pd.DataFrame, schema: Schema) -> dict[str, pd.Series]:
    """One ``;``-joined label column per flag group, derived from the flags (never stored apart).

    NA when no flag of the group is true: the flags themselves keep the
    difference between "recorded: none" (false) and "not recorded" (NA).
    """
    out: dict[str, pd.Series] = {}
    for group in schema.groups.values():
        if not group.concatenated:
            continue
        joined = np.full(len(frame), "", dtype=object)
        for flag in group.flags:
            hit = frame[flag.name].fillna(False).to_numpy(dtype=bool)
            sep = np.where(joined == "", "", ";")
            joined = np.where(hit, joined + sep + str(flag.label), joined)
        out[group.concatenated] = pd.Series(
            # numpy's stubs refuse None as a value, which an object array holds fine
            pd.array(np.where(joined == "", None, joined), dtype="string"),  # type: ignore[call-overload]
            index=frame.index,
        )
    return out


def _accounting(entries: list[BatchEntry], dups: dict[str, int], released: pd.Series,
                suppressed: dict[str, int]) -> dict[str, Any]:  # fmt: skip
    """Row accounting overall and per organization; ``balanced`` must hold."""
    orgs = sorted({e.org for e in entries})
    released_by_org = released.value_counts().to_dict()
    per_org: dict[str, dict[str, int | bool]] = {}
    for org in orgs:
        mine = [e for e in entries if e.org == org]
        row = {
            "rows_read": sum(e.rows_read for e in mine),
            "quarantined": sum(e.quarantined for e in mine),
            "staged": sum(e.staged for e in mine),
            "duplicates_merged": int(dups.get(org, 0)),
            "records_suppressed": int(suppressed.get(org, 0)),
            "released": int(released_by_org.get(org, 0)),
        }
        per_org[org] = row
    total = {k: sum(int(r[k]) for r in per_org.values()) for k in next(iter(per_org.values()))}
    for row in [*per_org.values(), total]:
        row["balanced"] = (
            row["rows_read"] == row["staged"] + row["quarantined"]
            and row["staged"]
            == row["released"] + row["records_suppressed"] + row["duplicates_merged"]
        )
    return {"total": total, "per_org": per_org}


def _release_id(ws: Workspace, data_sha: str) -> str:
    """UTC time + the public cases file's hash: nothing private (batch ids) shows in the id."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    base = f"{stamp}-{data_sha[:8]}"
    candidate, n = base, 1
    while (ws.releases_dir / candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def release_levels(schema: Schema, overrides: dict[str, int | None]) -> dict[str, int | None]:
    """Level per quasi-identifier with a hierarchy: the schema's, then ``overrides``.

    Raises ``bad-option`` for a field that is not a quasi-identifier with a
    hierarchy, or a level outside its hierarchy.
    """
    levels = {f.name: f.level for f in schema.fields if f.role == "quasi_identifier"
              and f.hierarchy is not None}  # fmt: skip
    for name, level in overrides.items():
        if name not in levels:
            raise CtdcError("bad-option", f"--generalize {name}: not a quasi-identifier with a "
                            f"hierarchy; those are {', '.join(sorted(levels))}")  # fmt: skip
        top = load_hierarchy(schema[name].hierarchy).height - 1
        if level is not None and not 0 <= level <= top:
            raise CtdcError("bad-option", f"--generalize {name}={level}: levels are 0..{top}")
        levels[name] = level
    return levels


@lru_cache(maxsize=16)
def load_hierarchy(path: Path) -> Hierarchy:
    try:
        return Hierarchy.from_csv(path)
    except (OSError, ValueError) as exc:
        raise CtdcError("bad-schema", str(exc), file=path) from exc


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

    The workspace's pinned policy decides k, l and the release levels, and
    ``schema`` must be its pinned schema. ``k``, ``l`` and ``levels`` (``None`` =
    auto) are one run's explicit overrides, recorded in the manifest; k never
    goes under the steward's floor. ``l`` asks for distinct l-diversity of every
    sensitive field.
    """
    say = progress or (lambda _msg: None)
    policy = load_policy(ws)
    check_schema(policy, schema)
    run = effective(policy, k=k, l=l, levels=levels)
    k, l = run.k, run.l  # noqa: E741
    if k < MIN_K:
        raise CtdcError("bad-option", f"k must be at least {MIN_K}, got {k}")
    if l is not None and l < 1:
        raise CtdcError("bad-option", f"l must be at least 1, got {l}")
    chosen = release_levels(schema, run.levels)
    if publish_dir is None and policy.publish_dir is not None:
        publish_dir = Path(policy.publish_dir)
    public_mode = policy.public_mode if public_mode is None else public_mode
    keep_public = policy.keep_public if keep_public is None else keep_public
    if keep_public < 1:
        raise CtdcError("bad-option", f"keep_public must be at least 1, got {keep_public}")
    area = public_area(ws.root, publish_dir, public_mode)
    say(policy.summary() + (f"; this run: {run.overrides}" if run.overrides else ""))
    with exclusive_lock(ws.lock_path, wait=wait):
        remove_stale_release_temps(ws)
        prepare(area, ws.root)
        entries, superseded = live_entries(read_entries(ws))  # a snapshot replaces earlier
        if not entries:
            raise CtdcError("no-staged-data", f"no committed batch in {ws.ledger_dir}")
        say(f"merging {len(entries)} batches")
        merged, dups = merge_staging(ws, entries)
        if len(merged) < k:
            raise CtdcError("too-few-records", f"{len(merged)} distinct records are staged; a "
                            f"k-anonymous release needs at least k={k}")  # fmt: skip
        qis = schema.quasi_identifiers
        say(f"anonymizing {len(merged):,} records: k={k} over {len(qis)} quasi-identifiers"
            + (f", l={l}" if l else ""))  # fmt: skip
        hierarchies = {n: load_hierarchy(schema[n].hierarchy) for n in chosen}
        pinned = {name: level for name, level in chosen.items() if level is not None}
        try:
            result = anonymize(
                merged,
                qis,
                k,
                hierarchies=hierarchies,
                levels=pinned,
                sensitive=schema.names("sensitive"),
                l=l,
                group_col="org_id",
            )
        except ValueError as exc:
            raise CtdcError("bad-option", str(exc)) from exc
        out = result.frame
        if out.empty:
            raise CtdcError("too-few-records", f"no record of {len(merged)} can be released "
                            f"with k={k}" + (f" and l={l}" if l else ""))  # fmt: skip
        accounting = _accounting(entries, dups, out["org_id"],
                                 result.report.records_suppressed_by_group)  # fmt: skip
        if not accounting["total"]["balanced"]:
            raise CtdcError("accounting-unbalanced", "overall: " + ", ".join(
                f"{key} {value}" for key, value in accounting["total"].items()))  # fmt: skip

        release = apply_derivations(out[schema.released].copy(), schema, hierarchies)
        for name, col in label_columns(out, schema).items():
            release[name] = col
        arrow_schema = schema.release_arrow_schema(chosen)
        cases = to_release_table(release, arrow_schema)  # no pandas metadata: stable bytes
        dictionary = pa.Table.from_pylist(schema.dictionary_rows()).replace_schema_metadata(None)

        with staging_release(ws) as tmp:
            write_parquet(tmp / CASES_FILE, cases)
            write_parquet(tmp / DICTIONARY_FILE, dictionary)
            say("verifying k-anonymity on the written Parquet")
            check = check_k_anonymity(tmp / CASES_FILE, qis, k)
            if not check.passed:
                raise CtdcError(
                    "k-check-failed",
                    f"{check.violating_classes} classes ({check.violating_records} records) "
                    f"are smaller than k={k}",
                )
            sensitive = schema.names("sensitive") if l else []
            l_check = check_l_diversity(tmp / CASES_FILE, qis, sensitive, l) if l else {}
            if any(l_check.values()):
                raise CtdcError(
                    "k-check-failed", f"classes with fewer than l={l} distinct values: {l_check}"
                )
            data_sha = hashlib.sha256((tmp / CASES_FILE).read_bytes()).hexdigest()
            batches = sorted(e.batch_id for e in entries)
            fingerprint = hashlib.sha256(
                json.dumps([data_sha, batches, k, l, chosen], sort_keys=True).encode()
            ).hexdigest()
            previous = current_release(ws)
            prev_manifest = read_manifest(previous) if previous else None
            if previous and prev_manifest and prev_manifest.get("fingerprint") == fingerprint:
                public, public_doc = _to_public(area, previous, prev_manifest, keep_public)
                return HarmonizeResult("unchanged", previous.name, previous, prev_manifest,
                                       public, public_doc)  # fmt: skip

            release_id = _release_id(ws, data_sha)
            report = result.report.to_dict()
            manifest = {
                "release_id": release_id,
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "ctdc_version": __version__,
                "schema": {
                    "name": schema.name,
                    "version": schema.version,
                    "sha256": policy.schema_sha256,
                },
                "fingerprint": fingerprint,
                "k": k,
                "l": l,
                "policy": run.to_dict(policy),
                "quasi_identifiers": qis,
                "sensitive": schema.names("sensitive") if l else [],
                "generalization_levels": {n: "auto" if v is None else v for n, v in chosen.items()},
                "accounting": accounting,
                "anonymization": report,
                "k_check": {
                    "method": "DuckDB GROUP BY over all quasi-identifiers of cases.parquet",
                    "passed": check.passed,
                    "classes": check.classes,
                    "min_class_size": check.min_class_size,
                    "l_diversity": {"l": l, "classes_below_l": l_check} if l else None,
                },
                "batches": batches,
                "files": {
                    CASES_FILE: {"sha256": data_sha, "rows": cases.num_rows},
                    DICTIONARY_FILE: {"rows": dictionary.num_rows},
                },
                "changes": _changes(prev_manifest, batches, cases.num_rows, superseded),
            }
            write_json(tmp / MANIFEST_FILE, manifest, mode=0o600)
            final = publish(ws, tmp, release_id)
        public, public_doc = _to_public(area, final, manifest, keep_public)
        say(f"published release {release_id} to {area.root}")
        return HarmonizeResult("published", release_id, final, manifest, public, public_doc)


def _to_public(area: PublicArea, release: Path, manifest: dict[str, Any],
               keep: int) -> tuple[Path, dict[str, Any]]:  # fmt: skip
    """Make the private ``release`` the public folder's current one, unless it already is.

    Copies its data files (same bytes) with the public manifest, removes public
    releases beyond ``keep`` and rewrites the catalog. Runs after the private
    publish, so a crash in between leaves the public folder one release behind
    until the next run, never ahead of a release that did not pass its checks.
    """
    current = current_public_release(area.root)
    if current is not None and current.name == manifest["release_id"]:
        doc = read_manifest(current)
    else:
        files = {name: release / name for name in (CASES_FILE, DICTIONARY_FILE)}
        shas = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files.items()}
        doc = public_manifest(manifest, file_sha256=shas,
                              previous_release=current.name if current else None)  # fmt: skip
        current = publish_public(area, manifest["release_id"], files, doc, MANIFEST_FILE)
        write_catalog(area)
    prune(area, keep)
    if not area.catalog_path.is_file():
        write_catalog(area)
    return current, doc


def _changes(prev: dict[str, Any] | None, batches: list[str], rows: int,
             superseded: list[Superseded]) -> dict[str, Any]:  # fmt: skip
    """What changed since ``prev``; ``superseded`` lists every batch a snapshot replaced."""
    gone = [
        {**s.to_dict(), "note": f"{len(s.batches)} earlier batches of {s.org} superseded by "
         f"snapshot {s.snapshot}: not in this release, not in its accounting"}
        for s in superseded
    ]  # fmt: skip
    if prev is None:
        return {"previous_release": None, "batches_added": batches, "batches_removed": [],
                "batches_superseded": gone, "rows_before": 0, "rows_after": rows}  # fmt: skip
    before = set(prev.get("batches", []))
    return {
        "previous_release": prev["release_id"],
        "batches_added": sorted(set(batches) - before),
        "batches_removed": sorted(before - set(batches)),
        "batches_superseded": gone,
        "rows_before": prev["files"][CASES_FILE]["rows"],
        "rows_after": rows,
    }
