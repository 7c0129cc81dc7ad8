"""Safe aggregates over the public release: counts and shares with no cell below k recomputable.

``safe_table(public_folder, by, where=..., share=..., k=...)`` groups the
current public release's ``cases`` by the given columns in the query sandbox
(DuckDB), suppresses every count below the release's k (primary) and enough
others that no suppressed number can be recomputed from the published cells,
margins and total (complementary, checked exactly with linear algebra), and
returns a :class:`SafeTable` that holds published numbers only. ``ctdc stats``
prints it; docs/stats.md says what is published and why.
"""

from __future__ import annotations

from ctdc.stats.aggregate import MAX_CELLS, CellCounts
from ctdc.stats.safe import effective_k, protect, safe_table
from ctdc.stats.suppress import Suppression
from ctdc.stats.table import ALL_LABEL, NULL_LABEL, Cell, Margin, SafeTable

__all__ = [
    "ALL_LABEL",
    "MAX_CELLS",
    "NULL_LABEL",
    "Cell",
    "CellCounts",
    "Margin",
    "SafeTable",
    "Suppression",
    "effective_k",
    "protect",
    "safe_table",
]
