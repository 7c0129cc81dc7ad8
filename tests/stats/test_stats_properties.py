"""Property tests of safe tables: for any 1-, 2- or 3-column table of counts and any k, what is
published is true, nothing below k is shown, and no hidden number can be recomputed.

A case is a dense grid of small counts (many zeros and many below k, some
categories empty), optionally with a TRUE count per cell for a share, and a k
in 2..8. The table is protected by ``ctdc.stats.protect`` (the suppression,
without DuckDB), then judged only by what it publishes, with a model of its
own (``stats_fixtures.exposures``: exact rational arithmetic, no code shared
with ``ctdc.stats.determinacy``, which works modulo primes):

* every published count and share equals the one computed from the grid;
* no published count is below k except zeros (empty margins), no published
  share has a count, TRUE count or not-TRUE count below k; reasons are
  ``primary`` exactly where the number itself is below k;
* for every suppressed count (cell, margin or total), the published cells,
  zeros, margins and total do not determine it: it is not in the row space of
  the published equations, and two non-negative solutions of the published
  system give it two different values (a witness that a linear program with
  non-negativity cannot pin it either; the width of that interval is not
  checked);
* the same for the TRUE counts behind the shares, linearly only (a share
  hidden for being 0% or 100% sits at a bound of its interval by nature).

Hypothesis runs derandomized without an example database, as the
anonymizer's properties do; ``CTDC_PROPERTIES=thorough`` runs four times as many.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from stats_fixtures import exposures, grid_counts, published_entries

from ctdc.stats import SafeTable, Suppression, protect

settings.register_profile(
    "ctdc-stats-properties",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ctdc-stats-properties-thorough",
    settings.get_profile("ctdc-stats-properties"),
    max_examples=240,
)
PROFILE = settings.get_profile(
    "ctdc-stats-properties-thorough"
    if os.environ.get("CTDC_PROPERTIES") == "thorough"
    else "ctdc-stats-properties"
)


@dataclass(frozen=True)
class Case:
    counts: np.ndarray
    trues: np.ndarray | None
    k: int


@st.composite
def cases(draw: st.DrawFn) -> Case:
    columns = draw(st.sampled_from([1, 2, 2, 3]))
    largest = {1: 8, 2: 6, 3: 4}[columns]
    shape = tuple(draw(st.integers(1, largest)) for _ in range(columns))
    k = draw(st.integers(2, 8))
    value = st.one_of(st.just(0), st.integers(1, k - 1), st.integers(k, 4 * k))
    size = int(np.prod(shape))
    counts = np.array(draw(st.lists(value, min_size=size, max_size=size)), dtype=np.int64)
    counts = counts.reshape(shape)
    trues = None
    if draw(st.booleans()):
        fractions = draw(st.lists(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]),
                                  min_size=size, max_size=size))  # fmt: skip
        trues = np.round(counts.reshape(-1) * np.array(fractions)).astype(np.int64)
        trues = trues.reshape(shape)
    return Case(counts, trues, k)


def _truth(case: Case, table: SafeTable, values: np.ndarray) -> list[tuple[object, int]]:
    """(entry, true value) for every cell and margin of ``table`` from the grid ``values``."""
    out: list[tuple[object, int]] = []
    for cell in table.cells:
        out.append((cell, int(values[tuple(int(v) for v in cell.values)])))
    for margin in table.margins:
        if margin.column is None:
            out.append((margin, int(values.sum())))
        else:
            axis = table.by.index(margin.column)
            out.append((margin, int(np.take(values, int(margin.value), axis=axis).sum())))  # type: ignore[arg-type]
    return out


@settings(PROFILE)
@given(cases())
def test_published_numbers_are_true_and_hidden_ones_are_not_recomputable(case: Case) -> None:
    table = protect(grid_counts(case.counts, case.trues), case.k)
    k = case.k
    # cells: exactly the combinations that occur
    assert len(table.cells) == int((case.counts > 0).sum())
    trues = dict(_truth(case, table, case.trues)) if case.trues is not None else {}
    for entry, count in _truth(case, table, case.counts):
        if entry.count is not None:
            assert entry.count == count
            assert count >= k or count == 0
        assert (entry.suppressed == Suppression.PRIMARY) == (0 < count < k)
        if case.trues is None:
            assert entry.share is None and entry.share_suppressed is None
            continue
        true = trues[entry]
        small = count < k or true < k or count - true < k
        if count == 0:
            assert entry.share is None and entry.share_suppressed is None
        elif entry.share is not None:
            assert entry.count is not None and not small
            assert entry.share == true / count
        else:
            assert entry.share_suppressed is not None
        assert (entry.share_suppressed == Suppression.PRIMARY) == (count > 0 and small)

    shape = case.counts.shape
    hidden = exposures(shape, case.counts, published_entries(table, shape, shares=False),
                       witness=True)  # fmt: skip
    for exposure in hidden:
        assert not exposure.determined, f"{exposure.name} is recomputable"
        assert exposure.witness is not None and exposure.witness[0] < exposure.witness[1]
    event(f"suppressed counts: {'some' if hidden else 'none'}")
    if case.trues is not None:
        shares = published_entries(table, shape, shares=True)
        for exposure in exposures(shape, case.counts, shares, witness=False):
            assert not exposure.determined, f"the TRUE count of {exposure.name} is recomputable"


@settings(PROFILE)
@given(cases())
def test_protection_is_deterministic(case: Case) -> None:
    """The same table gives the same suppressions (a report can be regenerated)."""
    counts = grid_counts(case.counts, case.trues)
    assert protect(counts, case.k) == protect(counts, case.k)
