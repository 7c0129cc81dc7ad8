"""Duplicate case ids across the chunks of one export, in memory proportional to the ids only.

Each case id is known by a 128-bit key: the first 16 bytes of its HMAC
pseudonym (``pseudonym.pseudonym_keys``), which ingest computes anyway. Two
ids with the same key are the same id, which is the assumption the whole
collaborative already makes when harmonize merges records by pseudonym; a
chance collision of 128 bits among 10^7 ids has probability ~10^-25.

The keys seen so far are kept as sorted runs of three numpy arrays (key
high and low 64 bits, source row number: 24 bytes per id, ~240 MB for 10
million ids), merged like a log-structured tree so that adding a chunk costs
O(chunk x log(ids)) and looking a chunk up one binary search per run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class _Run:
    hi: np.ndarray  # sorted
    lo: np.ndarray
    row: np.ndarray

    def __len__(self) -> int:
        return len(self.hi)


def _merge(a: _Run, b: _Run) -> _Run:
    at = np.searchsorted(a.hi, b.hi, side="right")
    return _Run(np.insert(a.hi, at, b.hi), np.insert(a.lo, at, b.lo), np.insert(a.row, at, b.row))


class SeenIds:
    """The case ids of the chunks seen so far, each with the row where it first appeared."""

    def __init__(self) -> None:
        self._runs: list[_Run] = []

    def __len__(self) -> int:
        return sum(len(r) for r in self._runs)

    def _lookup(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """Source row of each key seen before, 0 where it is new (``hi`` sorted: cache-friendly)."""
        found = np.zeros(len(hi), dtype=np.int64)
        for run in self._runs:
            at = np.searchsorted(run.hi, hi)
            cand = np.flatnonzero(at < len(run))
            cand = cand[run.hi[at[cand]] == hi[cand]]
            same = run.lo[at[cand]] == lo[cand]
            found[cand[same]] = run.row[at[cand[same]]]
            for i in cand[~same]:  # equal high halves, other low half: 2^-64 per pair
                k = at[i] + 1
                while k < len(run) and run.hi[k] == hi[i]:
                    if run.lo[k] == lo[i]:
                        found[i] = run.row[k]
                        break
                    k += 1
        return found

    def _add(self, run: _Run) -> None:
        self._runs.append(run)
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            last = self._runs.pop()
            self._runs[-1] = _merge(self._runs[-1], last)

    def first_rows(self, keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """For each id of a chunk (``keys``: n x 2 uint64, in row order), the row of its first
        occurrence in the export if that is an earlier row, else 0; then remember the new ones."""
        n = len(rows)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        hi, lo = keys[:, 0], keys[:, 1]
        order = np.lexsort((lo, hi))  # stable: equal keys stay in row order
        sh, sl = hi[order], lo[order]
        starts = np.ones(n, dtype=bool)
        starts[1:] = (sh[1:] != sh[:-1]) | (sl[1:] != sl[:-1])
        leader_at = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
        leader = np.empty(n, dtype=np.int64)
        leader[order] = order[leader_at]  # position of the first occurrence within the chunk
        first = np.where(leader != np.arange(n), rows[leader], 0)
        leaders = order[starts]  # first occurrences, sorted by key
        before = self._lookup(hi[leaders], lo[leaders])
        earlier = np.zeros(n, dtype=np.int64)
        earlier[leaders] = before
        earlier = earlier[leader]  # every occurrence inherits what its first one found
        first = np.where(earlier > 0, earlier, first)
        new = leaders[before == 0]
        if len(new):
            self._add(_Run(hi[new], lo[new], rows[new].astype(np.int64)))
        return first
