"""The independent k-anonymity check that gates every release.

Deliberately shares no code with the engine (:mod:`ctdc.anonymize.recode`):
it is one plain DuckDB ``SELECT count(*) ... GROUP BY <all QIs>``. ``GROUP BY``
puts all NULLs of a column into one group, which is exactly the strict
semantics (a missing or suppressed value is a value of its own, not a
wildcard). If the engine had a bug, this check -- run on the very Parquet file
about to be published -- would catch it, and nothing would be published.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ctdc.scratch import scratch_connection

_view_ids = itertools.count()


@dataclass(frozen=True)
class KCheck:
    """Outcome of a k-anonymity check.

    ``violating_classes`` is the number of QI combinations with fewer than ``k``
    records, ``violating_records`` the records in them. An empty source passes
    with ``classes == 0`` and ``min_class_size == 0``.
    """

    k: int
    passed: bool
    classes: int
    min_class_size: int
    violating_classes: int
    violating_records: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (plain ``int``/``bool``)."""
        return asdict(self)


def quote_identifier(name: str) -> str:
    """A SQL identifier in double quotes, embedded quotes doubled: safe for any column name."""
    return '"' + str(name).replace('"', '""') + '"'


def check_k_anonymity(
    source: str | Path | pd.DataFrame,
    quasi_identifiers: Sequence[str],
    k: int,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> KCheck:
    """Count the records of every QI combination with DuckDB and check each has >= ``k``.

    ``source`` is a Parquet file, a folder of (hive-partitioned) Parquet files,
    a glob, or a DataFrame. Paths are passed to ``read_parquet`` as a query
    parameter, never formatted into the SQL. A DataFrame is handed to DuckDB as
    an Arrow table, so pandas nullable dtypes (``pd.NA``) arrive as SQL NULLs.

    ``con`` lets a caller reuse its connection (e.g. the catalog's); without it
    a private connection to the process's scratch database is opened and closed.

    Raises ``ValueError`` for ``k < 2``, an empty QI list, or a QI the source lacks.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    k = int(k)
    if isinstance(quasi_identifiers, str):
        raise ValueError("quasi_identifiers must be a sequence of column names, not a string")
    qis = list(quasi_identifiers)
    if not qis:
        raise ValueError("quasi_identifiers is empty: k-anonymity needs at least one column")

    own = con is None
    connection = scratch_connection() if con is None else con
    view: str | None = None
    try:
        if isinstance(source, pd.DataFrame):
            _require_columns(list(map(str, source.columns)), qis, "the frame")
            view = f"__ctdc_kcheck_{next(_view_ids)}"
            table = pa.Table.from_pandas(source[qis], preserve_index=False)
            connection.register(view, table)
            relation = quote_identifier(view)
            params: list[Any] = []
        else:
            relation, params = _parquet_relation(source)
            probe = connection.execute(f"SELECT * FROM {relation} LIMIT 0", params)
            columns = [d[0] for d in probe.description or []]
            probe.fetchall()  # drain it: DuckDB refuses new work while a result is open
            _require_columns(columns, qis, str(source))

        group_by = ", ".join(quote_identifier(q) for q in qis)
        rows = connection.execute(
            f"""
            WITH classes AS (
                SELECT count(*) AS n FROM {relation} GROUP BY {group_by}
            )
            SELECT
                count(*),
                coalesce(min(n), 0),
                count(*) FILTER (WHERE n < ?),
                coalesce(sum(n) FILTER (WHERE n < ?), 0)
            FROM classes
            """,
            [*params, k, k],
        ).fetchall()
    finally:
        if view is not None:
            connection.unregister(view)
        if own:
            connection.close()

    # fetchall, not fetchone: it drains the result, so the connection is free again.
    classes, min_size, bad_classes, bad_records = (int(v) for v in rows[0])
    return KCheck(
        k=k,
        passed=bad_classes == 0,
        classes=classes,
        min_class_size=min_size,
        violating_classes=bad_classes,
        violating_records=bad_records,
    )


def check_l_diversity(
    source: str | Path,
    quasi_identifiers: Sequence[str],
    sensitive: Sequence[str],
    l: int,  # noqa: E741 -- the letter of l-diversity
) -> dict[str, int]:
    """Classes (QI combinations) with fewer than ``l`` distinct known values, per sensitive column.

    Same independence as :func:`check_k_anonymity`: one DuckDB ``GROUP BY`` over
    the Parquet file; ``count(DISTINCT s)`` ignores NULLs, so a missing value
    never counts towards diversity. All zeros means the release is l-diverse.
    """
    relation, params = _parquet_relation(source)
    group_by = ", ".join(quote_identifier(q) for q in quasi_identifiers)
    out: dict[str, int] = {}
    with scratch_connection() as con:
        for s in sensitive:
            (bad,) = con.execute(
                f"SELECT count(*) FILTER (WHERE d < ?) FROM (SELECT count(DISTINCT "
                f"{quote_identifier(s)}) AS d FROM {relation} GROUP BY {group_by})",
                [l, *params],
            ).fetchall()[0]
            out[str(s)] = int(bad)
    return out


@dataclass(frozen=True)
class ProtectedCheck:
    """Outcome of the protected-flag check: per flag column, the classes (QI combinations)
    whose every record is TRUE there, and the records in them. All zeros: ``passed``."""

    passed: bool
    classes: int
    violating_classes: dict[str, int]
    violating_records: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        return asdict(self)


def check_protected(
    source: str | Path | pd.DataFrame,
    quasi_identifiers: Sequence[str],
    protected: Sequence[str],
) -> ProtectedCheck:
    """Check that no class is TRUE in every record on a protected flag, with DuckDB.

    Same independence as :func:`check_k_anonymity`: one ``GROUP BY`` over the QIs
    (NULL a group of its own) of the Parquet file or frame, counting per class the
    records whose flag ``IS DISTINCT FROM TRUE`` (FALSE or NULL). A class where that
    count is 0 tells anyone who knows a member's QIs that her flag is TRUE.
    """
    if isinstance(quasi_identifiers, str) or isinstance(protected, str):
        raise ValueError("quasi_identifiers and protected must be sequences of column names")
    qis, flags = list(quasi_identifiers), list(dict.fromkeys(protected))
    if not qis:
        raise ValueError("quasi_identifiers is empty")
    view: str | None = None
    params: list[Any] = []
    with scratch_connection() as con:
        try:
            if isinstance(source, pd.DataFrame):
                _require_columns(list(map(str, source.columns)), qis + flags, "the frame")
                view = f"__ctdc_pcheck_{next(_view_ids)}"
                con.register(view, pa.Table.from_pandas(source[qis + flags], preserve_index=False))
                relation = quote_identifier(view)
            else:
                relation, params = _parquet_relation(source)
            group_by = ", ".join(quote_identifier(q) for q in qis)
            counts = ", ".join(
                f"count(*) FILTER (WHERE {quote_identifier(f)} IS DISTINCT FROM TRUE) AS c{i}"
                for i, f in enumerate(flags)
            )
            per_flag = ", ".join(
                f"count(*) FILTER (WHERE c{i} = 0), coalesce(sum(n) FILTER (WHERE c{i} = 0), 0)"
                for i in range(len(flags))
            )
            select = f"count(*){', ' + per_flag if flags else ''}"
            inner = f"count(*) AS n{', ' + counts if flags else ''}"
            row = con.execute(
                f"SELECT {select} FROM (SELECT {inner} FROM {relation} GROUP BY {group_by})",
                params,
            ).fetchall()[0]
        finally:
            if view is not None:
                con.unregister(view)
    bad = {str(f): int(row[1 + 2 * i]) for i, f in enumerate(flags)}
    records = {str(f): int(row[2 + 2 * i]) for i, f in enumerate(flags)}
    return ProtectedCheck(
        passed=not any(bad.values()),
        classes=int(row[0]),
        violating_classes=bad,
        violating_records=records,
    )


def check_protected_qi(
    source: str | Path | pd.DataFrame,
    quasi_identifiers: Sequence[str],
    flags: Sequence[str],
) -> ProtectedCheck:
    """Check protected flags that are quasi-identifiers, over the demographics, with DuckDB.

    Per flag ``f`` (one of ``quasi_identifiers``): one ``GROUP BY`` over the QIs that are
    not among ``flags`` (NULL a group of its own), counting the rows whose ``f`` ``IS
    DISTINCT FROM TRUE``; a group where that count is 0 tells anyone who knows a
    member's demographics that her flag is TRUE. ``violating_classes`` counts such groups per flag,
    ``violating_records`` their rows; ``classes`` is the release's classes (all QIs).
    Independent of the engine, like :func:`check_k_anonymity`.
    """
    if isinstance(quasi_identifiers, str) or isinstance(flags, str):
        raise ValueError("quasi_identifiers and flags must be sequences of column names")
    qis, wanted = list(quasi_identifiers), list(dict.fromkeys(flags))
    outside = [f for f in wanted if f not in qis]
    if outside:
        raise ValueError(f"not quasi-identifiers (use check_protected): {outside}")
    view: str | None = None
    params: list[Any] = []
    bad: dict[str, int] = {}
    records: dict[str, int] = {}
    with scratch_connection() as con:
        try:
            if isinstance(source, pd.DataFrame):
                _require_columns(list(map(str, source.columns)), qis, "the frame")
                view = f"__ctdc_qcheck_{next(_view_ids)}"
                con.register(view, pa.Table.from_pandas(source[qis], preserve_index=False))
                relation = quote_identifier(view)
            else:
                relation, params = _parquet_relation(source)
            (classes,) = con.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {relation} GROUP BY "
                f"{', '.join(quote_identifier(q) for q in qis)})",
                params,
            ).fetchall()[0]
            for f in wanted:
                others = [q for q in qis if q not in wanted]
                group = f" GROUP BY {', '.join(quote_identifier(q) for q in others)}"
                g, n = con.execute(
                    f"SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n, "
                    f"count(*) FILTER (WHERE {quote_identifier(f)} IS DISTINCT FROM TRUE) AS c "
                    f"FROM {relation}{group if others else ''}) WHERE c = 0",
                    params,
                ).fetchall()[0]
                bad[str(f)], records[str(f)] = int(g), int(n)
        finally:
            if view is not None:
                con.unregister(view)
    return ProtectedCheck(
        passed=not any(bad.values()),
        classes=int(classes),
        violating_classes=bad,
        violating_records=records,
    )


def _parquet_relation(source: str | Path) -> tuple[str, list[Any]]:
    """``read_parquet(?)`` and its parameter; a folder reads all its Parquet files as hive."""
    path = Path(source)
    if path.is_dir():
        return "read_parquet(?, hive_partitioning = true)", [str(path / "**" / "*.parquet")]
    return "read_parquet(?)", [str(source)]


def _require_columns(columns: list[str], qis: list[str], where: str) -> None:
    missing = [q for q in qis if q not in columns]
    if missing:
        raise ValueError(f"quasi-identifier(s) not in {where}: {missing}; columns are {columns}")
