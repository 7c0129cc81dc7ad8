"""``ctdc releases diff A B``: what changed between two releases, in counts only.

An operator asks "what did last night change?" without being shown a person.
The answer is made of counts and settings: records in each, rows added, removed
and changed, k, l, the epoch, the policy settings that differ, the schema
fingerprint, the loss (LM) and the cells suppressed. No row, no value of a row,
no pseudonym is returned, so the result may go to a terminal or a ticket.

Rows are compared two ways. As *rows* (what anyone holding both public files
sees): DuckDB's ``EXCEPT ALL`` over the two ``cases.parquet``, counted. As
*records* (the steward's view): the two private publication ledgers joined on
the pseudonym inside DuckDB, counting records added, removed and changed form;
the join's keys never leave the query. Releases without a ledger (older ones)
get the row counts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ctdc.harmonize.publish import Release
from ctdc.releases.registry import load_release
from ctdc.scratch import scratch_connection
from ctdc.store.publication import ledger_path
from ctdc.store.release import CASES_FILE
from ctdc.store.workspace import Workspace


@dataclass(frozen=True)
class ReleaseDiff:
    """Two releases side by side; ``records_*`` are None when a ledger is missing."""

    a: str
    b: str
    records: tuple[int, int]
    rows_added: int
    rows_removed: int
    records_added: int | None
    records_removed: int | None
    records_changed: int | None
    k: tuple[int, int]
    l: tuple[int | None, int | None]  # noqa: E741
    epoch: tuple[int | None, int | None]
    schema_sha256: tuple[str, str]
    loss_metric: tuple[float, float]
    cells_suppressed: tuple[int, int]
    #: quasi-identifier -> (cells suppressed in A, in B), where they differ
    cells_by_qi: dict[str, tuple[int, int]]
    #: policy setting -> (A, B), where they differ (one-run overrides included)
    policy: dict[str, tuple[Any, Any]]

    def to_dict(self) -> dict[str, Any]:
        pair = ("k", "l", "epoch", "schema_sha256", "loss_metric", "cells_suppressed", "records")
        doc: dict[str, Any] = {"a": self.a, "b": self.b}
        doc |= {name: {"a": getattr(self, name)[0], "b": getattr(self, name)[1]} for name in pair}
        doc |= {"rows_added": self.rows_added, "rows_removed": self.rows_removed,
                "records_added": self.records_added, "records_removed": self.records_removed,
                "records_changed": self.records_changed,
                "cells_by_qi": {q: {"a": x, "b": y} for q, (x, y) in self.cells_by_qi.items()},
                "policy": {n: {"a": x, "b": y} for n, (x, y) in self.policy.items()}}  # fmt: skip
        return doc


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _row_counts(a: Path, b: Path) -> tuple[int, int]:
    """(rows of B not in A, rows of A not in B), as multisets of whole rows."""
    con = scratch_connection()
    try:
        sql = "SELECT count(*) FROM (SELECT * FROM read_parquet({}) EXCEPT ALL " \
              "SELECT * FROM read_parquet({}))"  # fmt: skip
        added = con.execute(sql.format(_literal(b), _literal(a))).fetchone()
        removed = con.execute(sql.format(_literal(a), _literal(b))).fetchone()
    finally:
        con.close()
    return int(added[0] if added else 0), int(removed[0] if removed else 0)


def _record_counts(ws: Workspace, a: str, b: str,
                   released: list[str]) -> tuple[int, int, int] | None:  # fmt: skip
    """(added, removed, changed form) by pseudonym, from the two ledgers; None without both."""
    la, lb = ledger_path(ws.root, a), ledger_path(ws.root, b)
    if not (la.is_file() and lb.is_file()):
        return None
    con = scratch_connection()
    try:
        names = {str(d[0]) for d in con.execute(
            f"SELECT * FROM read_parquet({_literal(la)}) LIMIT 0").description or []}  # fmt: skip
        common = [c for c in released if c in names]
        row = " , ".join(f'"{c}"' for c in common) or "NULL"
        pub = "SELECT case_pseudonym AS p, ({row}) AS r FROM read_parquet({path}) " \
              "WHERE state = 'published'"  # fmt: skip
        sql = (f"WITH a AS ({pub.format(row=row, path=_literal(la))}), "
               f"b AS ({pub.format(row=row, path=_literal(lb))}) "
               "SELECT count(*) FILTER (WHERE a.p IS NULL), count(*) FILTER (WHERE b.p IS NULL), "
               "count(*) FILTER (WHERE a.p IS NOT NULL AND b.p IS NOT NULL "
               "AND a.r IS DISTINCT FROM b.r) FROM a FULL OUTER JOIN b ON a.p = b.p")  # fmt: skip
        found = con.execute(sql).fetchone()
    except duckdb.Error:
        return None  # ledgers of two shapes (another epoch's levels): rows only
    finally:
        con.close()
    assert found is not None
    return int(found[0]), int(found[1]), int(found[2])


def _flat_policy(release: Release) -> dict[str, Any]:
    doc = release.manifest.policy.to_dict()
    levels = doc.pop("levels", {}) or {}
    overrides = doc.pop("overrides", {}) or {}
    flat = {**doc, **{f"levels.{n}": v for n, v in levels.items()}}
    flat |= {f"override.{n}": v for n, v in overrides.items()}
    return flat


def diff_releases(ws: Workspace, a_id: str, b_id: str) -> ReleaseDiff:
    """Compare release ``a_id`` (before) with ``b_id`` (after); ``unknown-release`` for either."""
    a, b = load_release(ws, a_id), load_release(ws, b_id)
    ma, mb = a.manifest, b.manifest
    added, removed = _row_counts(a.path / CASES_FILE, b.path / CASES_FILE)
    released = list(dict.fromkeys([*ma.quasi_identifiers, *mb.quasi_identifiers]))
    by_record = _record_counts(ws, a_id, b_id, _ledger_columns(ws, a_id, released))
    pa_, pb = _flat_policy(a), _flat_policy(b)
    policy = {n: (pa_.get(n), pb.get(n)) for n in sorted(pa_.keys() | pb.keys())
              if pa_.get(n) != pb.get(n)}  # fmt: skip
    ca, cb = ma.anonymization.cells_suppressed, mb.anonymization.cells_suppressed
    by_qi = {q: (int(ca.get(q, 0)), int(cb.get(q, 0))) for q in sorted(ca.keys() | cb.keys())
             if ca.get(q, 0) != cb.get(q, 0)}  # fmt: skip

    def epoch(release: Release) -> int | None:
        value = (release.manifest.series or {}).get("epoch")
        return None if value is None else int(value)

    return ReleaseDiff(
        a=a_id, b=b_id,
        records=(ma.files.cases_rows, mb.files.cases_rows),
        rows_added=added, rows_removed=removed,
        records_added=None if by_record is None else by_record[0],
        records_removed=None if by_record is None else by_record[1],
        records_changed=None if by_record is None else by_record[2],
        k=(ma.k, mb.k), l=(ma.l, mb.l), epoch=(epoch(a), epoch(b)),
        schema_sha256=(ma.schema.sha256, mb.schema.sha256),
        loss_metric=(float(ma.anonymization.loss_metric), float(mb.anonymization.loss_metric)),
        cells_suppressed=(int(ma.anonymization.cells_suppressed_total),
                          int(mb.anonymization.cells_suppressed_total)),
        cells_by_qi=by_qi, policy=policy,
    )  # fmt: skip


def _ledger_columns(ws: Workspace, release_id: str, qis: list[str]) -> list[str]:
    """The released columns a ledger row is compared on: every column but the ledger's own
    bookkeeping (organization, pseudonym, content hash, state, dates)."""
    path = ledger_path(ws.root, release_id)
    if not path.is_file():
        return qis
    import pyarrow.parquet as pq

    skip = {"org_id", "case_pseudonym", "content", "state", "first_seen", "published_on"}
    return [n for n in pq.read_schema(path).names if n not in skip]
