"""Primary and complementary suppression of one table's entries (cells and margins), in numpy.

**Primary.** A count below k is suppressed, a margin as much as a cell: a
margin below k is never published (every cell in it is then below k too). A
zero is not: an empty combination is known to be empty (every analyst can
count it with ``ctdc query``) and discloses no one. For a share (TRUE rows
over the rows of the entry) the rule is stricter: it is suppressed when the
entry's count, its TRUE count or its not-TRUE count is below k, because a
share of 0% or 100% in a small group says something about each member, and
whenever the entry's count is itself suppressed.

**Complementary.** Published margins are equations: a margin with a single
suppressed member would give it away by subtraction, and combinations of
margins can do the same (as τ-ARGUS and sdcTable guard against). So, after
primary suppression:

1. local rule: while some equation (a margin and its cells; for 2+ columns
   also the total and one column's margins, see ``layout.py``) has exactly
   one suppressed member, suppress one more member of it: the one with the
   smallest cost (its count) plus, for each other equation the candidate
   belongs to that has no suppressed member yet, the smallest count that
   equation would then need in turn (a one-step look-ahead, which prefers
   closing a rectangle over starting a new chain);
2. exact check (``determinacy.py``): if a suppressed entry is still
   determined by the published system, suppress the cheapest published
   member of an equation it is in, and go back to 1.

It stops when no suppressed entry is determined. It always stops: each round
suppresses one more entry, and with every eligible entry suppressed nothing
is published that could determine one.

**Never chosen as a complement.** A zero (it is not an entry: zero
combinations are constants of the system) and, for shares, an entry whose
count is not published (its share is suppressed already). Because every
suppressed count is at least 1, an undetermined count is also not pinned by
non-negativity: a direction of the published system's null space that moves
it moves only suppressed cells, all positive, so a small step either way
keeps every cell positive, and the true count lies strictly inside the
interval a linear program over the published numbers would give. The width
of that interval is not enforced (τ-ARGUS's protection levels are not
implemented). The TRUE counts behind the shares are protected the same way,
as a table of their own with the same margins, but linearly only: a share
suppressed for being 0% or 100% sits at a bound of its interval.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

from ctdc.stats.determinacy import determined
from ctdc.stats.layout import BoolArray, IntArray, Layout

ReasonArray = npt.NDArray[np.int8]

#: codes of ReasonArray
PUBLISHED, PRIMARY, COMPLEMENTARY = 0, 1, 2


class Suppression(StrEnum):
    """Why a number is not published (the ``suppressed`` field of the output)."""

    PRIMARY = "primary"
    """below k itself (a share: its count, TRUE count or not-TRUE count below k)"""
    COMPLEMENTARY = "complementary"
    """hidden so that no suppressed number can be recomputed from the published ones"""


def reason(code: int) -> Suppression | None:
    """A ReasonArray code as the output's reason; None when published."""
    return {PRIMARY: Suppression.PRIMARY, COMPLEMENTARY: Suppression.COMPLEMENTARY}.get(code)


def primary_counts(values: IntArray, k: int) -> BoolArray:
    """Counts (cells and margins) that are published only if at least k; zeros are published."""
    return np.asarray((values > 0) & (values < k), dtype=np.bool_)


def primary_shares(counts: IntArray, trues: IntArray, k: int) -> BoolArray:
    """Shares whose own numbers are below k: the count, the TRUE count or the not-TRUE count.

    An entry with no rows has no share (0/0) and is left out.
    """
    falses = counts - trues
    small = (counts < k) | (trues < k) | (falses < k)
    return np.asarray((counts > 0) & small, dtype=np.bool_)


def suppress_counts(layout: Layout, counts: IntArray, k: int) -> ReasonArray:
    """Reasons for every entry of the count table (``counts`` over all entries)."""
    reasons = np.where(primary_counts(counts, k), PRIMARY, PUBLISHED).astype(np.int8)
    return complete(layout, reasons, eligible=counts > 0, cost=counts)


def suppress_shares(
    layout: Layout, counts: IntArray, trues: IntArray, count_reasons: ReasonArray, k: int
) -> ReasonArray:
    """Reasons for every entry's share, given the count table's reasons.

    A share whose count is suppressed is suppressed too (``complementary``
    unless its own numbers are below k); the TRUE counts then get their own
    complementary suppression, choosing only among entries with a published
    count, cheapest count first.
    """
    own = primary_shares(counts, trues, k)
    inherited = (count_reasons != PUBLISHED) & (counts > 0)
    reasons = np.where(own, PRIMARY, np.where(inherited, COMPLEMENTARY, PUBLISHED))
    eligible = (count_reasons == PUBLISHED) & (counts > 0)
    return complete(layout, reasons.astype(np.int8), eligible=eligible, cost=counts)


def complete(
    layout: Layout, reasons: ReasonArray, *, eligible: BoolArray, cost: IntArray
) -> ReasonArray:
    """Add complementary suppressions to ``reasons`` until no suppressed entry is determined.

    ``eligible``: entries that may be chosen as complements; ``cost``: what
    hiding each one loses (its count). Returns a new array.
    """
    reasons = reasons.copy()
    hidden = reasons != PUBLISHED
    while True:
        _close_singletons(layout, hidden, reasons, eligible, cost)
        exposed = np.flatnonzero(determined(layout, hidden))
        if not len(exposed):
            return reasons
        pick = _complement_for(layout, int(exposed[0]), hidden, eligible, cost)
        hidden[pick] = True
        reasons[pick] = COMPLEMENTARY


def _close_singletons(layout: Layout, hidden: BoolArray, reasons: ReasonArray,
                      eligible: BoolArray, cost: IntArray) -> None:  # fmt: skip
    """The local rule: no equation keeps exactly one suppressed member (if a complement exists)."""
    pointers, members = layout.equations
    while True:
        counts = np.add.reduceat(hidden[members].astype(np.int64), pointers[:-1])
        progressed = False
        for equation in np.flatnonzero(counts == 1):
            entries = members[pointers[equation] : pointers[equation + 1]]
            if int(hidden[entries].sum()) != 1:
                continue  # an earlier pick in this pass already gave it a second one
            candidates = entries[eligible[entries] & ~hidden[entries]]
            if not len(candidates):
                continue  # left to the exact check, which widens the choice
            pick = _cheapest(layout, candidates, int(equation), hidden, eligible, cost)
            hidden[pick] = True
            reasons[pick] = COMPLEMENTARY
            progressed = True
        if not progressed:
            return


def _cheapest(layout: Layout, candidates: IntArray, equation: int, hidden: BoolArray,
              eligible: BoolArray, cost: IntArray) -> int:  # fmt: skip
    """The candidate whose suppression costs least, with a one-step look-ahead.

    Hiding a candidate that is alone in another equation forces a further
    complement there: its cheapest other member is added to the cost (or a
    large penalty if it has none, as that equation would stay exposed).
    """
    pointers, members = layout.equations
    penalty = float(cost.sum()) + 1.0
    scores = []
    for candidate in candidates:
        score = float(cost[candidate])
        for other in layout.entry_equations[int(candidate)]:
            if other == equation:
                continue
            entries = members[pointers[other] : pointers[other + 1]]
            if hidden[entries].any():
                continue  # already has an unknown: hiding the candidate opens no new chain
            rest = entries[(entries != candidate) & eligible[entries]]
            score += float(cost[rest].min()) if len(rest) else penalty
        scores.append(score)
    # ties: the smaller count, then the earlier entry (cells before margins), so runs repeat
    order = np.lexsort((candidates, cost[candidates], np.asarray(scores)))
    return int(candidates[order[0]])


def _complement_for(layout: Layout, entry: int, hidden: BoolArray,
                    eligible: BoolArray, cost: IntArray) -> int:  # fmt: skip
    """A published entry to hide so that ``entry`` is no longer determined (or closer to it).

    First choice: the cheapest member of an equation ``entry`` is in; else the
    cheapest member of any equation with a suppressed member; else the cheapest
    eligible entry. Some entry is always left while one is determined (see the
    module docstring), so this never runs dry.
    """
    pointers, members = layout.equations
    free = eligible & ~hidden
    near = np.zeros_like(free)
    for equation in layout.entry_equations[entry]:
        near[members[pointers[equation] : pointers[equation + 1]]] = True
    for pool in (free & near, free & _in_open_equations(layout, hidden), free):
        found = np.flatnonzero(pool)
        if len(found):
            return int(found[np.lexsort((found, cost[found]))[0]])
    raise AssertionError("a suppressed entry is determined, yet every eligible entry is hidden")


def _in_open_equations(layout: Layout, hidden: BoolArray) -> BoolArray:
    """Entries that share an equation with a suppressed entry."""
    pointers, members = layout.equations
    touched = np.add.reduceat(hidden[members].astype(np.int64), pointers[:-1]) > 0
    out = np.zeros(layout.n_entries, dtype=np.bool_)
    out[members[np.repeat(touched, np.diff(pointers))]] = True
    return out
