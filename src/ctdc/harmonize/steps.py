"""The data steps of a harmonize run, each a function of typed values, testable on its own.

``harmonize()`` (``pipeline.py``) runs them in order under the lock:
collect the live batches -> merge them -> anonymize -> account -> build the
release tables -> write them -> verify the written file. Each step raises the
catalogue's slug for its own failure, so a run stops at the first step that
finds something wrong and nothing after it (the publish) runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ctdc.anonymize import (
    AnonymizationResult,
    Hierarchy,
    anonymize,
    check_k_anonymity,
    check_l_diversity,
)
from ctdc.anonymize.report import UnbalancedReport
from ctdc.errors import CtdcError
from ctdc.harmonize.accounting import Accounting, account, check_balanced
from ctdc.harmonize.derive import apply_derivations, label_columns
from ctdc.harmonize.dictionary import dictionary_table
from ctdc.harmonize.levels import split_levels
from ctdc.harmonize.manifest import LDiversityCheck, PrivacyCheck
from ctdc.harmonize.merge import merge_staging
from ctdc.harmonize.release_table import to_release_table
from ctdc.harmonize.settings import RunSettings, field_hierarchy
from ctdc.schema import Schema
from ctdc.slugs import Slug
from ctdc.store.atomic import write_parquet
from ctdc.store.ledger import BatchEntry, Superseded, live_entries, read_entries
from ctdc.store.release import CASES_FILE, DICTIONARY_FILE
from ctdc.store.workspace import Workspace


@dataclass(frozen=True)
class Batches:
    """The committed batches a release uses, and those a later snapshot superseded."""

    entries: list[BatchEntry]
    superseded: list[Superseded]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(e.batch_id for e in self.entries))


@dataclass(frozen=True)
class Merged:
    """One row per distinct record, and the duplicates merged away per organization."""

    frame: pd.DataFrame
    duplicates: dict[str, int]


@dataclass(frozen=True)
class Anonymized:
    """The anonymizer's released rows and report, and the hierarchies it used."""

    result: AnonymizationResult
    hierarchies: dict[str, Hierarchy]

    @property
    def frame(self) -> pd.DataFrame:
        return self.result.frame


@dataclass(frozen=True)
class ReleaseTables:
    cases: pa.Table
    dictionary: pa.Table


def collect_batches(ws: Workspace) -> Batches:
    """Every live committed batch; raises ``no-staged-data`` when there is none."""
    entries, superseded = live_entries(read_entries(ws))
    if not entries:
        raise CtdcError(Slug.NO_STAGED_DATA, f"no committed batch in {ws.ledger_dir}")
    return Batches(entries, superseded)


def merge_records(ws: Workspace, batches: Batches, k: int) -> Merged:
    """The batches' staging, unioned and de-duplicated (the latest batch wins).

    Raises ``too-few-records`` under ``k`` distinct records: no class of k can exist.
    """
    frame, duplicates = merge_staging(ws, batches.entries)
    if len(frame) < k:
        raise CtdcError(Slug.TOO_FEW_RECORDS, f"{len(frame)} distinct records are staged; a "
                        f"k-anonymous release needs at least k={k}")  # fmt: skip
    return Merged(frame, dict(duplicates))


def protected_flags(schema: Schema) -> list[str]:
    """The protected flags the engine enforces: per class for a sensitive flag (means of
    control), per group of rows sharing the demographics for a quasi-identifier flag
    (types of exploitation; docs/privacy.md, "Protected flags")."""
    return [f for f in schema.protected if f in schema.released]


def anonymize_records(merged: Merged, schema: Schema, settings: RunSettings) -> Anonymized:
    """Strict k (and l) by local recoding along the schema's hierarchies, at the run's levels.

    Raises ``too-few-records`` when no record can be released (only possible with l),
    ``accounting-unbalanced`` when the engine's own report does not add up, and
    ``bad-option`` for an argument the engine refuses.
    """
    k, l = settings.k, settings.l  # noqa: E741
    hierarchies = {n: field_hierarchy(schema[n]) for n in settings.levels}
    pinned = {name: level for name, level in settings.levels.items() if level is not None}
    try:
        result = anonymize(
            merged.frame,
            schema.quasi_identifiers,
            k,
            hierarchies=hierarchies,
            levels=pinned,
            sensitive=schema.names("sensitive"),
            l=l,
            protected=protected_flags(schema),
            group_col="org_id",
        )
    except UnbalancedReport as exc:
        raise CtdcError(Slug.ACCOUNTING_UNBALANCED, str(exc)) from exc
    except ValueError as exc:
        raise CtdcError(Slug.BAD_OPTION, str(exc)) from exc
    if result.frame.empty:
        raise CtdcError(Slug.TOO_FEW_RECORDS, f"no record of {len(merged.frame)} can be released "
                        f"with k={k}" + (f" and l={l}" if l else ""))  # fmt: skip
    return Anonymized(with_status(result, schema), hierarchies)


def with_status(result: AnonymizationResult, schema: Schema) -> AnonymizationResult:
    """The released rows with one status column per quasi-identifier (``as_recorded``,
    ``generalized``, ``suppressed``, ``not_recorded``): the engine counted "suppressed" and
    "not recorded" apart for k, so publishing which is which keeps every class at k."""
    assert result.status is not None
    status = {c: pd.array(result.status[q].astype(str), dtype="string")
              for q, c in schema.status_columns.items()}  # fmt: skip
    return replace(result, frame=result.frame.assign(**status))


def account_records(batches: Batches, merged: Merged, anonymized: Anonymized) -> Accounting:
    """Every staged record released, suppressed or merged; raises ``accounting-unbalanced``."""
    report = anonymized.result.report
    accounting = account(batches.entries, merged.duplicates, anonymized.frame["org_id"],
                         report.records_suppressed_by_group)  # fmt: skip
    check_balanced(accounting)
    return accounting


def build_tables(anonymized: Anonymized, schema: Schema, settings: RunSettings) -> ReleaseTables:
    """The released columns, derived fields and flag labels, cast to the release's Arrow schema
    and sorted by their content.

    No pandas metadata goes into the tables, so the same records give the same bytes.
    """
    frame = anonymized.frame
    release = apply_derivations(frame[schema.release_row].copy(), schema, anonymized.hierarchies)
    release = split_levels(release, schema, anonymized.hierarchies)
    for name, col in label_columns(frame, schema).items():
        release[name] = col
    cases = to_release_table(release, schema.release_arrow_schema())
    # sorted by the released content, after the derivations: the row order then tells
    # neither the organization nor the time of ingest, nor a value a derivation blanked
    # (nulls last: the default of every pyarrow >= 20, per key since 25)
    order = pc.sort_indices(cases, sort_keys=[(n, "ascending") for n in cases.column_names])
    cases = cases.take(order)
    dictionary = dictionary_table(schema, anonymized.hierarchies)
    return ReleaseTables(with_metadata(cases, dictionary, schema, settings), dictionary)


#: the cases file's key-value metadata key for what the release is (JSON)
RELEASE_META = b"ctdc"


def with_metadata(cases: pa.Table, dictionary: pa.Table, schema: Schema,
                  settings: RunSettings) -> pa.Table:  # fmt: skip
    """``cases`` with each column's description and the release's k and schema hash in the
    Parquet key-value metadata, and pandas' metadata so that pandas reads the flags as
    ``boolean`` (not ``object``) and the year as ``Int16``. Deterministic: the release id
    is stamped in afterwards (:func:`stamp_release_id`), once the content's hash names it."""
    described = dict(zip(dictionary.column("column").to_pylist(),
                         dictionary.column("description").to_pylist(), strict=True))  # fmt: skip
    fields = [f.with_metadata({b"description": described[f.name].encode()}) for f in cases.schema]
    dtypes = {pa.bool_(): "boolean", pa.int16(): "Int16", pa.string(): "string"}
    empty = pd.DataFrame({f.name: pd.array([], dtype=dtypes[f.type]) for f in cases.schema})
    pandas_meta = pa.Schema.from_pandas(empty, preserve_index=False).metadata[b"pandas"]
    about = {"schema": schema.name, "schema_version": schema.version, "k": settings.k,
             "l": settings.l, "schema_sha256": settings.policy.schema_sha256}  # fmt: skip
    meta = {b"pandas": pandas_meta, RELEASE_META: json.dumps(about, sort_keys=True).encode()}
    return pa.Table.from_arrays(cases.columns, schema=pa.schema(fields, metadata=meta))


def stamp_release_id(path: Path, release_id: str) -> str:
    """Add the release id to the cases file's metadata; the SHA-256 of the file as published.

    The id is named after the content's hash, so it goes in after that hash is taken."""
    table = pq.read_table(path)
    meta = dict(table.schema.metadata or {})
    about = json.loads(meta.get(RELEASE_META, b"{}")) | {"release_id": release_id}
    meta[RELEASE_META] = json.dumps(about, sort_keys=True).encode()
    write_parquet(path, table.replace_schema_metadata(meta))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_tables(folder: Path, tables: ReleaseTables) -> str:
    """Write both Parquet files into ``folder``; return the SHA-256 of the cases file."""
    write_parquet(folder / CASES_FILE, tables.cases)
    write_parquet(folder / DICTIONARY_FILE, tables.dictionary)
    return hashlib.sha256((folder / CASES_FILE).read_bytes()).hexdigest()


def verify_release(cases: Path, schema: Schema, settings: RunSettings) -> PrivacyCheck:
    """Check k (and l) again with DuckDB over the written file; raises ``k-check-failed``.

    Independent of the anonymizer: a bug there is caught here, before anything
    is published.
    """
    k, l = settings.k, settings.l  # noqa: E741
    qis = schema.release_file_keys
    check = check_k_anonymity(cases, qis, k)
    if not check.passed:
        raise CtdcError(
            Slug.K_CHECK_FAILED,
            f"{check.violating_classes} classes ({check.violating_records} records) "
            f"are smaller than k={k}",
        )
    l_div = None
    if l:
        below = check_l_diversity(cases, qis, schema.names("sensitive"), l)
        l_div = LDiversityCheck(l, below)
        if not l_div.passed:
            raise CtdcError(
                Slug.K_CHECK_FAILED, f"classes with fewer than l={l} distinct values: {below}"
            )
    return PrivacyCheck(check.passed, check.classes, check.min_class_size, l_div)
