"""Local recoding: a price sweep over the generalization lattice, a climb, a reopen.

The problem: give every record a published value per quasi-identifier (QI) --
its leaf, an ancestor in the QI's hierarchy, or NA (the root, a suppressed
cell) -- so that every combination of published values occurs at least ``k``
times, losing as little information as possible (Iyengar's loss metric, LM).

A *node* of the lattice is one level per QI. Global recoding publishes every
record at one node; local recoding lets each equivalence class pick its own.
This engine does the latter, greedily, ordered by price:

1. Distinct records (QI leaf codes, plus sensitive codes when l-diversity is
   asked) are collapsed into weighted tuples; everything below works on those.
2. A price ``lam`` rises from 0 to 1. At each price, the candidate nodes are
   those whose *lower bound* -- the cheapest cost any remaining record could
   have there -- is at most ``lam``. The bound is a sum of per-QI minima, so it
   only grows as a node generalizes (monotone): the candidates form a down-set
   of the lattice, enumerated from the bottom in bound order and pruned as
   soon as the bound passes the price (or a node budget is spent).
3. At a node, the remaining records fall into classes (published tuples). A
   class may be *finalized* when, counting the records already finalized with
   the same published tuple, it has at least ``k`` records (and ``l`` distinct
   values of each sensitive column), and its records' mean cell cost is at most
   ``lam``. A node's benefit is ``sum(weight * (next price - cost))`` over the
   classes it would finalize. Nodes are taken in order of benefit with lazy
   re-evaluation (benefits only fall as records leave), and each finalizes its
   classes.
4. On wide lattices few nodes fit whole classes: after two prices that each
   finalize under 1% of what remains, the sweep hands over to a bottom-up
   *climb* (:meth:`_Sweep.climb`): the leftovers rise one QI level at a time,
   those that become safe are finalized. Small inputs run both ways and keep
   the one that loses less. Past ``TAIL_PRICE``, once under ``TAIL_SHARE`` of
   the records remain, the outliers left go to the climb too.
5. A tuple still unplaced is *reopened* into the finalized class that is
   cheapest to widen to a common ancestor (:meth:`_Sweep.reopen`), unless
   removing it loses less; only then is it removed.

Why the output is strictly k-anonymous: a record is finalized only into a class
that then has >= ``k`` finalized records (and is l-diverse); afterwards a class
only gains records, or is widened *whole* to a tuple it shares with a leftover
(and maybe with another class), which merges classes and never splits one.
Records never finalized are removed. NA is a value of its own (an input NA leaf
publishes NA at every level), which is exactly the semantics of a SQL ``GROUP BY``.

Speed: a node's classes are cached for the current generation of the tuple
tables and *rolled up* to the node one level above (only the child's classes are
re-keyed, since an ancestor does not depend on the leaf it came from); finalized
tuples only get weight 0 until the tables are compacted; a Bloom bitmap rules out
most keys before the finalized sizes are looked up. docs/anonymization.md has
the measurements.

Determinism: no randomness; ties go to the lower bound, then lattice order.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import pandas as pd

from ctdc.anonymize.hierarchy import Encoded

try:  # pandas' int64 hash table (see _factorize)
    from pandas._libs.hashtable import Int64HashTable as _Int64HashTable
except ImportError:  # pragma: no cover - a pandas release without it
    _Int64HashTable = None

#: what ``_finalized_classes`` gives ``reopen``: index, leaves, weights, loss and class of
#: the finalized tuples, and per QI which allowed levels each class may take, with its values
_Finalized: TypeAlias = tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]
]

#: prices at which classes are finalized, cheapest first; finer means less loss, more time
PRICES = (0.0, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.225, 0.25, 0.275, 0.3, 0.4,
          0.5, 0.6, 0.8, 1.0)  # fmt: skip
#: past this price, once under TAIL_SHARE of the records remain, the sweep hands the rest
#: (outliers) to the climb: on Adult LM 0.0295 against 0.0291 for the sweep on to 1.0, in
#: ~15% less time; small or hard inputs, where many records remain, still sweep to 1.0
TAIL_PRICE = 0.3
TAIL_SHARE = 0.05
#: node x tuple evaluations per price (the cheapest nodes by lower bound first): bounds the
#: sweep's work on wide lattices, where the bottom-up climb finishes what the sweep leaves
CELL_BUDGET = 1_000_000
#: and never more than this many nodes per price, however few tuples remain
NODE_CAP = 2_000
_KEY_LIMIT = 1 << 62
_SLOT_BITS = 20  # 1 MB of Bloom bits for the finalized keys
#: inputs of at most this many distinct tuples also try the full sweep and keep the better
SMALL = 2000
#: the sweep hands over to the climb after this many prices in a row that each finalized
#: less than IDLE_SHARE of the remaining records (wide lattices, where nodes rarely fit)
IDLE_PRICES = 2
IDLE_SHARE = 0.01
#: tables of at least this many tuples are scored node by node from cached classes (rolled
#: up from a child node), smaller ones in batches of nodes computed afresh
PER_NODE = 500
#: memory for cached node classes (per generation of the tuple tables)
CACHE_BYTES = 128 << 20
#: the tuple tables are compacted once fewer than this share of their tuples remain
COMPACT_SHARE = 0.7
#: stale nodes re-scored together when the best benefit is out of date (sweep)
RESCORE = 4
#: above this many keys, finalized sizes are looked up by hashing rather than binary search
HASH_LOOKUP = 20_000
#: lattices of at most this many nodes are filtered whole in numpy, larger ones walked
LATTICE_GRID = 100_000
#: cells (nodes x tuples) scored in one batch; bounds the memory of a batch to ~100 MB
BATCH_CELLS = 2_000_000


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
    prices: tuple[float, ...] | None = None,
    budget: int | None = None,
) -> Recoding:
    """Choose a published level per row and QI; ``allowed[j]`` lists QI j's levels (ascending)."""
    n, m = len(columns[0].codes) if columns else 0, len(columns)
    sens = sensitive or []
    if n == 0:
        return Recoding(np.zeros((0, m), np.int8), np.zeros(0, bool))
    raw = np.stack([c.codes for c in columns] + list(sens), axis=1)
    tuples, weights, inverse = _collapse(raw)

    def run(handover: bool) -> _Sweep:
        state = _Sweep(columns, allowed, k, tuples, weights, len(sens), l_div)
        state.run(prices or PRICES, budget or CELL_BUDGET, handover=handover)
        return state

    state = run(handover=True)
    if len(tuples) <= SMALL and state.handed_over:
        # Small input: also try the full sweep and keep whichever loses less.
        other = run(handover=False)
        if (other.loss(), other.removed()) < (state.loss(), state.removed()):
            state = other
    levels = state.level[inverse]
    return Recoding(levels, levels[:, 0] < 0 if m else np.zeros(n, bool))


def row_classes(rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Class index per row of ``rows`` ((n, m) non-negative ints; equal rows, equal class)."""
    if not rows.size:
        return np.zeros(len(rows), dtype=np.int64), int(len(rows) > 0)
    cards = [int(rows[:, j].max()) + 1 for j in range(rows.shape[1])]
    inverse, uniques = _factorize(_exact_key([rows[:, j] for j in range(rows.shape[1])], cards))
    return inverse, len(uniques)


def _collapse(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``raw`` (small non-negative ints), their counts, and each row's index."""
    inverse, n_unique = row_classes(raw)
    first = _first_index(inverse, n_unique)
    return raw[first], np.bincount(inverse).astype(np.int64), inverse


def _first_index(classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Index of the first row of each class."""
    first = np.full(n_classes, -1, dtype=np.int64)
    first[classes[::-1]] = np.arange(len(classes))[::-1]
    return first


def _radix(cards: list[int]) -> np.ndarray | None:
    """Place values of an exact mixed-radix key, or None if it could overflow int64."""
    if float(np.prod([float(c) for c in cards])) > _KEY_LIMIT:
        return None
    radix = np.ones(len(cards), dtype=np.int64)
    for j in range(len(cards) - 2, -1, -1):
        radix[j] = radix[j + 1] * cards[j + 1]
    return radix


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes (in order of first appearance) and uniques of an int64 array.

    ``pd.factorize`` with its Python-level dispatch skipped: pandas' own int64
    hash table, ~2.5x faster on the small arrays rolled up node by node (the
    engine makes ~1,000 such calls on Adult). Falls back to ``pd.factorize``
    should a pandas release move the table.
    """
    if _Int64HashTable is None:
        return pd.factorize(values)
    uniques, codes = _Int64HashTable(len(values)).factorize(values.astype(np.int64, copy=False))
    return codes, uniques


def _slot(keys: np.ndarray) -> np.ndarray:
    """A hash of each key into 0 .. 2**_SLOT_BITS - 1 (Fibonacci hashing)."""
    return (
        (keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - _SLOT_BITS)
    ).astype(np.intp)


def _dot(columns: list[np.ndarray], radix: np.ndarray) -> np.ndarray:
    """The mixed-radix key of rows given column by column (``radix`` from :func:`_radix`)."""
    key = columns[0] * radix[0]
    for j in range(1, len(columns)):
        key += columns[j] * radix[j]
    return key


def _exact_key(columns: list[np.ndarray], cards: list[int]) -> np.ndarray:
    """One int64 per row, equal iff all columns are equal; re-densifies before overflow."""
    key = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
    bound = 1
    for col, card in zip(columns, cards, strict=True):
        if bound * card > _KEY_LIMIT:
            key = _factorize(key)[0].astype(np.int64)
            bound = int(key.max()) + 1 if key.size else 1
        key = key * card + col
        bound *= card
    return key


@dataclass(frozen=True)
class _NodeClasses:
    """One node's classes over the tuples of one generation of the tables (radix path)."""

    cls: np.ndarray  # class of each tuple
    key: np.ndarray  # published tuple of each class, as its mixed-radix key
    cost: np.ndarray  # mean cell cost of each tuple at the node
    gen: int  # the generation of the tables these tuples are

    @property
    def nbytes(self) -> int:
        return self.cls.nbytes + self.key.nbytes + self.cost.nbytes


class _Sweep:
    """State of the price sweep over the collapsed tuples.

    The remaining tuples' published ids and cell costs at every level are kept as
    per-QI tables (``anc[j][level]``, ``cost[j][level]``, views of two stacked
    arrays), so evaluating a node afresh is m vector additions and one
    factorization. When an exact mixed-radix key over all QIs fits in int64 (and
    no l-diversity is asked: the *radix path*), finalized classes are looked up
    by key instead of being re-grouped with the remaining tuples on every
    evaluation, node classes are cached and rolled up (:meth:`_node_classes`),
    and finalized tuples retire lazily (weight 0) until a compaction. Otherwise
    the tables are compacted at every finalization.
    """

    def __init__(
        self,
        columns: list[Encoded],
        allowed: list[tuple[int, ...]],
        k: int,
        tuples: np.ndarray,
        weights: np.ndarray,
        n_sensitive: int,
        l_div: int,
    ) -> None:
        self.columns, self.allowed, self.k, self.l_div = columns, allowed, k, l_div
        self.m = len(columns)
        self.n_sensitive = n_sensitive
        self.level = np.full((len(tuples), self.m), -1, dtype=np.int8)
        self.cards = [len(c.values) for c in columns]
        # l-diversity needs the sensitive values of finalized records: no key lookups then
        self.radix = _radix(self.cards) if not n_sensitive else None
        # the remaining tuples, compacted
        self.remaining = np.arange(len(tuples))
        self.leaves = tuples[:, : self.m]
        self.sens = tuples[:, self.m :]
        self.weights = weights.copy()  # finalized tuples get weight 0 until compacted
        self.all_leaves, self.all_weights = self.leaves, weights  # never compacted
        self.handed_over = False
        # every QI's levels stacked in one table (compacting 2 arrays is ~5x faster than 2m)
        at_leaves = list(enumerate(columns))
        self.anc_all = np.concatenate([c.ancestor[:, self.leaves[:, j]] for j, c in at_leaves])
        self.cost_all = np.concatenate([c.cost[:, self.leaves[:, j]] for j, c in at_leaves])
        self.cost_all /= max(self.m, 1)
        self._split()
        # finalized classes: one row per distinct (published ids, sensitive codes), weights summed
        self.f_ids = np.zeros((0, self.m), dtype=np.int64)
        self.f_sens = np.zeros((0, n_sensitive), dtype=np.int64)
        self.f_w = np.zeros(0, dtype=np.int64)
        self.f_keys = np.zeros(0, dtype=np.int64)  # radix path: sorted keys, and sizes
        self.f_index: pd.Index | None = None  # f_keys hashed, built when first needed
        self.f_size = np.zeros(0, dtype=np.int64)
        self.f_seen = np.zeros(1 << _SLOT_BITS, dtype=bool)  # Bloom bits of f_keys
        self.floor: dict[tuple[int, ...], float] = {}  # cheapest safe class cost seen per node
        self.grid: np.ndarray | Literal[False] | None = None  # whole lattice when small (_grid)
        self.cache: dict[tuple[int, ...], _NodeClasses] = {}  # per node (see _compact)
        self.cache_bytes = 0
        self.gen = 0  # generation of the tables: +1 at every compaction
        self.since: dict[int, np.ndarray] = {}  # per past generation: its index of each tuple
        self.lifts: dict[tuple[int, int, int], np.ndarray] = {}  # for _lift

    def run(self, prices: tuple[float, ...], cell_budget: int, *, handover: bool) -> None:
        """The sweep over ``prices``, then the climb for what is left.

        With ``handover``, the sweep stops after IDLE_PRICES prices in a row that
        each finalized less than IDLE_SHARE of the remaining records: on wide
        lattices nodes rarely fit whole classes and the climb does better, faster.
        """
        idle = 0
        self.handed_over = False
        records = int(self.weights.sum())
        for i, lam in enumerate(prices):
            live = int(np.count_nonzero(self.weights))
            if not live or (lam > TAIL_PRICE and self.weights.sum() < TAIL_SHARE * records):
                break
            if handover and idle >= IDLE_PRICES:
                self.handed_over = True
                break
            before = int(self.weights.sum())
            nxt = prices[i + 1] if i + 1 < len(prices) else lam + 0.05
            self.sweep(lam, nxt, max(16, min(NODE_CAP, cell_budget // live)))
            done = before - int(self.weights.sum())
            idle = idle + 1 if done < IDLE_SHARE * before else 0
        self.climb()

    def loss(self) -> float:
        """Total loss (LM numerator) of the finished run over the collapsed tuples."""
        kept = self.level[:, 0] >= 0 if self.m else np.zeros(len(self.level), bool)
        total = float(self.all_weights[~kept].sum()) * self.m
        for j, col in enumerate(self.columns):
            cost = col.cost[self.level[kept, j], self.all_leaves[kept, j]]
            total += float((cost * self.all_weights[kept]).sum())
        return total

    def removed(self) -> int:
        return int(self.all_weights[self.level[:, 0] < 0].sum()) if self.m else 0

    # -- one node ---------------------------------------------------------------------

    def _publish(self, node: tuple[int, ...]) -> tuple[list[np.ndarray], np.ndarray]:
        """Published ids per QI and mean cell cost of every remaining tuple at ``node``."""
        ids = [self.anc[j][lv] for j, lv in enumerate(node)]
        cost = self.cost[0][node[0]].copy()
        for j in range(1, self.m):
            cost += self.cost[j][node[j]]
        return ids, cost

    def _classes(self, ids: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Class index of each remaining tuple, class sizes, and which classes are safe
        (>= k, l-diverse), counting the finalized records that publish the same tuple."""
        w = self.weights
        if self.radix is not None:
            return self._key_classes(_dot(ids, self.radix))
        both = [np.concatenate([ids[j], self.f_ids[:, j]]) for j in range(self.m)]
        cls, uniq = _factorize(_exact_key(both, self.cards))
        size = np.bincount(cls, weights=np.concatenate([w, self.f_w]), minlength=len(uniq))
        safe = size >= self.k
        if self.n_sensitive:  # l >= 1 known distinct values of every sensitive column
            sens = np.concatenate([self.sens, self.f_sens])
            for s in range(self.n_sensitive):
                card = int(sens[:, s].max()) + 1
                known = sens[:, s] > 0
                pairs = pd.unique(cls[known].astype(np.int64) * card + sens[known, s])
                safe &= np.bincount(pairs // card, minlength=len(uniq)) >= self.l_div
        return cls[: len(w)], size, safe

    def _key_classes(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`_classes` on the radix path, from each tuple's published key."""
        cls, uniq = _factorize(key)
        size = np.bincount(cls, weights=self.weights, minlength=len(uniq))
        size += self._finalized_sizes(uniq)
        return cls, size, size >= self.k

    def _finalized_sizes(self, keys: np.ndarray) -> np.ndarray:
        """Records already finalized under each key (radix path), 0 where none.

        Most keys were never finalized: a bitmap over a hash of the finalized
        keys (a one-hash Bloom filter) rules them out at ~1 ns a key, and only
        the rest are looked up exactly.
        """
        out = np.zeros(len(keys), dtype=np.int64)
        n = len(self.f_keys)
        if not n:
            return out
        maybe = np.flatnonzero(self.f_seen[_slot(keys)])
        if not maybe.size:
            return out
        keys = keys[maybe]
        if len(keys) > HASH_LOOKUP:  # hashing is ~5x faster per key, but costs ~0.1 ms a call
            if self.f_index is None:
                self.f_index = pd.Index(self.f_keys)
            pos = self.f_index.get_indexer(keys)
            out[maybe] = np.where(pos >= 0, self.f_size[pos], 0)
        else:
            sorted_keys = self.f_keys
            pos = np.minimum(np.searchsorted(sorted_keys, keys), n - 1)
            out[maybe] = np.where(sorted_keys[pos] == keys, self.f_size[pos], 0)
        return out

    def _evaluate(self, node: tuple[int, ...], lam: float, nxt: float) -> tuple[float, np.ndarray]:
        """Benefit of finalizing at ``node`` now, and the mask of remaining tuples it finalizes.

        Also caches the cheapest safe class cost at ``node``: as records leave,
        safe classes only disappear, so that floor only rises and a node whose
        floor is above the price can be skipped without evaluating it.
        """
        if self.radix is not None:
            c, w = self._node_classes(node), self.weights
            total = np.bincount(c.cls, weights=w, minlength=len(c.key))
            spent = np.bincount(c.cls, weights=w * c.cost, minlength=len(c.key))
            safe, mean, take = self._judge(total, spent, c.key, lam)
            self.floor[node] = float(mean[safe].min()) if safe.any() else np.inf
            benefit = float(nxt * total[take].sum() - spent[take].sum())
            return benefit, take[c.cls] & (w > 0)
        ids, cost = self._publish(node)
        cls, _, safe = self._classes(ids)
        w = self.weights
        n_cls = len(safe)
        total = np.bincount(cls, weights=w, minlength=n_cls)
        mean_cost = np.bincount(cls, weights=w * cost, minlength=n_cls) / np.maximum(total, 1)
        safe_costs = mean_cost[safe & (total > 0)]
        self.floor[node] = float(safe_costs.min()) if safe_costs.size else np.inf
        take = (safe & (mean_cost <= lam + 1e-12))[cls]
        return float((w[take] * (nxt - cost[take])).sum()), take

    def _judge(
        self, total: np.ndarray, spent: np.ndarray, keys: np.ndarray, lam: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per class (remaining weight ``total``, its summed cell cost ``spent``, published
        ``keys``): safe (>= k with the finalized records), mean cell cost, finalized at
        price ``lam``. A class of finalized tuples only (weight 0) is gone."""
        held = total > 0
        safe = held & (total + self._finalized_sizes(keys) >= self.k)
        mean = spent / np.where(held, total, 1.0)
        return safe, mean, safe & (mean <= lam + 1e-12)

    def _per_node(
        self,
        total: np.ndarray,
        spent: np.ndarray,
        keys: np.ndarray,
        first: np.ndarray,
        lam: float,
        nxt: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Benefit and floor of each of many nodes whose classes are consecutive runs of
        the class arrays, node i's starting at ``first[i]``."""
        safe, mean, take = self._judge(total, spent, keys, lam)
        floor = np.minimum.reduceat(np.where(safe, mean, np.inf), first)
        gain = np.where(take, nxt * total - spent, 0.0)
        return np.add.reduceat(gain, first), floor

    def _node_classes(self, node: tuple[int, ...]) -> _NodeClasses:
        """The classes at ``node``, from the cache, rolled up from a cached child, or fresh.

        Rolling up is cheap: a child one level lower in QI j has coarser classes
        that merge, so only the child's classes (not the tuples) are re-keyed.
        That works because a hierarchy is a tree: a value's ancestor is the
        same whatever leaf it came from.
        """
        got = self.cache.get(node)
        if got is not None:
            return got if got.gen == self.gen else self._carry(node, got)
        assert self.radix is not None  # node classes exist on the radix path only
        for j, lv in enumerate(node):
            a = self.allowed[j].index(lv)
            child = self._cached((*node[:j], self.allowed[j][a - 1], *node[j + 1 :])) if a else None
            if child is not None:
                low = self.allowed[j][a - 1]
                ids = child.key // self.radix[j] % self.cards[j]  # QI j's value in each class
                shift = self._lift(j, low, lv)[ids] - ids
                merged, key = _factorize(child.key + shift * self.radix[j])
                cost = child.cost + (self.cost[j][lv] - self.cost[j][low])
                got = _NodeClasses(merged[child.cls], key, cost, self.gen)
                break
        else:
            ids, cost = self._publish(node)
            cls, key = _factorize(_dot(ids, self.radix))
            got = _NodeClasses(cls, key, cost, self.gen)
        if self.cache_bytes + got.nbytes <= CACHE_BYTES:
            self.cache[node] = got
            self.cache_bytes += got.nbytes
        return got

    def _cached(self, node: tuple[int, ...]) -> _NodeClasses | None:
        got = self.cache.get(node)
        return got if got is None or got.gen == self.gen else self._carry(node, got)

    def _carry(self, node: tuple[int, ...], old: _NodeClasses) -> _NodeClasses:
        """A node cached in an earlier generation, brought to the current tuples: two
        gathers, and classes left empty dropped (renumbered by rank, no hashing)."""
        idx = self.since[old.gen]
        cls, cost, key = old.cls[idx], old.cost[idx], old.key
        if len(key) > 2 * len(cls):
            used = np.bincount(cls, minlength=len(key)) > 0
            cls, key = (np.cumsum(used) - 1)[cls], key[used]
        got = _NodeClasses(cls, key, cost, self.gen)
        self.cache[node] = got
        self.cache_bytes += got.nbytes - old.nbytes
        return got

    def _lift(self, j: int, low: int, high: int) -> np.ndarray:
        """QI j's published id at level ``high`` of each id at level ``low`` (a tree: one)."""
        got = self.lifts.get((j, low, high))
        if got is None:
            anc = self.columns[j].ancestor
            got = np.zeros(self.cards[j], dtype=np.int64)
            got[anc[low]] = anc[high]
            self.lifts[(j, low, high)] = got
        return got

    def _ids_at(self, levels: np.ndarray) -> list[np.ndarray]:
        """Published ids per QI of every remaining tuple at its own levels ((r, m) array)."""
        idx = np.arange(len(self.weights))
        return [self.anc[j][levels[:, j], idx] for j in range(self.m)]

    def _finalize(
        self, node: tuple[int, ...] | np.ndarray, take: np.ndarray, *, lazy: bool = True
    ) -> None:
        """Fix the levels of the ``take`` tuples (one node, or per-tuple levels) for good.

        On the radix path (``lazy``) finalized tuples only get weight 0, so the
        tables and the cached node classes stay valid; the tables are compacted
        (a new generation) once fewer than COMPACT_SHARE of their tuples remain.
        """
        per_tuple = isinstance(node, np.ndarray)
        if isinstance(node, np.ndarray):
            rows = np.flatnonzero(take)  # only the taken tuples' ids are needed
            taken = [self.anc[j][node[rows, j], rows] for j in range(self.m)]
        else:
            taken = [self.anc[j][lv][take] for j, lv in enumerate(node)]
        self.level[self.remaining[take]] = node[take] if per_tuple else node
        w = self.weights[take]
        if self.radix is not None:
            # only sizes per key are needed: add to the known keys, insert the new ones (sorted)
            new, inverse = np.unique(_dot(taken, self.radix), return_inverse=True)
            size = np.bincount(inverse, weights=w, minlength=len(new)).astype(np.int64)
            known = self.f_keys
            pos = np.searchsorted(known, new)
            hit = pos < len(known)
            hit[hit] = known[pos[hit]] == new[hit]
            f_size = self.f_size.copy()
            f_size[pos[hit]] += size[hit]
            self.f_keys = np.insert(known, pos[~hit], new[~hit])
            self.f_index = None
            self.f_size = np.insert(f_size, pos[~hit], size[~hit])
            self.f_seen[_slot(new)] = True
        else:
            stacked = np.stack(taken, axis=1) if self.m else np.zeros((0, 0), np.int64)
            sens_both = np.concatenate([self.f_sens, self.sens[take]])
            both = np.concatenate([np.concatenate([self.f_ids, stacked]), sens_both], axis=1)
            cls, n_cls = row_classes(both)
            first = _first_index(cls, n_cls)
            self.f_ids, self.f_sens = both[first, : self.m], both[first, self.m :]
            self.f_w = np.bincount(cls, weights=np.concatenate([self.f_w, w])).astype(np.int64)
        if lazy and self.radix is not None:
            self.weights[take] = 0
            live = self.weights > 0
            if np.count_nonzero(live) < COMPACT_SHARE * len(live):
                self._compact(live)
        else:
            self._compact(~take)

    def _compact(self, keep: np.ndarray) -> None:
        """Drop the tuples that are no longer remaining from every per-tuple table.

        Cached node classes stay, each brought to the new tables when next used
        (:meth:`_carry`, cheaper than rolling up again); those two generations
        old are dropped.
        """
        kept = np.flatnonzero(keep)
        self.since = {g: idx[kept] for g, idx in self.since.items() if g >= self.gen - 1}
        self.since[self.gen] = kept
        self.gen += 1
        self.cache = {n: c for n, c in self.cache.items() if c.gen >= self.gen - 2}
        self.cache_bytes = sum(c.nbytes for c in self.cache.values())
        self.remaining = self.remaining[keep]
        self.leaves, self.sens, self.weights = (
            self.leaves[keep],
            self.sens[keep],
            self.weights[keep],
        )
        self.anc_all, self.cost_all = self.anc_all[:, keep], self.cost_all[:, keep]
        self._split()

    def _split(self) -> None:
        """``anc[j]``, ``cost[j]``: views of QI j's rows of the stacked tables."""
        bounds = list(itertools.pairwise(np.cumsum([0] + [c.levels for c in self.columns])))
        self.anc = [self.anc_all[a:b] for a, b in bounds]
        self.cost = [self.cost_all[a:b] for a, b in bounds]

    # -- one price --------------------------------------------------------------------

    def sweep(self, lam: float, nxt: float, budget: int) -> None:
        """Finalize, node by node (best benefit first, lazily re-evaluated), at price ``lam``.

        Finalizing records mostly lowers the other nodes' benefits, so a stale
        benefit is treated as an upper bound (a heuristic: a class can also
        become safe by joining records finalized elsewhere): the top entry is
        taken when its benefit is current (scored since the last finalization),
        else the stale entries at the top are re-scored together, four at a
        time, and pushed back.
        """
        nodes = [n for n in self._candidates(lam, budget) if self.floor.get(n, 0.0) <= lam + 1e-12]
        scores = self._score(nodes, lam, nxt)
        version = 0  # finalizations so far at this price
        pairs = enumerate(zip(nodes, scores, strict=True))
        heap = [(-b, i, node, version) for i, (node, b) in pairs if b > 0]
        heapq.heapify(heap)
        while heap and self.weights.any():
            if heap[0][3] != version:
                stale: list[tuple[float, int, tuple[int, ...], int]] = []
                while heap and heap[0][3] != version and len(stale) < RESCORE:
                    stale.append(heapq.heappop(heap))
                fresh = self._score([e[2] for e in stale], lam, nxt)
                for (_, order, node, _), b in zip(stale, fresh, strict=True):
                    if b > 0:
                        heapq.heappush(heap, (-b, order, node, version))
                continue
            node = heapq.heappop(heap)[2]
            benefit, take = self._evaluate(node, lam, nxt)
            if benefit > 0:
                self._finalize(node, take)
                version += 1

    def _score(self, nodes: list[tuple[int, ...]], lam: float, nxt: float) -> list[float]:
        """Benefits of many nodes at once (what ``_evaluate`` gives one by one).

        On the radix path the nodes are evaluated in batches: one key matrix
        (nodes x tuples) offset per node, one factorization, bincounts per node.
        That replaces hundreds of small calls by a few large ones, which is most
        of the work when few tuples remain and many nodes qualify.
        """
        r = len(self.weights)
        span = int(self.radix[0]) * self.cards[0] if self.radix is not None and self.m else 0
        if not nodes or not r or not span or span > _KEY_LIMIT:
            return [self._evaluate(node, lam, nxt)[0] for node in nodes]
        step = max(1, min(BATCH_CELLS // r, _KEY_LIMIT // span))  # node offsets stay in int64
        batches = [nodes[i : i + step] for i in range(0, len(nodes), step)]
        if r >= PER_NODE:
            results = [self._score_cached(batch, lam, nxt) for batch in batches]
        else:
            results = [self._score_batch(np.array(b, np.int64), lam, nxt, span) for b in batches]
        benefit, floor = (np.concatenate(x) for x in zip(*results, strict=True))
        self.floor.update(zip(nodes, floor.tolist(), strict=True))
        return benefit.tolist()

    def _score_cached(
        self, nodes: list[tuple[int, ...]], lam: float, nxt: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Benefit and floor of each node from its (cached) classes: no tuple is re-hashed."""
        got = [self._node_classes(node) for node in nodes]
        r = len(self.weights)
        n_cls = np.array([len(c.key) for c in got])
        first = np.concatenate([[0], np.cumsum(n_cls)[:-1]])
        cls = np.concatenate([c.cls for c in got]) + np.repeat(first, r)
        w = np.tile(self.weights, len(got))
        total = np.bincount(cls, weights=w, minlength=int(n_cls.sum()))
        spent = np.bincount(cls, weights=w * np.concatenate([c.cost for c in got]),
                            minlength=int(n_cls.sum()))  # fmt: skip
        keys = np.concatenate([c.key for c in got])
        return self._per_node(total, spent, keys, first, lam, nxt)

    def _score_batch(
        self, batch: np.ndarray, lam: float, nxt: float, span: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Benefit and floor (cheapest safe class) of each node of ``batch`` (c x m levels)."""
        assert self.radix is not None  # span > 0 only on the radix path
        c, r = len(batch), len(self.weights)
        key = np.repeat(np.arange(c, dtype=np.int64) * span, r).reshape(c, r)
        cost = np.zeros((c, r))
        for j in range(self.m):
            key += self.anc[j][batch[:, j]] * self.radix[j]
            cost += self.cost[j][batch[:, j]]
        cls, uniq = _factorize(key.ravel())
        w = np.tile(self.weights, c)
        total = np.bincount(cls, weights=w)
        spent = np.bincount(cls, weights=w * cost.ravel())
        # factorize numbers classes in order of first appearance, and the key matrix is
        # node-major, so each node's classes are one contiguous run of class ids
        starts = np.searchsorted(uniq // span, np.arange(c))
        return self._per_node(total, spent, uniq % span, starts, lam, nxt)

    def _candidates(self, lam: float, budget: int) -> list[tuple[int, ...]]:
        """Nodes whose lower bound is <= ``lam``, cheapest bound first, at most ``budget``.

        The bound of a node is the mean over QIs of the cheapest cell cost any
        remaining record has at that QI's level. It is additive and grows with
        every level step, so the candidates are a down-set of the lattice. A
        lattice of at most LATTICE_GRID nodes is filtered whole, in numpy; a
        larger one is walked best-first from the bottom, which visits the
        down-set in bound order and never needs the rest.
        """
        floors = []
        live = self.leaves[self.weights > 0]
        for j, col in enumerate(self.columns):
            present = np.bincount(live[:, j], minlength=col.cost.shape[1]) > 0
            per_level = col.cost[:, present].min(axis=1)
            floors.append(per_level[list(self.allowed[j])] / self.m)
        grid = self._grid()
        if grid is not None:
            bound = floors[0][grid[:, 0]]
            for j in range(1, self.m):
                bound = bound + floors[j][grid[:, j]]
            inside = np.flatnonzero(bound <= lam + 1e-12)
            # bound first, then lattice order (grid rows are in lexicographic order)
            order = inside[np.argsort(np.round(bound[inside], 9), kind="stable")][:budget]
            levels = np.stack(
                [np.asarray(self.allowed[j])[grid[order, j]] for j in range(self.m)], axis=1
            )
            return list(map(tuple, levels.tolist()))
        start = tuple(0 for _ in self.columns)
        heap = [(float(sum(f[0] for f in floors)), start)]
        seen = {start}
        out: list[tuple[int, ...]] = []
        while heap and len(out) < budget:
            bound, idx = heapq.heappop(heap)
            if bound > lam + 1e-12:
                break
            out.append(tuple(self.allowed[j][a] for j, a in enumerate(idx)))
            for j in range(self.m):
                if idx[j] + 1 < len(self.allowed[j]):
                    nxt = (*idx[:j], idx[j] + 1, *idx[j + 1 :])
                    if nxt not in seen:
                        seen.add(nxt)
                        step = float(floors[j][idx[j] + 1] - floors[j][idx[j]])
                        heapq.heappush(heap, (bound + step, nxt))
        return out

    def _grid(self) -> np.ndarray | None:
        """Every lattice node as a row of indexes into ``allowed``, in lexicographic order;
        None when the lattice has more than LATTICE_GRID nodes."""
        if self.grid is None:
            sizes = [len(a) for a in self.allowed]
            if float(np.prod([float(x) for x in sizes])) > LATTICE_GRID:
                self.grid = False
            else:
                mesh = np.meshgrid(*[np.arange(x, dtype=np.int64) for x in sizes], indexing="ij")
                self.grid = np.stack([g.ravel() for g in mesh], axis=1)
        return self.grid if self.grid is not False else None

    # -- what is left ---------------------------------------------------------------

    def climb(self) -> None:
        """Bottom-up greedy for the tuples the sweep left, one level step at a time.

        The sweep only finds classes at nodes it could afford to visit; on wide
        lattices (many QIs) the leftovers need combinations it never reached.
        Here every leftover tuple climbs from its lowest allowed level. Each step
        tries raising each QI by one level in all leftovers: if some become safe
        (alone or by joining a finalized class), the QI rescuing the most records
        (then adding the least loss) is raised *only in those* and they are
        finalized; if none would, the QI bringing leftovers closest to ``k`` is
        raised in all of them. Tuples still unsafe at the top go to
        :meth:`reopen`. Fewer than ``k`` leftover records cannot form a class of
        their own, and joining a finalized one is what :meth:`reopen` does best
        (it also considers widening the class), so they go there directly.
        """
        self.cache.clear()  # the climb groups tuples at their own levels, not at nodes
        self.cache_bytes = 0
        self._compact(self.weights > 0)
        if self.weights.sum() < self.k:
            self.reopen()
            return
        allowed = [np.asarray(a, dtype=np.int64) for a in self.allowed]
        pos = np.zeros((len(self.weights), self.m), dtype=np.int64)  # index into allowed
        level = np.stack([np.full(len(pos), a[0]) for a in allowed], axis=1)
        ids = self._ids_at(level)  # kept up to date step by step, not rebuilt
        steps: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # per QI, see step()

        def step(q: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
            """QI q one level up: the levels, the published ids and the added cost, per
            tuple (unchanged where q is at the top); None when all are at the top."""
            if q not in steps:
                can = pos[:, q] + 1 < len(allowed[q])
                if not can.any():
                    return None
                idx = np.arange(len(pos))
                up = level[:, q].copy()
                up[can] = allowed[q][pos[can, q] + 1]
                added = self.cost[q][up, idx] - self.cost[q][level[:, q], idx]
                steps[q] = (up, self.anc[q][up, idx], added)
            return steps[q]

        def drop(gone: np.ndarray) -> None:
            nonlocal pos, level, ids
            pos, level, ids = pos[~gone], level[~gone], [i[~gone] for i in ids]
            for q, arrays in steps.items():
                steps[q] = tuple(a[~gone] for a in arrays)

        while self.weights.size:
            w = self.weights
            key = _dot(ids, self.radix) if self.radix is not None else None
            cls, size, safe = self._key_classes(key) if key is not None else self._classes(ids)
            done = safe[cls]
            if done.any():
                self._finalize(level, done, lazy=False)
                drop(done)
                continue
            baseline = float((w * np.minimum(size[cls], self.k)).sum())
            rescue: tuple[tuple[float, float, int], int, np.ndarray] | None = None
            escalate: tuple[tuple[float, float, int], int] | None = None
            for q in range(self.m):
                raised = step(q)
                if raised is None:
                    continue
                _, up_ids, added = raised
                if key is not None:  # only QI q's part of the key changes
                    assert self.radix is not None  # key is set on the radix path only
                    cls, size, safe = self._key_classes(key + (up_ids - ids[q]) * self.radix[q])
                else:
                    cls, size, safe = self._classes([*ids[:q], up_ids, *ids[q + 1 :]])
                rescued = safe[cls]
                if rescued.any():
                    saved = float(w[rescued].sum())
                    loss = float((w * added)[rescued].sum())
                    score = (saved / (loss + 1e-3 * saved), saved, -q)
                    if rescue is None or score > rescue[0]:
                        rescue = (score, q, rescued)
                elif rescue is None:
                    gain = float((w * np.minimum(size[cls], self.k)).sum()) - baseline
                    loss = float((w * added).sum())
                    score = (gain / (loss + 1e-3 * max(gain, 1.0)), gain, -q)
                    if escalate is None or score > escalate[0]:
                        escalate = (score, q)
            if rescue is not None:
                _, q, rescued = rescue
                trial = level.copy()
                trial[:, q] = steps[q][0]
                self._finalize(trial, rescued, lazy=False)
                drop(rescued)
            elif escalate is not None:
                q = escalate[1]
                pos[:, q] = np.minimum(pos[:, q] + 1, len(allowed[q]) - 1)
                level[:, q], ids[q] = steps.pop(q)[:2]
            else:
                break  # all at the root and still unsafe
        self.reopen()

    def reopen(self) -> None:
        """Merge each leftover tuple into the finalized class that costs least to widen.

        A leftover and a finalized class can always share a published tuple: per
        QI, the lowest allowed level at which the leftover's leaf and the class's
        values have the same ancestor (the root at worst). Widening the whole
        class to that tuple keeps it >= k and l-diverse (it only gains records),
        so the leftover can be placed instead of removed. The class to widen is
        the one adding the least loss, the leftover's own cells included; if even
        that costs more than removing the leftover (one per cell), it is removed.
        """
        allowed = [np.asarray(a, dtype=np.int64) for a in self.allowed]
        classes = None  # the finalized classes, regrouped only after a merge
        for t in self.remaining.tolist():
            if classes is None:
                classes = self._finalized_classes(allowed)
            done, leaves, w, spent, cls, ancestors = classes
            n_cls = len(spent)
            if not n_cls:
                return
            own_w, own = self.all_weights[t], self.all_leaves[t]
            # per QI, the lowest allowed level (not below the class's own) where the leftover's
            # leaf and the class's values meet; the root always fits, so argmax finds one
            new = np.empty((n_cls, self.m), dtype=np.int64)
            for j, col in enumerate(self.columns):
                up, anc = ancestors[j]
                meet = up & (anc == col.ancestor[allowed[j], own[j]][:, None])
                new[:, j] = allowed[j][np.argmax(meet, axis=0)]
            cost = sum(col.cost[new[cls, j], leaves[:, j]] for j, col in enumerate(self.columns))
            added = np.bincount(cls, weights=w * cost, minlength=n_cls) - spent
            added += own_w * sum(col.cost[new[:, j], own[j]] for j, col in enumerate(self.columns))
            best = int(np.argmin(added))
            if added[best] > own_w * self.m:
                continue  # widening costs more than removing the leftover: remove it
            self.level[done[cls == best]] = new[best]
            self.level[t] = new[best]
            classes = None

    def _finalized_classes(self, allowed: list[np.ndarray]) -> _Finalized:
        """What :meth:`reopen` needs of the finalized tuples: their index, leaves, weights,
        the loss of each class, the class of each, and per QI and class, which allowed levels
        it may be widened to (not below any member's) and its values at each."""
        done = np.flatnonzero(self.level[:, 0] >= 0)
        lv = self.level[done].astype(np.int64)
        leaves, w = self.all_leaves[done], self.all_weights[done]
        pub = np.stack(
            [c.ancestor[lv[:, j], leaves[:, j]] for j, c in enumerate(self.columns)], axis=1
        )
        cls, n_cls = row_classes(pub)
        top = np.zeros((n_cls, self.m), dtype=np.int64)
        np.maximum.at(top, cls, lv)  # members may sit at different levels with equal values
        rep = leaves[_first_index(cls, n_cls)]
        cost = sum(col.cost[lv[:, j], leaves[:, j]] for j, col in enumerate(self.columns))
        spent = np.bincount(cls, weights=w * cost, minlength=n_cls)
        ancestors = [
            (levels[:, None] >= top[:, j], col.ancestor[levels][:, rep[:, j]])
            for j, (col, levels) in enumerate(zip(self.columns, allowed, strict=True))
        ]
        return done, leaves, w, spent, cls, ancestors
