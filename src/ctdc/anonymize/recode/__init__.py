"""Local recoding: a price sweep over the generalization lattice, a climb, a reopen.

The problem: give every record a published value per quasi-identifier (QI) --
its leaf, an ancestor in the QI's hierarchy, or NA (the root, a suppressed
cell) -- so that every combination of published values occurs at least ``k``
times, losing as little information as possible (Iyengar's loss metric, LM).

A *node* of the lattice is one level per QI. Global recoding publishes every
record at one node; local recoding lets each equivalence class pick its own.
This engine does the latter, greedily, ordered by price:

1. Distinct records (QI leaf codes, plus sensitive codes when l-diversity is
   asked) are collapsed into weighted tuples (:mod:`.keys`, :mod:`.tuples`).
2. :mod:`.sweep`: a price rises from 0 to 1; at each price the nodes whose lower
   bound fits (:mod:`.lattice`) finalize the classes that are safe and cheap
   enough, best benefit first.
3. :mod:`.climb`: on wide lattices few nodes fit whole classes, so after
   ``idle_prices`` idle prices (or past ``tail_price``) the leftovers rise
   bottom-up, one QI level at a time. Small inputs run both ways and keep the
   one that loses less.
4. :mod:`.reopen`: a tuple still unplaced joins the finalized class cheapest to
   widen, unless removing it loses less; only then is it removed.

Why the output is strictly k-anonymous: a record is finalized only into a class
that then has >= ``k`` finalized records (and is l-diverse, :mod:`.finalized`);
afterwards a class only gains records, or is widened *whole* to a tuple it
shares with a leftover (and maybe with another class), which merges classes and
never splits one. Records never finalized are removed. NA is a value of its own
(an input NA leaf publishes NA at every level), which is exactly the semantics
of a SQL ``GROUP BY``.

Speed (:mod:`.node_cache`, :mod:`.finalized`, :mod:`.placement`): node classes
are cached and rolled up from a child node; finalized tuples only get weight 0
until the tables are compacted; a Bloom bitmap rules out most keys before the
finalized sizes are looked up. Every knob is a field of :class:`.Tuning`.

Determinism: no randomness; ties go to the lower bound, then lattice order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctdc.anonymize.hierarchy import Encoded
from ctdc.anonymize.recode.climb import climb
from ctdc.anonymize.recode.keys import Keys
from ctdc.anonymize.recode.lattice import Lattice
from ctdc.anonymize.recode.placement import Placement
from ctdc.anonymize.recode.reopen import reopen
from ctdc.anonymize.recode.sweep import Sweep
from ctdc.anonymize.recode.tuning import Tuning

__all__ = ["Recoding", "Tuning", "local_recode"]


@dataclass(frozen=True)
class Recoding:
    """Per input row: the level published for each QI (shape (n, m)), and rows removed."""

    levels: np.ndarray
    removed: np.ndarray


def local_recode(
    columns: list[Encoded],
    allowed: list[tuple[int, ...]],
    k: int,
    *,
    sensitive: list[np.ndarray] | None = None,
    l_div: int = 1,
    tuning: Tuning | None = None,
) -> Recoding:
    """Choose a published level per row and QI; ``allowed[j]`` lists QI j's levels (ascending)."""
    tuning = tuning or Tuning()
    n, m = len(columns[0].codes) if columns else 0, len(columns)
    sens = sensitive or []
    if n == 0:
        return Recoding(np.zeros((0, m), np.int8), np.zeros(0, bool))
    raw = np.stack([c.codes for c in columns] + list(sens), axis=1)
    keys = Keys(tuning.key_limit, tuning.pandas_hash_table)
    tuples, weights, inverse = keys.collapse(raw)
    lattice = Lattice(columns, allowed, tuning.lattice_grid)  # shared: its walk is reused

    def run(handover: bool) -> tuple[Placement, bool]:
        placement = Placement(columns, allowed, k, tuples, weights, len(sens), l_div, tuning)
        sweep = Sweep(placement, lattice, tuning)
        sweep.run(handover=handover)
        climb(placement)
        reopen(placement)
        return placement, sweep.handed_over

    state, handed_over = run(handover=True)
    if len(tuples) <= tuning.small and handed_over:
        # Small input: also try the full sweep and keep whichever loses less.
        other, _ = run(handover=False)
        if (other.loss(), other.removed()) < (state.loss(), state.removed()):
            state = other
    levels = state.level[inverse]
    return Recoding(levels, levels[:, 0] < 0 if m else np.zeros(n, bool))
