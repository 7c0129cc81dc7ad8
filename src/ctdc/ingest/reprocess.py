"""``ctdc reprocess``: run an organization's live batches again with its current mapping.

Re-ingesting the same bytes is a no-op (the ledger knows their hash), which
is right for a file sent twice and wrong after a mapping fix: rows the old
mapping quarantined (``Varón`` before it joined the vocabulary) would stay
there. A reprocess reads each live batch's export again (its archived copy,
``store.archive``, or the file given again) with the current mapping and
replaces the batch's staging, quarantine and ledger entry; the batch keeps
its id, mode and place in commit order, so snapshots and "latest batch wins"
are as before, and the ledger records the new mapping's hash and
``reprocessed_at``.

Why a command of its own rather than ``ingest --reprocess``: it works on the
organization's batches, not on files. It needs no file when the exports are
archived, runs every batch (in commit order), and checks that it has every
export before it changes any: a reprocess that stops for a missing file
halfway would leave batches under two mappings.

A batch the current mapping would reject (too many bad rows) is left as it
was, and said so. :func:`stale_batches` and :func:`mapping_changed` tell
whether a reprocess is due (for ``ctdc status``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ctdc.errors import CtdcError
from ctdc.ingest.pipeline import IngestResult, file_sha256, ingest_file
from ctdc.mapping.spec import Mapping
from ctdc.schema import Schema
from ctdc.slugs import Slug
from ctdc.store.archive import find_archived, touch_like
from ctdc.store.ledger import BatchEntry, live_entries, read_entries
from ctdc.store.workspace import Workspace


def live_batches(ws: Workspace, org: str) -> list[BatchEntry]:
    """The batches of ``org`` a release uses now, in commit order (superseded ones are out)."""
    live, _ = live_entries(e for e in read_entries(ws) if e.org == org)
    return live


def stale_batches(ws: Workspace, mapping: Mapping) -> list[BatchEntry]:
    """Live batches of ``mapping.org`` staged with another version of its mapping.

    Compares the SHA-256 of the mapping file recorded in each ledger entry
    with the current file's; any edit counts, a comment too (the hash is of
    the bytes): reprocessing under an equivalent mapping changes nothing.
    """
    return [e for e in live_batches(ws, mapping.org) if e.mapping_sha256 != mapping.sha256]


def mapping_changed(ws: Workspace, mapping: Mapping) -> bool:
    """True when a live batch of the organization was staged with another mapping version."""
    return bool(stale_batches(ws, mapping))


def stale_by_org(ws: Workspace, pipelines_dir: Path, schema: Schema) -> dict[str, int]:
    """Organization -> its live batches staged under an earlier version of its mapping, for
    every organization of the ledger whose mapping can be read (``ctdc status``)."""
    from ctdc.mapping.locate import find_mapping

    out = {}
    for org in sorted({e.org for e in read_entries(ws)}):
        try:
            out[org] = len(stale_batches(ws, find_mapping(pipelines_dir, org, schema)))
        except CtdcError:  # no mapping any more, or a broken one: `ctdc validate` says why
            continue
    return out


def _exports(ws: Workspace, org: str, batches: Sequence[BatchEntry],
             files: Sequence[Path]) -> dict[str, tuple[Path, bool]]:  # fmt: skip
    """batch id -> (its export, archived?): a file given again wins over the archive.

    Refuses a given file that is no live batch of the organization
    (``bad-option``) and, before anything is written, batches with neither
    (``export-not-archived``).
    """
    wanted = {e.sha256: e for e in batches}
    found: dict[str, tuple[Path, bool]] = {}
    for path in files:
        sha = file_sha256(path)
        if sha not in wanted:
            raise CtdcError(Slug.BAD_OPTION, f"{path.name} is not the export of a live batch "
                            f"of {org}", file=path, fix=f"ingest it: ctdc ingest --org {org} "
                            f"{path.name}")  # fmt: skip
        found[wanted[sha].batch_id] = (path, False)
    for e in batches:
        if e.batch_id not in found:
            archived = find_archived(ws, org, e.batch_id)
            if archived is not None:
                found[e.batch_id] = (archived, True)
    missing = [e for e in batches if e.batch_id not in found]
    if missing:
        listed = "; ".join(f"batch {e.batch_id} ({e.source_name}, ingested {e.ingested_at[:10]})"
                           for e in missing)  # fmt: skip
        names = " ".join(e.source_name for e in missing)
        raise CtdcError(Slug.EXPORT_NOT_ARCHIVED,
                        f"{len(missing)} of {len(batches)} batches of {org} have no archived "
                        f"export: {listed}; nothing was reprocessed",
                        fix=f"pass those files again: ctdc reprocess --org {org} {names}"
                        )  # fmt: skip
    return found


def reprocess(ws: Workspace, schema: Schema, mapping: Mapping, *, key: bytes,
              files: Sequence[Path] = (), only_stale: bool = False,
              max_reject_rate: float = 1.0, archive: bool = False,
              progress: Callable[[str], None] | None = None) -> list[IngestResult]:  # fmt: skip
    """Run the live batches of ``mapping.org`` again with ``mapping``, oldest first.

    ``files`` are exports given again (matched to batches by content hash);
    the others come from the archive. ``only_stale`` limits the run to
    :func:`stale_batches`. ``archive`` keeps a copy of a file given again.
    Returns one result per batch (``ingested``, or ``rejected`` for a batch
    left as it was).
    """
    org = mapping.org
    batches = stale_batches(ws, mapping) if only_stale else live_batches(ws, org)
    exports = _exports(ws, org, batches, files)
    results = []
    for entry in batches:
        path, archived = exports[entry.batch_id]
        result = ingest_file(ws, schema, mapping, path, key=key, max_reject_rate=max_reject_rate,
                             progress=progress, archive=archive and not archived,
                             redo=entry)  # fmt: skip
        quarantine = ws.quarantine_dir(org) / f"{entry.batch_id}.parquet"
        if archived and quarantine.is_file():
            touch_like(quarantine, path)  # reprocessing never extends the retention of raw rows
        results.append(result)
    return results
