"""The heavy part in DuckDB: one GROUP BY over the release's ``cases``, in the query sandbox.

One row per combination of the ``--by`` columns that occurs (NULL is a
category like any other), with its count and, for ``--share``, its count of
TRUE rows (FALSE and NULL are not TRUE). Each column's categories are ranked
by DuckDB in the column's own order (numbers as numbers, dates as dates),
NULL last, and labelled by DuckDB's text of the value. Column names are
never assumed: any column of the release may be grouped by, any BOOLEAN
column may be a share.

The margins are sums of these rows, added up by the caller in numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from ctdc.errors import CtdcError
from ctdc.query import Limits, run_in_sandbox
from ctdc.query.classify import refused
from ctdc.slugs import Slug
from ctdc.stats.layout import IntArray
from ctdc.stats.release import Release
from ctdc.stats.where import check_embedded, check_where, embed

#: observed combinations a safe table may have: the exact check's matrices grow with it
MAX_CELLS = 20_000
_PREFIX = "__ctdc_"


@dataclass(frozen=True)
class CellCounts:
    """The observed cells of one table, before any suppression (never shown as such)."""

    by: tuple[str, ...]
    categories: tuple[tuple[str | None, ...], ...]
    """per ``by`` column, the label of each category in order (None: NULL)"""
    codes: IntArray
    """shape (cells, columns): each cell's category index per column; cells sorted by it"""
    counts: IntArray
    share: str | None = None
    trues: IntArray | None = None
    """per cell, the rows where ``share`` is TRUE (None without ``share``)"""


def quote(name: str) -> str:
    """A column name as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def check_columns(release: Release, by: Sequence[str], share: str | None) -> None:
    """``bad-option`` for a ``--by`` or ``--share`` column the release cannot group by."""
    available = ", ".join(release.columns)
    if not by:
        raise CtdcError(Slug.BAD_OPTION, "--by needs at least one column",
                        fix=f"name columns of cases: {available}")  # fmt: skip
    for name in by:
        if name not in release.columns:
            raise CtdcError(Slug.BAD_OPTION, f"--by column {name!r} is not in release "
                            f"{release.release_id}",
                            fix=f"use columns of cases: {available}")  # fmt: skip
    repeated = sorted({name for name in by if list(by).count(name) > 1})
    if repeated:
        raise CtdcError(Slug.BAD_OPTION, f"--by names {', '.join(repeated)} more than once")
    if share is None:
        return
    flags = ", ".join(n for n, kind in release.columns.items() if kind == "BOOLEAN") or "none"
    if share not in release.columns:
        raise CtdcError(Slug.BAD_OPTION, f"--share column {share!r} is not in release "
                        f"{release.release_id}",
                        fix=f"use a BOOLEAN column of cases: {flags}")  # fmt: skip
    if release.columns[share] != "BOOLEAN":
        raise CtdcError(Slug.BAD_OPTION, f"--share column {share!r} is "
                        f"{release.columns[share]}, not BOOLEAN",
                        fix=f"use a BOOLEAN column of cases: {flags}")  # fmt: skip
    if share in by:
        raise CtdcError(Slug.BAD_OPTION, f"--share column {share!r} is also a --by column, "
                        "so every share would be 0% or 100%",
                        fix="share a flag that is not grouped by")  # fmt: skip


def aggregate_sql(by: Sequence[str], share: str | None, where: str | None) -> str:
    """The GROUP BY, its WHERE pasted as ``where.embed`` does."""
    keys = ", ".join(f"{quote(name)} AS {_PREFIX}k{i}" for i, name in enumerate(by))
    trues = f"count(*) FILTER (WHERE {quote(share)})" if share is not None else "0"
    outer = ", ".join(
        f"CAST({_PREFIX}k{i} AS VARCHAR) AS {_PREFIX}l{i}, "
        f"dense_rank() OVER (ORDER BY {_PREFIX}k{i} NULLS LAST) - 1 AS {_PREFIX}i{i}"
        for i in range(len(by))
    )
    condition = f"\n{embed(where)}\n" if where is not None else "\n"
    return (f"SELECT {outer}, {_PREFIX}n, {_PREFIX}t FROM (\n"
            f"SELECT {keys}, count(*) AS {_PREFIX}n, {trues} AS {_PREFIX}t\n"
            f"FROM cases{condition}GROUP BY ALL\n) AS {_PREFIX}cells")  # fmt: skip


def count_cells(con: duckdb.DuckDBPyConnection, release: Release, by: Sequence[str], *,
                where: str | None, share: str | None, limits: Limits) -> CellCounts:  # fmt: skip
    """Check the columns and the WHERE, run the GROUP BY, return the observed cells."""
    check_columns(release, by, share)
    sql = aggregate_sql(by, share, where)
    if where is not None:
        check_embedded(con, sql, check_where(con, where))
    try:
        frame = run_in_sandbox(con, sql, limits=limits)
    except RecursionError:
        raise refused("--where is nested too deeply to be checked") from None
    if len(frame) > MAX_CELLS:
        raise CtdcError(Slug.QUERY_LIMIT, f"the table has {len(frame):,} cells; stats protects "
                        f"at most {MAX_CELLS:,}", fix="group by fewer or coarser columns, or "
                        "narrow it with --where")  # fmt: skip
    return _cells(frame, tuple(by), share)


def _cells(frame: pd.DataFrame, by: tuple[str, ...], share: str | None) -> CellCounts:
    codes = np.stack(
        [frame[f"{_PREFIX}i{i}"].to_numpy(dtype=np.int64) for i in range(len(by))], axis=1
    ).reshape(len(frame), len(by))
    order = np.lexsort(codes.T[::-1]) if len(frame) else np.zeros(0, dtype=np.int64)
    categories = []
    for i in range(len(by)):
        labels: dict[int, str | None] = {}
        for code, label in zip(codes[:, i], frame[f"{_PREFIX}l{i}"], strict=True):
            labels.setdefault(int(code), None if pd.isna(label) else str(label))
        categories.append(tuple(labels[c] for c in range(len(labels))))
    counts = frame[f"{_PREFIX}n"].to_numpy(dtype=np.int64)[order]
    trues = frame[f"{_PREFIX}t"].to_numpy(dtype=np.int64)[order] if share is not None else None
    return CellCounts(by, tuple(categories), codes[order], counts, share, trues)
