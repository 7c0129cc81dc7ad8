"""What the audit reads: the release, the previous release, the private staging, the hierarchies.

The audit runs as the steward. It reads the live staged batches (the same
"latest batch wins" de-duplication as harmonize's merge, written again here
so the audit shares no code with what it audits) to build its attacks, and the
ledger for the private strings that must never reach the public folder. All
of it sits in one DuckDB connection as views and temp tables:

* ``cases`` -- the audited release's ``cases.parquet``, each quasi-identifier's level
  columns combined back into its published value (the finest non-NULL level), so the
  attacks see one column per quasi-identifier; ``previous`` likewise;
* ``staged`` -- one row per distinct staged record, with ``org_id``,
  ``batch_id``, ``case_pseudonym`` and ``_seq`` (the ledger's commit order).

The matching rule (:func:`match_counts`) is the attacker's: a person with
recorded quasi-identifiers matches a released row when, for every
quasi-identifier, the released value is NULL and suppressed (could be anything),
equals the recorded value, or is one of its ancestors in the schema's
hierarchy. A recorded NULL matches only a released NULL. A released NULL whose
status says "not recorded" matches only a recorded NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ctdc.anonymize import Hierarchy
from ctdc.anonymize.verify import quote_identifier as q
from ctdc.schema import Schema, status_column
from ctdc.scratch import scratch_connection
from ctdc.store.ledger import BatchEntry, live_entries, read_entries
from ctdc.store.release import CASES_FILE
from ctdc.store.workspace import Workspace


@dataclass
class Sources:
    """The audit's DuckDB connection and what it knows about the release's columns."""

    con: duckdb.DuckDBPyConnection
    schema: Schema
    k: int
    release: Path
    previous: Path | None
    #: the schema's quasi-identifiers the release has as columns
    qis: list[str]
    #: the release's column names, in file order
    columns: list[str]
    #: the live batches (what the release was built from)
    entries: list[BatchEntry] = field(default_factory=list)
    #: every ledger entry, superseded ones too: their ids and hashes are private as well
    ledger: list[BatchEntry] = field(default_factory=list)
    has_staged: bool = False
    #: what classes are counted over: the quasi-identifiers and the statuses the release has
    #: (a status tells "not recorded" from "suppressed", so it splits classes as a QI does)
    keys: list[str] = field(default_factory=list)
    #: the staged table's columns
    staged_cols: list[str] = field(default_factory=list)


def open_sources(
    ws: Workspace, schema: Schema, release: Path, previous: Path | None, k: int
) -> Sources:
    """Temp tables of both releases and of the live staged records, on a connection of its
    own to the process's scratch database (a new database costs ~35 ms: ``ctdc.scratch``);
    everything made here is temporary to that connection, and its settings are its own."""
    con = scratch_connection()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE TEMP TABLE cases AS {combined_levels(con, release / CASES_FILE, schema)}")
    if previous is not None:
        con.execute(
            f"CREATE TEMP TABLE previous AS {combined_levels(con, previous / CASES_FILE, schema)}"
        )
    columns = [d[0] for d in con.execute("SELECT * FROM cases LIMIT 0").description or []]
    ledger = read_entries(ws)
    entries, _ = live_entries(ledger)
    src = Sources(
        con,
        schema,
        k,
        release,
        previous,
        [n for n in schema.quasi_identifiers if n in columns],
        columns,
        entries,
        ledger,
    )
    src.keys = [*src.qis, *(status_column(n) for n in src.qis if status_column(n) in columns)]
    src.has_staged = _load_staged(ws, con, entries)
    src.staged_cols = [d[0] for d in con.execute("SELECT * FROM staged LIMIT 0").description or []]
    return src


def combined_levels(con: duckdb.DuckDBPyConnection, path: Path, schema: Schema) -> str:
    """A SELECT over the Parquet file at ``path`` with each field's level columns folded
    back into the field: its finest non-NULL level column, as text, is the published value
    (``ctdc.harmonize.levels`` splits it; this is written again here, as the audit shares
    no code with what it audits)."""
    source = f"read_parquet({_lit(path)})"
    have = {d[0] for d in con.execute(f"SELECT * FROM {source} LIMIT 0").description or []}
    replace, drop = [], []
    for f in schema.fields:
        names = [c for c, _ in f.level_columns]
        if f.name in have and names and set(names) <= have:
            parts = ", ".join([f"CAST({q(f.name)} AS VARCHAR)", *(q(c) for c in names)])
            replace.append(f"coalesce({parts}) AS {q(f.name)}")
            drop += names
    if not replace:
        return f"SELECT * FROM {source}"
    return (f"SELECT * EXCLUDE ({', '.join(q(c) for c in drop)}) "
            f"REPLACE ({', '.join(replace)}) FROM {source}")  # fmt: skip


def _lit(path: Path) -> str:
    """A path as a SQL string literal (quotes doubled): DuckDB views take no parameters."""
    return "'" + str(path).replace("'", "''") + "'"


def _load_staged(ws: Workspace, con: duckdb.DuckDBPyConnection, entries: list[BatchEntry]) -> bool:
    """``staged``: the live batches' records, latest batch of a pseudonym winning."""
    files = [ws.staging_dir(e.org) / f"{e.batch_id}.parquet" for e in entries]
    files = [f for f in files if f.is_file()]
    if not files:
        con.execute(
            "CREATE TEMP TABLE staged (org_id VARCHAR, batch_id VARCHAR, "
            "case_pseudonym VARCHAR, _seq BIGINT)"
        )
        return False
    seqs = pd.DataFrame(
        {"batch_id": [e.batch_id for e in entries], "_seq": [e.seq for e in entries]}
    )
    con.register("_batch_seq", seqs)
    con.execute(
        "CREATE TEMP TABLE staged AS SELECT s.*, b._seq "
        "FROM read_parquet(?, union_by_name = true) s JOIN _batch_seq b USING (batch_id) "
        "QUALIFY row_number() OVER (PARTITION BY case_pseudonym ORDER BY b._seq DESC) = 1",
        [[str(f) for f in files]],
    )
    con.unregister("_batch_seq")
    return True


def hierarchy_of(schema: Schema, name: str) -> Hierarchy | None:
    field = schema.by_name.get(name)
    if field is None or field.hierarchy is None:
        return None
    hierarchy = Hierarchy.from_csv(field.hierarchy)
    return hierarchy.clipped(field.min, field.max) if field.type == "integer" else hierarchy


def create_people(src: Sources, name: str, select_sql: str) -> None:
    """Temp table ``name``: distinct recorded QI tuples (as text) of ``select_sql``, weighted.

    ``select_sql`` yields one row per person with the schema's QIs as columns;
    the result has ``pid``, ``w`` (persons with that tuple) and ``v0..vn``.
    """
    cols = ", ".join(f"CAST({q(n)} AS VARCHAR) AS v{i}" for i, n in enumerate(src.qis))
    src.con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT row_number() OVER () AS pid, * FROM "
        f"(SELECT {cols}, count(*) AS w FROM ({select_sql}) GROUP BY ALL)"
    )


def ancestor_join(src: Sources, people: str) -> tuple[str, list[str]]:
    """``people`` joined to each QI's hierarchy: the ancestors a released label may be.

    Returns the FROM clause and, per QI, the SQL alternatives a released value may equal.
    """
    from_sql = people
    alternatives: list[str] = []
    for i, name in enumerate(src.qis):
        hier = hierarchy_of(src.schema, name)
        options = [f"p.v{i}"]
        if hier is not None and hier.height > 2:
            levels = hier.height - 2  # leaf and root excluded: the root is published as NULL
            frame = pd.DataFrame(
                {
                    "leaf": [r[0] for r in hier.rows],
                    **{f"a{j}": [r[j] for r in hier.rows] for j in range(1, levels + 1)},
                }
            )
            table = f"_hier{i}"
            src.con.register(table, frame)
            alias = f"h{i}"
            from_sql += f" LEFT JOIN {table} {alias} ON {alias}.leaf = p.v{i}"
            options += [f"{alias}.a{j}" for j in range(1, levels + 1)]
        alternatives.append(" OR ".join(f"r.v{i} = {o}" for o in options))
    return from_sql, alternatives


def match_counts(src: Sources, people: str, relation: str = "cases") -> pd.DataFrame:
    """Per person tuple of ``people``: its weight ``w`` and the released rows it matches.

    The release is first reduced to its classes (distinct QI tuples with their
    sizes), so the non-equi join is tuples x classes, not records x rows.
    """
    have = {d[0] for d in src.con.execute(f"SELECT * FROM {relation} LIMIT 0").description or []}
    status = [status_column(n) if status_column(n) in have else None for n in src.qis]
    cols = ", ".join(
        [f"CAST({q(n)} AS VARCHAR) AS v{i}" for i, n in enumerate(src.qis)]
        + [f"{q(s)} AS s{i}" if s else f"'suppressed' AS s{i}" for i, s in enumerate(status)]
    )
    src.con.execute(
        f"CREATE OR REPLACE TEMP TABLE _classes AS "
        f"SELECT {cols}, count(*) AS n FROM {relation} GROUP BY ALL"
    )
    from_sql, alternatives = ancestor_join(src, f"{people} p")
    cond = " AND ".join(
        f"((r.v{i} IS NULL AND (r.s{i} IS DISTINCT FROM 'not_recorded' OR p.v{i} IS NULL)) "
        f"OR {alt})"
        for i, alt in enumerate(alternatives)
    )
    return src.con.execute(
        f"SELECT p.pid, any_value(p.w) AS w, coalesce(sum(r.n), 0) AS matched "
        f"FROM {from_sql} LEFT JOIN _classes r ON {cond or 'TRUE'} GROUP BY p.pid"
    ).df()


def below_k(matches: pd.DataFrame, k: int) -> tuple[int, int]:
    """(person tuples, persons) that match 1..k-1 released rows: singled out to fewer than k."""
    risky = matches[(matches["matched"] > 0) & (matches["matched"] < k)]
    return len(risky), int(risky["w"].sum())


def group_by_list(names: Sequence[str]) -> str:
    return ", ".join(q(n) for n in names)
