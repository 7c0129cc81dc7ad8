"""Suppression on hand-made tables: which cell is hidden, why, and what stays published."""

from __future__ import annotations

import numpy as np
from stats_fixtures import grid_counts

from ctdc.stats import Suppression, protect
from ctdc.stats.determinacy import row_echelon

P, C = Suppression.PRIMARY, Suppression.COMPLEMENTARY


def _reasons(counts: list[list[int]] | list[int], k: int) -> tuple[list, list]:
    table = protect(grid_counts(np.array(counts)), k)
    return [c.suppressed for c in table.cells], [m.suppressed for m in table.margins]


def test_one_column_hides_the_smallest_other_cell() -> None:
    table = protect(grid_counts(np.array([3, 20, 30, 40])), 5)
    assert [c.count for c in table.cells] == [None, None, 30, 40]
    assert [c.suppressed for c in table.cells] == [P, C, None, None]
    assert table.total.count == 93 and table.total.suppressed is None


def test_two_columns_hide_a_rectangle() -> None:
    """One primary per row and column: the cheapest rectangle closes every equation."""
    cells, margins = _reasons([[3, 20, 30], [25, 40, 50], [30, 30, 2]], 5)
    assert cells == [P, None, C, None, None, None, C, None, P]
    assert margins == [None] * 7


def test_a_row_with_one_primary_gets_a_complement_in_that_row() -> None:
    table = protect(grid_counts(np.array([[4, 50, 60], [40, 50, 60]])), 10)
    row0 = [c for c in table.cells if c.values[0] == "0"]
    assert [c.suppressed for c in row0].count(C) >= 1
    assert all(m.suppressed is None for m in table.margins)


def test_a_margin_below_k_is_primary_and_cannot_be_rebuilt_from_the_total() -> None:
    """Row 0 and column 0 total 3: hidden. The total minus row 1 would give row 0 away;
    hiding row 1 would need its one cell hidden, and column 1 then, so the total goes."""
    table = protect(grid_counts(np.array([[3, 0], [0, 40]])), 5)
    assert [(c.count, c.suppressed) for c in table.cells] == [(None, P), (40, None)]
    assert [(m.column, m.value, m.count, m.suppressed) for m in table.margins] == [
        ("c0", "0", None, P), ("c0", "1", 40, None),
        ("c1", "0", None, P), ("c1", "1", 40, None),
        (None, None, None, C),
    ]  # fmt: skip


def test_a_total_below_k_hides_everything_and_zeros_stay_out() -> None:
    table = protect(grid_counts(np.array([[1, 0], [0, 2]])), 5)
    assert all(c.count is None for c in table.cells)
    assert all(m.count is None and m.suppressed == P for m in table.margins)
    assert len(table.cells) == 2  # the zero combinations are not cells, and never suppressed


def test_an_empty_table_publishes_a_zero_total() -> None:
    table = protect(grid_counts(np.zeros((2, 2), dtype=np.int64)), 5)
    assert table.cells == ()
    assert table.total.count == 0 and table.total.suppressed is None
    assert {m.count for m in table.margins} == {0}


def test_shares_hide_small_true_and_false_counts_and_protect_the_true_table() -> None:
    counts = np.array([20, 20, 30, 40])
    trues = np.array([0, 10, 15, 20])  # 0%: a share that says something of every member
    table = protect(grid_counts(counts, trues), 5)
    assert [c.count for c in table.cells] == [20, 20, 30, 40]  # counts are all >= k
    assert [c.share_suppressed for c in table.cells] == [P, C, None, None]
    assert [c.share for c in table.cells] == [None, None, 0.5, 0.5]
    assert table.total.share == 45 / 110
    assert table.suppressed_counts() == {"primary": 0, "complementary": 0}


def test_share_of_a_suppressed_count_is_suppressed() -> None:
    table = protect(grid_counts(np.array([3, 20, 30]), np.array([1, 10, 15])), 5)
    assert [(c.count, c.share, c.share_suppressed) for c in table.cells] == [
        (None, None, P), (None, None, C), (30, 0.5, None),
    ]  # fmt: skip


def test_row_echelon_modulo_a_prime() -> None:
    """The exact elimination: [[1,1,0],[0,1,1],[1,2,1]] has rank 2, its RREF [[1,0,-1],[0,1,1]]."""
    q = 2_147_483_647
    rows, pivots = row_echelon(np.array([[1, 1, 0], [0, 1, 1], [1, 2, 1]]), q)
    assert pivots.tolist() == [0, 1]
    assert rows.tolist() == [[1, 0, q - 1], [0, 1, 1]]
