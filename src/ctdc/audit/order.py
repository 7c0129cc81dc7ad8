"""Row order: the release's order of rows must not tell which organization or night a row came from.

The test, and why it is sound. An order can leak only through what differs
between positions. Two orders are safe by construction:

1. **sorted by released content** (every column, in file order, each in a
   fixed order of its values): the order is then a function of the values any
   analyst already has, so it can say nothing more. Checked exactly
   (:func:`unsorted_column`).
2. **independent of everything private**: a random order, such as harmonize's
   order by keyed pseudonym. Checked statistically: for each label a row
   carries -- each released quasi-identifier, and, from the steward's side,
   the organization and the batch (organization and night of ingest) most
   staged records matching the row's class come from -- count the adjacent
   rows that share the label. Organization- or batch-grouped output puts like
   next to like (many equal neighbours); an interleaved one puts them apart
   (few). Under a random order the count has a known mean; its spread comes
   from shuffling the same labels (a permutation test, vectorized in numpy).
   A count more than ``Z_LIMIT`` standard deviations from the mean fails.

At five standard deviations a random order fails about once in two million
audits per label, and a release ordered by organization, batch or a
quasi-identifier fails from a few dozen rows. What it does not see: a leak
through a private value no released column or class-level label tracks
(e.g. the order *within* one organization's rows of one class).
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ctdc.anonymize.verify import quote_identifier as q
from ctdc.audit.model import CheckResult, fail, ok
from ctdc.audit.sources import Sources, ancestor_join

ROW_ORDER = "row order"
Z_LIMIT = 5.0
#: shuffles per label, fewer on big releases (memory: shuffles x rows)
SHUFFLES = 200
SEED = 7


def unsorted_column(src: Sources) -> str | None:
    """Rows sorted by every column in file order, each column in some fixed order of its values.

    Which order of a column's values (text order, the schema's category order,
    NULLs first or last) is left open, since any fixed one is a function of
    the content; what is required is that (1) for every prefix of the columns,
    rows sharing the prefix form one contiguous block, and (2) within those
    blocks a column's values always come in the same relative order (no cycle
    in "a before b"). Then the position of a row follows from its values
    alone: identical rows are interchangeable. Vectorized: one factorize and
    a few comparisons per column; the order graph is over values, not rows.
    Returns None when sorted, else the first column whose order breaks.
    """
    table = src.con.sql("SELECT * FROM cases").to_arrow_table()  # columns coded one by one:
    n = table.num_rows  # a shuffled release breaks at its first column or two
    if n < 2:
        return None
    block = np.zeros(n, dtype=np.int64)  # the rows' prefix group, contiguous so far
    for col in table.column_names:
        coded = pc.dictionary_encode(table.column(col).combine_chunks(), null_encoding="encode")
        codes = coded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        inner = pd.factorize(block * (int(codes.max()) + 2) + codes)[0].astype(np.int64)
        changes = inner[1:] != inner[:-1]
        if int(changes.sum()) + 1 != int(inner.max()) + 1:
            return str(col)  # a prefix group is split: not contiguous
        inside = changes & (block[1:] == block[:-1])  # a new value within one block
        pairs = set(zip(codes[:-1][inside].tolist(), codes[1:][inside].tolist(), strict=True))
        graph: dict[int, set[int]] = {}
        for before, after in pairs:  # distinct value pairs, not rows
            graph.setdefault(after, set()).add(before)
        try:
            tuple(TopologicalSorter(graph).static_order())
        except CycleError:
            return str(col)
        block = inner
    return None


def clustering_z(codes: np.ndarray, rng: np.random.Generator) -> float:
    """How far the count of equal adjacent labels is from a random order's, in std devs."""
    n = len(codes)
    if n < 3 or len(np.unique(codes)) < 2:
        return 0.0
    observed = float(np.count_nonzero(codes[1:] == codes[:-1]))
    shuffles = max(20, min(SHUFFLES, 4_000_000 // n))
    perms = rng.permuted(np.tile(codes.astype(np.int32), (shuffles, 1)), axis=1)
    counts = np.count_nonzero(perms[:, 1:] == perms[:, :-1], axis=1)
    # the exact mean under a random order: (n - 1) * P(two random rows share the label)
    sizes = np.unique(codes, return_counts=True)[1].astype(float)
    mean = float((sizes * (sizes - 1)).sum() / n)
    sd = float(counts.std())
    if sd == 0:
        return 0.0 if observed == mean else float("inf")
    return (observed - mean) / sd


def _labels(src: Sources) -> pd.DataFrame:
    """Per release row, in file order: each QI as text, and its class's majority org and batch."""
    con = src.con
    path = str(src.release / "cases.parquet").replace("'", "''")
    qcols = ", ".join(f"CAST({q(n)} AS VARCHAR) AS v{i}" for i, n in enumerate(src.qis))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _rows AS SELECT file_row_number AS pos"
        f"{', ' + qcols if qcols else ''} FROM read_parquet('{path}', "
        f"file_row_number = true)"
    )
    frame = con.execute("SELECT * FROM _rows ORDER BY pos").df()
    if not src.has_staged or not src.qis:
        return frame.drop(columns="pos")
    vs = [f"v{i}" for i in range(len(src.qis))]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _row_classes AS SELECT row_number() OVER () AS cid, "
        f"* FROM (SELECT DISTINCT {', '.join(vs)} FROM _rows)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _who AS SELECT row_number() OVER () AS pid, * FROM (SELECT "
        + ", ".join(f"CAST({q(n)} AS VARCHAR) AS v{i}" for i, n in enumerate(src.qis))
        + ", org_id, batch_id, count(*) AS w FROM staged GROUP BY ALL)"
    )
    from_sql, alternatives = ancestor_join(src, "_who p")
    cond = " AND ".join(f"(r.v{i} IS NULL OR {alt})" for i, alt in enumerate(alternatives))
    owners = con.execute(
        f"SELECT cid, arg_max(org_id, n) AS org, arg_max(batch_id, m) AS batch FROM ("
        f"SELECT r.cid, p.org_id, p.batch_id, sum(p.w) OVER (PARTITION BY r.cid, p.org_id) AS n, "
        f"sum(p.w) OVER (PARTITION BY r.cid, p.batch_id) AS m FROM {from_sql} JOIN _row_classes r "
        f"ON {cond}) GROUP BY cid"
    ).df()
    joined = con.execute(
        "SELECT _rows.pos, _row_classes.cid FROM _rows JOIN _row_classes ON "
        + " AND ".join(f"_rows.{v} IS NOT DISTINCT FROM _row_classes.{v}" for v in vs)
        + " ORDER BY _rows.pos"
    ).df()
    labels = joined.merge(owners, on="cid", how="left").sort_values("pos")
    frame["organization (private)"] = labels["org"].to_numpy()
    frame["batch (private)"] = labels["batch"].to_numpy()
    return frame.drop(columns="pos")


def row_order(src: Sources) -> CheckResult:
    """Sorted by released content, or no label clusters along the rows (module docstring)."""
    breaks = unsorted_column(src)
    if breaks is None:
        return ok(ROW_ORDER, "rows are sorted by their released content")
    frame = _labels(src)
    rng = np.random.default_rng(SEED)
    names = {f"v{i}": n for i, n in enumerate(src.qis)}
    worst: list[tuple[float, str]] = []
    for col in frame.columns:
        codes = pd.factorize(frame[col], use_na_sentinel=False)[0]
        z = clustering_z(np.asarray(codes), rng)
        if abs(z) > Z_LIMIT:
            worst.append((z, names.get(str(col), str(col))))
    if worst:
        parts = [
            f"{label} ({'grouped' if z > 0 else 'interleaved'}, z={z:+.1f})"
            for z, label in sorted(worst, key=lambda t: -abs(t[0]))
        ]
        more = f" and {len(parts) - 5} more" if len(parts) > 5 else ""
        return fail(
            ROW_ORDER,
            f"not sorted by content (the order of {breaks} restarts within "
            f"equal earlier columns) and it follows " + ", ".join(parts[:5]) + more,
        )
    return ok(
        ROW_ORDER,
        f"not sorted by content, but no label of {len(frame.columns)} clusters "
        f"along the rows (|z| <= {Z_LIMIT:g})",
    )
