"""``ingest_file``: one export -> staging Parquet + quarantine + ledger entry.

Nothing is lost: every row read ends up staged or quarantined, and the
function checks ``rows_read == staged + quarantined`` before it writes. Rows
the *reader* flagged (wrong field count, broken NDJSON line, control
characters, overlong values) go to the quarantine with that reason alone,
since mapping a misaligned row would only add noise. When the share of bad
rows passes ``max_reject_rate`` the file is rejected: nothing is staged and
*every* row goes to the quarantine, the valid ones as ``batch-rejected``, so
the accounting still balances and the data officer sees the whole file.

Order of writes is the crash-safety argument: quarantine, then staging, then
the ledger entry, each atomic. Until the ledger entry exists the batch does
not exist for harmonize or for the "already ingested" check, so an
interrupted ingest leaves at worst an orphan file that the next run of the
same export overwrites.

An ingest holds its organization's writer locks (``store.writers``) from the
"already ingested" check to the ledger entry, and first removes the temp
files a killed ingest of the organization left behind: a quarantine temp
holds raw rows. It also checks the key against the staged data
(``Workspace.check_key``) and records the key's fingerprint in the staging
file and the ledger entry.

The export is streamed (``ingest.stream``): read, mapped, validated and
written chunk by chunk into temp files beside the quarantine and staging
files, which only the end of a successful run moves into place. Whether a
file is rejected is known only at its end; a rejected file is then read a
second time to put its valid rows in the quarantine (``batch-rejected``), so
that memory stays bounded on that path too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import numpy as np

from ctdc import __version__
from ctdc.errors import CtdcError
from ctdc.formats.read import check_export_file
from ctdc.ingest.stream import MAX_EXAMPLES, Batch, Sinks, Tally, reject, run_pass
from ctdc.limits import PROGRESS_BYTES
from ctdc.mapping.helpers import QUARANTINE_ID
from ctdc.mapping.source import guess_source
from ctdc.mapping.spec import Mapping
from ctdc.progress import bar_of
from ctdc.quarantine.resolve import carried_ids, known_ids, record_resolutions
from ctdc.quarantine.store import read_quarantine
from ctdc.schema import Schema
from ctdc.slugs import Slug
from ctdc.store.archive import archive_export
from ctdc.store.ledger import MODES, BatchEntry, BatchMode, commit_entry, find_entry
from ctdc.store.workspace import Workspace
from ctdc.store.writers import org_writer

#: how many offending rows ``validate`` prints (``ingest`` shows a few: the rest are in the
#: quarantine, which a dry run does not write)
VALIDATE_ROWS = 1000


class IngestStatus(StrEnum):
    """What became of one file (a StrEnum: it prints and serializes as its value)."""

    INGESTED = "ingested"  # good rows staged, bad rows quarantined, batch in the ledger
    UNCHANGED = "unchanged"  # the same bytes were ingested before: nothing done
    REJECTED = "rejected"  # too many bad rows: nothing staged, every row quarantined
    VALID = "valid"  # a dry run (``ctdc validate``) within the reject rate


@dataclass(frozen=True)
class IngestResult:
    """What a data officer needs to know about one file.

    ``status``: ``ingested``, ``unchanged`` (same bytes already ingested),
    ``rejected`` (too many bad rows: nothing staged) or, for a dry run
    (``ctdc validate``), ``valid``. Always ``rows_read == staged + quarantined``;
    ``invalid`` counts the rows that failed a check (= ``quarantined`` unless
    the file was rejected, which quarantines its valid rows too).
    """

    org: str
    file: str
    batch_id: str
    status: IngestStatus
    rows_read: int
    staged: int
    quarantined: int
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    reject_rate: float = 0.0
    invalid: int = 0
    examples: list[dict[str, object]] = field(default_factory=list)
    dry_run: bool = False
    mode: str = "append"  # ledger mode: "append" or "snapshot" (as recorded when unchanged)
    #: things the data officer should know, e.g. an encoding or delimiter that was guessed
    notes: list[str] = field(default_factory=list)
    #: a corrected quarantine export: quarantined rows its rows closed, by outcome
    #: (``staged``, ``requarantined``; ``quarantine.resolve``), and ids naming no quarantined row
    resolved: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.staged + self.quarantined

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "balanced": self.balanced}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest_file(
    ws: Workspace | None,
    schema: Schema,
    mapping: Mapping,
    path: Path,
    *,
    key: bytes,
    max_reject_rate: float = 1.0,
    progress: Callable[[str], None] | None = None,
    dry_run: bool = False,
    mode: str = "append",
    wait: float | None = None,
    archive: bool = False,
    redo: BatchEntry | None = None,
) -> IngestResult:
    """Ingest one export of ``mapping.org``; a re-ingest of the same bytes is a no-op.

    ``mode`` is recorded in the ledger entry: ``append`` adds this batch to the
    organization's earlier ones, ``snapshot`` makes it replace them in every
    release from its commit on (``ctdc.store.ledger.live_entries``); nothing
    is deleted, so an interrupted snapshot leaves the earlier batches live.

    When the share of bad rows passes ``max_reject_rate`` the batch is *not*
    committed (nothing is staged), but all its rows are quarantined so the data
    officer can see why; the result's status is then ``rejected``.

    ``dry_run`` (``ctdc validate``) does every step but writes nothing and does
    not look at the ledger: ``ws`` may then be None and ``key`` any key, since
    no pseudonym leaves the process. Otherwise the run holds the
    organization's writer locks (waiting up to ``wait`` seconds for another
    writer of it, :data:`~ctdc.store.writers.WRITER_WAIT` when None, else
    ``locked``) and ``key`` must be the workspace's
    (``key-mismatch``).

    ``archive`` keeps a private copy of the export (``store.archive``, the
    policy's ``archive_exports``). ``redo`` is a committed batch to run again
    with the current mapping (``ingest.reprocess``): the file must be its
    export; the batch keeps its mode and place in commit order, and a run
    that would reject it leaves it as it was.
    """
    if mode not in MODES:
        raise CtdcError("bad-option", f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    check_export_file(path)  # a folder or a pipe is refused before the hash reads it
    run = _Run(max_reject_rate, progress, mode, archive, redo)
    if dry_run:
        return _ingest(None, schema, mapping, path, key, "", run)
    assert ws is not None
    with org_writer(ws, mapping.org, wait=wait):
        fingerprint = ws.check_key(key)
        return _ingest(ws, schema, mapping, path, key, fingerprint, run)


def _resolve(ws: Workspace, org: str, batch_id: str, tally: Tally,
             result: IngestResult) -> IngestResult:  # fmt: skip
    """Record which quarantined rows the file's quarantine ids close (``quarantine.resolve``).

    Called for every committed or rejected batch, so that a reprocessed batch
    without ids drops the records an earlier run of it wrote.
    """
    staged_all = carried_ids(tally.staged_ids)
    again_all = np.setdiff1d(carried_ids(tally.requarantined_ids), staged_all)
    q = read_quarantine(ws, org)
    staged, again = known_ids(q, staged_all), known_ids(q, again_all)
    record_resolutions(ws, org, batch_id, staged, again)
    if not len(staged_all) + len(again_all):
        return result
    unknown = len(staged_all) + len(again_all) - len(staged) - len(again)
    counts = {"staged": len(staged), "requarantined": len(again), "unknown": unknown}
    note = (f"{len(staged):,} quarantined rows resolved (their corrected rows staged), "
            f"{len(again):,} quarantined again under a new id")  # fmt: skip
    if unknown:
        note += (f"; {unknown:,} {QUARANTINE_ID} values name no quarantined row of {org} "
                 "(those rows were ingested as any other)")  # fmt: skip
    return replace(result, resolved=counts, notes=[*result.notes, note])


@dataclass(frozen=True)
class _Run:
    """:func:`ingest_file`'s options, as :func:`_ingest` takes them."""

    max_reject_rate: float
    progress: Callable[[str], None] | None
    mode: str
    archive: bool
    redo: BatchEntry | None


def _ingest(ws: Workspace | None, schema: Schema, mapping: Mapping, path: Path, key: bytes,
            fingerprint: str, run: _Run) -> IngestResult:  # fmt: skip
    """:func:`ingest_file`'s work, under its locks unless ``ws`` is None (a dry run)."""
    dry_run = ws is None
    max_reject_rate, progress, redo = run.max_reject_rate, run.progress, run.redo
    mode = redo.mode.value if redo is not None else run.mode
    say = progress or (lambda _msg: None)
    org = mapping.org
    sha = file_sha256(path)
    batch_id = sha[:16]
    if redo is not None and (redo.org, redo.sha256) != (org, sha):
        raise CtdcError(Slug.BAD_OPTION, f"{path.name} is not the export of batch "
                        f"{redo.batch_id} of {redo.org}", file=path)  # fmt: skip
    if ws is not None and redo is None:
        done = find_entry(ws, org, batch_id)
        if done is not None:
            return IngestResult(org, path.name, batch_id, IngestStatus.UNCHANGED, done.rows_read,
                                done.staged, done.quarantined, done.quarantined_by_reason,
                                invalid=done.quarantined, mode=done.mode)  # fmt: skip
    source, guessed = guess_source(path, mapping.source)
    notes = [guessed] if guessed else []
    if guessed:
        say(f"{path.name}: {guessed}")
    sinks = None if ws is None else Sinks(ws, schema, org, batch_id, fingerprint)
    try:
        say(f"reading {path.name}")
        batch = Batch(schema, mapping, path, source, key, batch_id, sinks,
                      max_examples=VALIDATE_ROWS if dry_run else MAX_EXAMPLES)  # fmt: skip
        size = path.stat().st_size
        with bar_of(progress if size >= PROGRESS_BYTES else None, path.name, size) as update:
            tally = run_pass(batch, update)
        rows_read, invalid = tally.rows_read, tally.invalid
        rate = invalid / rows_read
        status = (IngestStatus.REJECTED if rate > max_reject_rate
                  else IngestStatus.VALID if dry_run else IngestStatus.INGESTED)  # fmt: skip
        if status is IngestStatus.REJECTED:
            if sinks is not None:
                say(f"{path.name} is rejected: all {rows_read:,} rows go to the quarantine")
            tally = reject(batch, tally)
    except CtdcError as exc:
        if sinks is not None:
            sinks.discard()
        raise exc.located(path) from None
    except BaseException:
        if sinks is not None:
            sinks.discard()
        raise
    quarantined, by_reason = tally.quarantined, tally.reasons()
    if rows_read != tally.staged + quarantined:  # a bug, never a data problem
        if sinks is not None:
            sinks.discard()
        raise CtdcError(Slug.ACCOUNTING_UNBALANCED,
                        f"{path.name}: {rows_read} rows read, {tally.staged} staged, "
                        f"{quarantined} quarantined; nothing staged")  # fmt: skip
    result = IngestResult(org, path.name, batch_id, status, rows_read, tally.staged, quarantined,
                          by_reason, round(rate, 6), invalid, tally.examples, dry_run, mode,
                          notes)  # fmt: skip
    if ws is None:
        return result
    assert sinks is not None
    if status is IngestStatus.REJECTED and redo is not None:
        sinks.discard()  # a reprocess never takes a committed batch out: it stays as it was
        return replace(result, notes=[*result.notes, f"batch {batch_id} is left as it was"])
    sinks.publish_quarantine()  # or remove one left by an earlier, rejected ingest
    if status is IngestStatus.REJECTED:
        return _resolve(ws, org, batch_id, tally, result)
    say(f"staging {tally.staged:,} rows")
    sinks.publish_staging()
    result = _resolve(ws, org, batch_id, tally, result)  # before the ledger entry: its commit
    if run.archive:
        archive_export(ws, org, batch_id, path)
    now = time.time_ns()
    commit_entry(
        ws,
        BatchEntry(
            org=org,
            batch_id=batch_id,
            sha256=sha,
            source_name=path.name,
            source_format=mapping.source.format,
            ingested_at=redo.ingested_at if redo else _iso(now),
            seq=redo.seq if redo else now,
            rows_read=rows_read,
            staged=tally.staged,
            quarantined=quarantined,
            quarantined_by_reason=by_reason,
            mapping_sha256=mapping.sha256,
            schema_version=schema.version,
            ctdc_version=__version__,
            mode=BatchMode(mode),
            key_fingerprint=fingerprint,
            reprocessed_at=_iso(now) if redo else "",
        ),
    )
    return result


def _iso(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).isoformat()
