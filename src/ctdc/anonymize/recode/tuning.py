"""The search's tuning: every knob that trades loss for time, in one frozen object.

The defaults are the measured ones (docs/anonymization.md, docs/benchmarks.md).
They change how hard the engine looks, never what a release promises: any
:class:`Tuning` gives a strictly k-anonymous release. A caller (a test, a
benchmark) passes one to :func:`ctdc.anonymize.anonymize` instead of editing
the engine's globals, so two runs with different tunings can share a process.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tuning:
    """How the local recoding searches; see the field comments for what each trades."""

    #: prices at which classes are finalized, cheapest first; finer means less loss, more time
    prices: tuple[float, ...] = (0.0, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.225,
                                 0.25, 0.275, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)  # fmt: skip
    #: past this price, once under ``tail_share`` of the records remain, the sweep hands the
    #: rest (outliers) to the climb: on Adult LM 0.0295 against 0.0291 for the sweep on to
    #: 1.0, in ~15% less time; small or hard inputs, where many records remain, sweep to 1.0
    tail_price: float = 0.3
    tail_share: float = 0.05
    #: node x tuple evaluations per price (the cheapest nodes by lower bound first): bounds
    #: the sweep's work on wide lattices, where the bottom-up climb finishes what it leaves
    cell_budget: int = 1_000_000
    #: and never more than this many nodes per price, however few tuples remain
    node_cap: int = 2_000
    #: exact mixed-radix keys stay below this; wider keys are re-densified as they grow
    key_limit: int = 1 << 62
    #: log2 of the Bloom bits kept for the finalized keys (20: 1 MB)
    bloom_bits: int = 20
    #: inputs of at most this many distinct tuples also try the full sweep, keep the better
    small: int = 2000
    #: the sweep hands over to the climb after this many prices in a row that each finalized
    #: less than ``idle_share`` of the remaining records (wide lattices: nodes rarely fit)
    idle_prices: int = 2
    idle_share: float = 0.01
    #: tables of at least this many tuples are scored node by node from cached classes
    #: (rolled up from a child node), smaller ones in batches of nodes computed afresh
    per_node: int = 500
    #: memory for cached node classes (per generation of the tuple tables)
    cache_bytes: int = 128 << 20
    #: the tuple tables are compacted once fewer than this share of their tuples remain
    compact_share: float = 0.7
    #: stale nodes re-scored together when the best benefit is out of date (sweep)
    rescore: int = 4
    #: above this many keys, finalized sizes are looked up by hashing, not binary search
    hash_lookup: int = 20_000
    #: lattices of at most this many nodes are filtered whole in numpy, larger ones walked
    lattice_grid: int = 100_000
    #: cells (nodes x tuples) scored in one batch; bounds the memory of a batch to ~100 MB
    batch_cells: int = 2_000_000
    #: factorize with pandas' own int64 hash table (~2.5x faster on the many small arrays);
    #: False uses the public ``pd.factorize``, with the same codes
    pandas_hash_table: bool = True

    def __post_init__(self) -> None:
        if not self.prices or list(self.prices) != sorted(self.prices):
            raise ValueError(f"prices must be a non-empty ascending sequence: {self.prices}")
        if self.key_limit < 2 or not 1 <= self.bloom_bits <= 40:
            raise ValueError("key_limit must be >= 2 and bloom_bits in 1..40")
