"""One export, chunk by chunk: read, map, find duplicates, validate, write staging and quarantine.

Memory follows the chunk (``CHUNK_ROWS`` records), not the file: each chunk is
mapped, checked against the contract and written as a row group of the
staging and quarantine Parquet files (temp files beside their targets) before
the next one is read. What has to span chunks is small: the case ids seen so
far (``dedup.SeenIds``, 24 bytes per id), counts per reason and the first few
offending rows for the summary.

Error rows are built exactly as for a whole file, in the same order: the
reader's errors, then the mapping's (for rows the reader did not flag; a
duplicate case id last), then the contract's. Positions are per chunk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ctdc.errors import CATALOGUE
from ctdc.formats.chunk import Chunk
from ctdc.formats.hints import header_hint
from ctdc.formats.read import iter_export
from ctdc.ingest.dedup import SeenIds
from ctdc.ingest.redact import code_columns, example_value
from ctdc.mapping.helpers import QUARANTINE_ID
from ctdc.mapping.source import SourceSpec
from ctdc.mapping.spec import Mapping
from ctdc.mapping.transform import Mapped, apply_mapping, check_columns
from ctdc.quarantine.table import QUARANTINE_SCHEMA, quarantine_table
from ctdc.row_errors import RowErrors, joined, row_errors
from ctdc.schema import Schema, build_contract, expected_text, table_failures
from ctdc.store.atomic import commit_temp, fsync_dir, new_temp, private_mkdir
from ctdc.store.keys import STAGING_FINGERPRINT_META
from ctdc.store.pseudonym import pseudonym_digests, pseudonym_keys
from ctdc.store.workspace import Workspace
from ctdc.store.writers import sink_temp_prefix

if TYPE_CHECKING:
    from pandera.pandas import DataFrameSchema

#: the duplicate-case-id error's "expected", with the row of the first occurrence
ONCE = "each case id once per export (first at row {})"
#: how many offending rows the summary shows (all of them are in the quarantine)
MAX_EXAMPLES = 5


class ParquetSink:
    """A Parquet file written a row group at a time to a temp file, moved to ``target`` at the end.

    The temp file lives in ``target``'s grandparent (``<workspace>/staging``,
    ``<workspace>/quarantine``: the same file system), so that an organization's
    folder is only created when a file is published into it. Nothing is visible
    under ``target`` until :meth:`publish` (``store.atomic.commit_temp``, then
    an fsync of the temp file's folder too); a sink that is never published
    leaves nothing behind (:meth:`discard`). The same chunks give the same bytes.
    The temp file is 0600 in a 0700 folder; one a kill left behind is removed
    by the next writer of the organization (``store.writers``).
    """

    def __init__(self, target: Path, schema: pa.Schema, mode: int = 0o600,
                 prepare: Callable[[Path], object] | None = None) -> None:  # fmt: skip
        self.target, self.schema, self.mode, self._prepare = target, schema, mode, prepare
        self._tmp: Path | None = None
        self._writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._tmp = new_temp(self.target.parent.parent, sink_temp_prefix(self.target))
            self._writer = pq.ParquetWriter(
                self._tmp, self.schema, compression="zstd", write_statistics=True
            )
        if table.num_rows:
            self._writer.write_table(table.cast(self.schema), row_group_size=table.num_rows)
            self.rows += table.num_rows

    def publish(self) -> None:
        """Move the file into place (an empty file with the schema if nothing was written)."""
        try:
            if self._writer is None:
                self.write(self.schema.empty_table())
            assert self._writer is not None and self._tmp is not None
            self._writer.close()
            self._writer = None
            if self._prepare is not None:
                self._prepare(self.target.parent)
            private_mkdir(self.target.parent)
            commit_temp(self._tmp, self.target, self.mode)
            self._tmp = None
            fsync_dir(self.target.parent.parent)
        finally:
            self.discard()

    def discard(self) -> None:
        """Forget what was written (nothing happens to a file already published)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
        self.rows = 0


_T = TypeVar("_T")


def _staged_key(schema: Schema) -> tuple[object, ...]:
    """Everything of a schema that its staged Arrow schema and its contract are built from:
    the name and each staged field's type, values, bounds, pattern and whether it is
    required. Equal keys build equal objects, so the caches hit for a schema read again
    (each workspace keeps its own copy of the schema file) and miss for a changed one."""
    return (schema.name, *((f.name, f.type, f.values, f.min, f.max, f.pattern, f.required)
                           for f in schema.fields if f.role != "direct_identifier"))  # fmt: skip


def _per_schema(cache: dict[tuple[object, ...], _T], schema: Schema,
                build: Callable[[Schema], _T]) -> _T:  # fmt: skip
    """``build(schema)``, built once per :func:`_staged_key`; a long-lived process that reads
    many different schemas starts over past 16."""
    key = _staged_key(schema)
    hit = cache.get(key)
    if hit is None:
        if len(cache) >= 16:
            cache.clear()
        hit = cache[key] = build(schema)
    return hit


def _staged_arrow(schema: Schema) -> pa.Schema:
    frame = pd.DataFrame({n: pd.Series(dtype=schema[n].pandas_dtype) for n in schema.staged})
    return pa.Table.from_pandas(frame, schema=schema.arrow_schema(), preserve_index=False).schema


_STAGED_ARROW: dict[tuple[object, ...], pa.Schema] = {}


def staging_schema(schema: Schema, key_fingerprint: str = "") -> pa.Schema:
    """The staged Arrow schema with the pandas metadata ``Table.from_pandas`` would write,
    so that ``pd.read_parquet`` of staging gives the schema's pandas dtypes, and the
    fingerprint of the key that made the pseudonyms (``STAGING_FINGERPRINT_META``).

    Built once per schema: converting an empty frame of every staged column costs
    ~28 ms, which every ingest and validate paid.
    """
    arrow = _per_schema(_STAGED_ARROW, schema, _staged_arrow)
    if not key_fingerprint:
        return arrow
    meta = {**arrow.metadata, STAGING_FINGERPRINT_META: key_fingerprint.encode()}
    return arrow.with_metadata(meta)


@dataclass
class Tally:
    """What the chunks of one export add up to."""

    rows_read: int = 0
    staged: int = 0
    invalid: int = 0  # rows that failed a check (batch-rejected ones are not)
    quarantined: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, object]] = field(default_factory=list)
    #: quarantine ids carried by staged rows and by rows quarantined again (a corrected
    #: quarantine export, ``quarantine.resolve``), per chunk
    staged_ids: list[pa.Array] = field(default_factory=list)
    requarantined_ids: list[pa.Array] = field(default_factory=list)

    def reasons(self) -> dict[str, int]:
        return {k: int(self.by_reason[k]) for k in sorted(self.by_reason)}


def _contract_errors(schema: Schema, mapping: Mapping, failures: RowErrors,
                     positions: np.ndarray) -> RowErrors:  # fmt: skip
    """Contract failures (``pos`` into the staged chunk) as error rows of the chunk."""
    source_col = {name: rule.column or name for name, rule in mapping.fields.items()}
    return row_errors(
        positions[failures["pos"].to_numpy(dtype=np.int64)],
        column=failures["field"].map(lambda f: source_col.get(f, f)).to_numpy(),
        field=failures["field"].to_numpy(),
        reason=failures["reason"].to_numpy(),
        value=failures["value"].to_numpy(),
        expected=failures["field"].map(lambda f: expected_text(schema[f])).to_numpy(),
    )


#: a cell ``quarantine export`` prefixed with ``'`` so that a spreadsheet does not run it
_NEUTRALIZED = r"^'([=+\-@\t\r])"


def unneutralize(table: pa.Table) -> pa.Table:
    """Undo ``quarantine.export.neutralize`` on a corrected export: ``'=x`` is ``=x`` again.

    Only for a file that carries ctdc's quarantine ids: in another export a
    leading ``'`` is the organization's own.
    """
    columns = [pc.replace_substring_regex(col, _NEUTRALIZED, r"\1") for col in table.columns]
    return pa.Table.from_arrays(columns, names=table.column_names)


def _row_errors(read: RowErrors, mapped: RowErrors) -> RowErrors:
    """Read errors win: a row the reader flagged keeps only those (mapping it is noise)."""
    if read.empty:
        return mapped
    return joined([read, mapped[~mapped["pos"].isin(read["pos"])]])


def _examples(path: Path, chunk: Chunk, errors: RowErrors, room: int,
              mapping: Mapping) -> list[dict[str, object]]:  # fmt: skip
    """The first offending rows for the summary; values only as ``ingest.redact`` allows."""
    codes = code_columns(mapping)
    shown_rows = errors[errors["reason"] != "batch-rejected"].sort_values("pos", kind="stable")
    shown_rows = shown_rows.drop_duplicates("pos").head(room)
    return [
        {
            "file": path.name,
            "row": int(chunk.rows[e.pos]),
            "column": e.column or None,
            "reason": e.reason,
            **example_value(codes, e.column or None, e.reason, e.value),
            "expected": e.expected,
            "fix": CATALOGUE[e.reason].fix if e.reason in CATALOGUE else "",
        }
        for e in shown_rows.itertuples(index=False)
    ]


class Sinks:
    """The batch's quarantine and staging files, written as the chunks come, published at the end.

    The order of :meth:`publish_quarantine`, :meth:`publish_staging` and the
    ledger entry is the ingest's crash-safety argument (``ingest.pipeline``).
    """

    def __init__(self, ws: Workspace, schema: Schema, org: str, batch_id: str,
                 key_fingerprint: str = "") -> None:  # fmt: skip
        name = f"{batch_id}.parquet"
        self.quarantine = ParquetSink(ws.quarantine_dir(org) / name, QUARANTINE_SCHEMA,
                                      prepare=ws.private_dir)  # fmt: skip
        self.staging = ParquetSink(ws.staging_dir(org) / name,
                                   staging_schema(schema, key_fingerprint),
                                   prepare=ws.private_dir)  # fmt: skip

    def discard(self) -> None:
        self.quarantine.discard()
        self.staging.discard()

    def publish_quarantine(self) -> None:
        """Move the quarantine into place, or remove an old one if this batch has none.

        If that fails, the staging's temp file goes too: nothing is left behind.
        """
        try:
            if self.quarantine.rows:
                self.quarantine.publish()
            else:
                self.quarantine.discard()
                self.quarantine.target.unlink(missing_ok=True)
        except BaseException:
            self.discard()
            raise

    def publish_staging(self) -> None:
        self.staging.publish()  # cleans up its own temp file if it fails


@dataclass
class Batch:
    """Everything one pass over an export needs besides the chunks."""

    schema: Schema
    mapping: Mapping
    path: Path
    source: SourceSpec
    key: bytes
    batch_id: str
    sinks: Sinks | None = None  # None: a dry run
    reject_all: bool = False  # the file is rejected: its valid rows go to the quarantine too
    #: how many offending rows the summary keeps (``validate`` prints more than ``ingest``)
    max_examples: int = MAX_EXAMPLES


_CONTRACTS: dict[tuple[object, ...], DataFrameSchema] = {}


def _contract(schema: Schema) -> DataFrameSchema:
    """The contract over the staged fields, built once per schema (~5 ms each): every pass
    of every ingest and validate checks its chunks against it, and only reads it."""
    return _per_schema(_CONTRACTS, schema, lambda s: build_contract(s, s.staged))


class _Pass:
    def __init__(self, batch: Batch) -> None:
        self.b = batch
        self.contract = _contract(batch.schema)
        self.seen = SeenIds()
        self.tally = Tally()

    def _duplicates(
        self, chunk: Chunk, mapped: Mapped
    ) -> tuple[RowErrors, list[bytes], np.ndarray]:
        """Duplicate-case-id errors, and the MAC of every present case id (by row)."""
        ids = mapped.case_id
        assert ids is not None
        present = np.flatnonzero(~ids.row_missing())
        texts = ids.values[ids.index[present]]
        digests = pseudonym_digests(self.b.key, self.b.mapping.org, texts)
        first = self.seen.first_rows(pseudonym_keys(digests), chunk.rows[present])
        dup = first > 0
        errors = row_errors(
            present[dup],
            column=self.b.mapping.case_id,
            field="case_id",
            reason="duplicate-case-id",
            value=texts[dup],
            expected=[ONCE.format(r) for r in first[dup]],
        )
        at = np.full(chunk.num_rows, -1, dtype=np.int64)
        at[present] = np.arange(len(present))
        return errors, digests, at

    def _check_columns(self, names: list[str]) -> None:
        """The mapping's columns are in the header; if not, the error says how it was read.

        ``missing-column`` from a wrong sheet or delimiter used to name the
        columns alone, which are right in the export: ``formats.hints`` adds the
        sheet read and the sheets present, or the delimiter inside a header read
        as one column, and the ``source:`` setting to change.
        """
        b = self.b
        check_columns(names, b.mapping,
                      explain=lambda missing: header_hint(b.path, b.source.options(), names,
                                                          missing))  # fmt: skip

    def chunk(self, chunk: Chunk) -> None:
        b, schema, n = self.b, self.b.schema, chunk.num_rows
        if not self.tally.rows_read:  # the first chunk: every chunk has the same columns
            self._check_columns(chunk.table.column_names)
        ids = None
        if QUARANTINE_ID in chunk.table.column_names:  # a corrected quarantine export
            chunk = replace(chunk, table=unneutralize(chunk.table))
            ids = chunk.table.column(QUARANTINE_ID)
        mapped = apply_mapping(chunk.table, b.mapping, schema)
        dups, digests, digest_at = self._duplicates(chunk, mapped)
        found = mapped.error_frame()
        if len(dups):
            found = joined([found, dups])
        errors = _row_errors(chunk.errors, found)
        good = np.ones(n, dtype=bool)
        good[errors["pos"].to_numpy(dtype=np.int64)] = False
        keep = np.flatnonzero(good)
        staged = self._staged(mapped, keep, digests, digest_at)
        failures = table_failures(self.contract, staged)
        if len(failures):
            errors = joined([errors, _contract_errors(schema, b.mapping, failures, keep)])
            ok = np.ones(len(keep), dtype=bool)
            ok[failures["pos"].to_numpy(dtype=np.int64)] = False
            staged, keep = staged.filter(pa.array(ok)), keep[ok]
        invalid = int(errors["pos"].nunique())
        if b.reject_all and len(keep):
            errors = joined([errors, row_errors(keep, reason="batch-rejected")])
            staged, keep = staged.slice(0, 0), keep[:0]
        t = self.tally
        if ids is not None:
            t.staged_ids.append(ids.take(pa.array(keep, pa.int64())).combine_chunks())
            bad = np.unique(errors["pos"].to_numpy(dtype=np.int64))
            t.requarantined_ids.append(ids.take(pa.array(bad, pa.int64())).combine_chunks())
        t.rows_read += n
        t.invalid += invalid
        t.staged += staged.num_rows
        if len(errors):
            rows = errors.drop_duplicates(["pos", "reason"])["reason"].value_counts()
            t.by_reason.update({str(k): int(v) for k, v in rows.items()})
            t.quarantined += int(errors["pos"].nunique())
            if len(t.examples) < b.max_examples:
                t.examples += _examples(b.path, chunk, errors, b.max_examples - len(t.examples),
                                        b.mapping)  # fmt: skip
            if b.sinks is not None:
                b.sinks.quarantine.write(self._quarantine(chunk, errors))
        if b.sinks is not None and not b.reject_all:
            b.sinks.staging.write(staged)

    def _staged(self, mapped: Mapped, keep: np.ndarray, digests: list[bytes],
                digest_at: np.ndarray) -> pa.Table:  # fmt: skip
        b = self.b
        take = pa.array(keep)
        count = len(keep)
        internal = {
            "org_id": pa.repeat(pa.scalar(b.mapping.org, pa.string()), count),
            "case_pseudonym": pa.array([digests[i].hex() for i in digest_at[keep]], pa.string()),
            "batch_id": pa.repeat(pa.scalar(b.batch_id, pa.string()), count),
        }
        columns = [internal[name] if name in internal else mapped.columns[name].take(take)
                   for name in b.schema.staged]  # fmt: skip
        return pa.Table.from_arrays(columns, names=list(b.schema.staged))

    def _quarantine(self, chunk: Chunk, errors: RowErrors) -> pa.Table:
        """The chunk's error rows with the raw rows they point at (only those are converted)."""
        pos = errors["pos"].to_numpy(dtype=np.int64)
        rows = np.unique(pos)
        raw = chunk.table.take(pa.array(rows))
        local = errors.assign(pos=np.searchsorted(rows, pos))
        return quarantine_table(raw, chunk.rows[rows], self.b.path, local, self.b.batch_id)


def run_pass(batch: Batch, update: Callable[[int, int], None] | None = None) -> Tally:
    """Read, map, validate and write the whole export once; the sinks are left unpublished."""
    one = _Pass(batch)
    for chunk in iter_export(batch.path, batch.source.options()):
        one.chunk(chunk)
        if update is not None:
            update(chunk.done, one.tally.rows_read)
    return one.tally


def reject(batch: Batch, first: Tally) -> Tally:
    """A rejected export: nothing is staged, every row is quarantined.

    For a dry run the counts say so; otherwise the export is read again and
    the quarantine rewritten with the valid rows as ``batch-rejected``, in
    file order, one chunk at a time like the first pass.
    """
    rows_read, invalid = first.rows_read, first.invalid
    if batch.sinks is None:
        tally = replace(first, staged=0, quarantined=rows_read, by_reason=Counter(first.by_reason))
        if rows_read > invalid:
            tally.by_reason["batch-rejected"] += rows_read - invalid
        return tally
    batch.sinks.discard()
    tally = run_pass(replace(batch, reject_all=True))
    if (tally.rows_read, tally.invalid) != (rows_read, invalid):  # the same file, read again
        raise RuntimeError(f"{batch.path.name} changed while it was being ingested")
    tally.examples = first.examples
    return tally
