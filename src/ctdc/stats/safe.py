"""``safe_table``: counts and shares over the public release, suppressed so no small cell shows.

The steps, each in its own module: open the public release in the query
sandbox and read its k (``release.py``), check the ``--where`` (``where.py``),
GROUP BY in DuckDB (``aggregate.py``), lay out cells and margins
(``layout.py``), suppress (``suppress.py``, checked by ``determinacy.py``),
and hand back published numbers only (``table.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ctdc.errors import CtdcError
from ctdc.query import DEFAULT_LIMITS, Limits
from ctdc.slugs import Slug
from ctdc.stats.aggregate import CellCounts, count_cells
from ctdc.stats.layout import IntArray, Layout
from ctdc.stats.release import open_release
from ctdc.stats.suppress import (
    PUBLISHED,
    ReasonArray,
    Suppression,
    reason,
    suppress_counts,
    suppress_shares,
)
from ctdc.stats.table import Cell, Margin, SafeTable

#: an entry's (count, suppressed, share, share_suppressed), as Cell and Margin take them
_Published = tuple[int | None, Suppression | None, float | None, Suppression | None]


def safe_table(release: Path, by: Sequence[str], *, where: str | None = None,
               share: str | None = None, k: int | None = None,
               limits: Limits = DEFAULT_LIMITS) -> SafeTable:  # fmt: skip
    """Counts by the ``by`` columns of the release ``<release>/current`` points at, safe at k.

    ``release`` is the public folder (as ``ctdc query --public-dir``): no key
    or workspace is needed. ``where`` is an analyst's condition over
    ``cases``, run in the query sandbox; ``share`` a BOOLEAN column whose
    share of TRUE rows is given per cell; ``k`` defaults to the release's and
    may only raise it. Raises ``CtdcError`` (``no-release``, ``bad-option``,
    ``bad-sql``, ``query-refused``, ``query-limit``).
    """
    with open_release(release, limits) as (con, info):
        chosen = effective_k(info.k, k)
        counts = count_cells(con, info, by, where=where, share=share, limits=limits)
    return protect(counts, chosen, release_id=info.release_id, where=where)


def effective_k(release_k: int, asked: int | None) -> int:
    """The release's k, or a larger one asked for; never smaller (``bad-option``)."""
    if asked is None:
        return release_k
    if asked < release_k:
        raise CtdcError(Slug.BAD_OPTION, f"--k {asked} is below the release's k {release_k}",
                        fix=f"leave --k out, or give at least {release_k}: stats may only "
                        "raise the release's k")  # fmt: skip
    return asked


def protect(counts: CellCounts, k: int, *, release_id: str = "",
            where: str | None = None) -> SafeTable:  # fmt: skip
    """Suppress the cells and margins of ``counts`` at ``k`` and keep the published numbers."""
    layout = Layout(counts.codes, tuple(len(c) for c in counts.categories))
    values = layout.entry_values(counts.counts)
    count_reasons = suppress_counts(layout, values, k)
    trues: IntArray | None = None
    share_reasons: ReasonArray | None = None
    if counts.trues is not None:
        trues = layout.entry_values(counts.trues)
        share_reasons = suppress_shares(layout, values, trues, count_reasons, k)
    entries = [_published(i, values, count_reasons, trues, share_reasons)
               for i in range(layout.n_entries)]  # fmt: skip
    cells = tuple(
        Cell(tuple(counts.categories[c][int(code)] for c, code in enumerate(row)), *entry)
        for row, entry in zip(counts.codes, entries[: layout.n_cells], strict=True)
    )
    margins = []
    for i in range(layout.n_cells, layout.n_entries):
        place = layout.margin_of(i)
        column, value = (None, None) if place is None else (
            counts.by[place[0]], counts.categories[place[0]][place[1]])  # fmt: skip
        margins.append(Margin(column, value, *entries[i]))
    return SafeTable(release_id, counts.by, k, where, counts.share, cells, tuple(margins))


def _published(i: int, values: IntArray, count_reasons: ReasonArray, trues: IntArray | None,
               share_reasons: ReasonArray | None) -> _Published:  # fmt: skip
    """(count, suppressed, share, share_suppressed) of entry ``i``, hidden numbers as None."""
    count = int(values[i]) if count_reasons[i] == PUBLISHED else None
    share: float | None = None
    share_reason = None
    if trues is not None and share_reasons is not None:
        share_reason = reason(int(share_reasons[i]))
        if share_reasons[i] == PUBLISHED and values[i] > 0:
            share = float(np.int64(trues[i]) / np.int64(values[i]))
    return count, reason(int(count_reasons[i])), share, share_reason
