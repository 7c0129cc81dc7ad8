"""Which suppressed entries of a table the published ones determine exactly: linear algebra.

The published system: every published cell is a known number, every zero
(a combination that does not occur) is a known 0, and every published margin
``m`` is a known sum ``a_m . x`` over the cells ``x``. Moving the known cells
to the right-hand side leaves the unknowns (the suppressed cells) and one
equation per published margin: its row of the incidence matrix ``M``
restricted to the suppressed cells.

A suppressed entry whose row over the suppressed cells is ``v`` (a cell: the
unit vector; a margin: its incidence row) is *determined* iff ``v`` lies in
the row space of ``M``: some combination of published equations then gives
``v . x`` exactly. A margin with no suppressed cell is the sum of published
cells (``v = 0``), so it is determined.

**Exact, in integers.** ``M`` is a 0/1 matrix, so the test is done without
floating point: ``M`` is brought to reduced row echelon form over the field
of integers modulo a prime ``q`` (numpy int64; residues below 2^31, so a
product fits). Then a suppressed cell is determined iff its column is a
pivot whose row has no other non-zero, and a margin iff ``v`` reduces to 0.
An entry determined over the rationals is determined modulo ``q`` as well,
unless ``q`` divides the denominator of the combination that gives it (a
divisor of a minor of ``M``); a false "determined" only suppresses more. The
test runs modulo two primes and counts an entry as determined if either says
so, so a determined entry is missed only if both primes divide that
denominator. Floating point (an SVD) was the first version: it needs a
tolerance, and LAPACK's threads made it ~100x slower on a loaded two-core
machine.
"""

from __future__ import annotations

import numpy as np

from ctdc.stats.layout import BoolArray, IntArray, Layout

#: two primes below 2^31: a product of two residues fits in int64
PRIMES = (2_147_483_647, 2_147_483_629)
_HALF = 1 << 16


def incidence(layout: Layout, cells: IntArray) -> IntArray:
    """Margins x ``cells``: 1 where the cell is part of the margin (margin = entry - n_cells)."""
    n_margins = layout.n_entries - layout.n_cells
    matrix = np.zeros((n_margins, len(cells)), dtype=np.int64)
    if len(cells):
        rows = layout.margin_rows(cells)
        columns = np.repeat(np.arange(len(cells)), rows.shape[1])
        matrix[rows.ravel(), columns] = 1
    return matrix


def row_echelon(matrix: IntArray, q: int) -> tuple[IntArray, IntArray]:
    """The reduced row echelon form of ``matrix`` modulo ``q``: (non-zero rows, pivot columns)."""
    rows = matrix % q
    n_rows, n_columns = rows.shape
    pivots: list[int] = []
    for column in range(n_columns):
        top = len(pivots)
        if top == n_rows:
            break
        below = np.flatnonzero(rows[top:, column])
        if not len(below):
            continue
        found = top + int(below[0])
        if found != top:
            rows[[top, found]] = rows[[found, top]]
        rows[top] = rows[top] * pow(int(rows[top, column]), q - 2, q) % q
        others = np.flatnonzero(rows[:, column])
        others = others[others != top]
        if len(others):
            factors = rows[others, column][:, None]
            rows[others] = (rows[others] - factors * rows[top][None, :]) % q
        pivots.append(column)
    return rows[: len(pivots)], np.asarray(pivots, dtype=np.int64)


def _matmul_mod(left: IntArray, right: IntArray, q: int) -> IntArray:
    """``left @ right`` modulo ``q`` for residues below 2^31, without int64 overflow.

    ``right`` is split into 16-bit halves, so each product is below 2^47 and a
    sum of fewer than 2^15 of them (the pivots: at most ``MAX_CELLS`` columns) fits.
    """
    low = (left @ (right % _HALF)) % q
    high = (left @ (right // _HALF)) % q
    return np.asarray((low + high * _HALF) % q, dtype=np.int64)


def _determined_mod(rows: IntArray, hidden_rows: IntArray, q: int) -> tuple[BoolArray, BoolArray]:
    """(suppressed cells, suppressed margins) determined by ``rows`` modulo ``q``."""
    echelon, pivots = row_echelon(rows, q)
    cells = np.zeros(rows.shape[1], dtype=np.bool_)
    if len(pivots):
        alone = np.count_nonzero(echelon, axis=1) == 1
        cells[pivots[alone]] = True
    vectors = hidden_rows % q
    if len(pivots) and len(vectors):
        vectors = (vectors - _matmul_mod(vectors[:, pivots], echelon, q)) % q
    return cells, np.asarray(~vectors.any(axis=1), dtype=np.bool_)


def determined(layout: Layout, suppressed: BoolArray) -> BoolArray:
    """For each entry: suppressed, yet computable exactly from what is published."""
    out = np.zeros(layout.n_entries, dtype=np.bool_)
    n = layout.n_cells
    unknown = np.flatnonzero(suppressed[:n]).astype(np.int64)
    rows = incidence(layout, unknown)
    published, hidden = rows[~suppressed[n:]], np.flatnonzero(suppressed[n:])
    for q in PRIMES:
        cells, margins = _determined_mod(published, rows[hidden], q)
        out[unknown] |= cells
        out[hidden + n] |= margins
    return out
