"""The DP utility benchmark's metrics, kept pure (numpy and pandas only) so they can be tested.

Every product is reduced to the same thing before it is scored: for each marginal (a set
of the main variables), a vector of counts over *every* cell of that marginal's public
domain (the release dictionary's values of each variable, and ``(unknown)``), in a fixed
order. The truth, the k-anonymous release and a synthetic table give such vectors by
counting their rows (:func:`marginal_counts`); a DP count table *is* such a vector. So a
metric never needs to know which product it scores.

* :func:`tvd` -- total variation distance between two count vectors, each clamped at 0 and
  normalised (a DP count may be negative; a synthetic table has fewer rows than the truth);
* :func:`rare_stats` -- of the truth's rare cells (1 <= count < k), the share the product
  has (count >= 1), and of the product's cells, the share the truth does not have;
* :func:`answers` -- the analysts' questions (docs/analysts.md) answered from the counts.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

UNKNOWN = "(unknown)"


def code_frame(frame: pd.DataFrame, domains: Mapping[str, Sequence[str]]) -> np.ndarray:
    """Each row's position in each variable's domain (int64, one column per variable, in
    ``domains`` order). NULL and any value outside the domain take the position of
    :data:`UNKNOWN`, which every domain must hold: a value a product withholds (suppressed,
    generalized past this level, not recorded) is one bucket, "unknown"."""
    out = np.empty((len(frame), len(domains)), dtype=np.int64)
    for j, (name, values) in enumerate(domains.items()):
        text = frame[name].astype("string")
        if "true" in values:  # a flag, whatever its dtype (boolean, object of bools)
            text = text.str.lower()
        known = text.notna() & text.isin(list(values))  # pandas will refuse unknown values
        codes = pd.Categorical(text.astype(object).where(known, None),
                               categories=list(values)).codes.astype(np.int64)  # fmt: skip
        codes[codes < 0] = list(values).index(UNKNOWN)
        out[:, j] = codes
    return out


def marginals(names: Sequence[str], orders: Sequence[int]) -> list[tuple[str, ...]]:
    """Every set of ``orders`` (e.g. 1, 2, 3) variables of ``names``, in a stable order."""
    return [c for o in orders for c in itertools.combinations(names, o)]


def cell_index(codes: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Mixed-radix cell number of each row (first variable slowest), as the DP key sets."""
    index = np.zeros(len(codes), dtype=np.int64)
    for j, size in enumerate(sizes):
        index = index * size + codes[:, j]
    return index


def marginal_counts(codes: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """The count of every cell (``prod(sizes)`` of them) of the rows' codes."""
    return np.bincount(cell_index(codes, sizes), minlength=math.prod(sizes)).astype(np.float64)


def normalised(counts: np.ndarray) -> np.ndarray:
    """Counts clamped at 0 and scaled to sum 1 (all zero stays all zero)."""
    clamped = np.maximum(np.asarray(counts, dtype=np.float64), 0.0)
    total = clamped.sum()
    return clamped / total if total > 0 else clamped


def tvd(truth: np.ndarray, product: np.ndarray) -> float:
    """Total variation distance, 0 (same distribution) to 1 (disjoint); a product with no
    mass at all is 1 away from any truth."""
    p, q = normalised(truth), normalised(product)
    if q.sum() == 0:
        return 1.0
    return float(0.5 * np.abs(p - q).sum())


def rare_stats(truth: np.ndarray, product: np.ndarray, k: int) -> tuple[int, int, int, int]:
    """(rare cells in the truth, of them present in the product, cells present in the
    product, of them absent from the truth). Rare: true count 1..k-1. Present: a product
    count of at least 1 (a DP count is an integer, so "rounds to at least 1" is the same)."""
    truth, product = np.asarray(truth), np.asarray(product)
    rare = (truth >= 1) & (truth < k)
    present = product >= 1
    return (int(rare.sum()), int((rare & present).sum()), int(present.sum()),
            int((present & (truth == 0)).sum()))  # fmt: skip


def ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


# ---------------------------------------------------------------- the analysts' questions


def normalised_shape(counts: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """The count vector as an array of shape ``sizes``, clamped at 0."""
    return np.maximum(np.asarray(counts, dtype=np.float64), 0.0).reshape(tuple(sizes))


def share_by(counts: np.ndarray, sizes: Sequence[int], unknown: Sequence[int],
             true_pos: int, false_pos: int) -> np.ndarray:  # fmt: skip
    """Q1's shape: over a marginal (A, B, flag), the share TRUE / (TRUE + FALSE) for each
    known (A, B); NaN where there is no known flag. ``unknown`` is each axis' unknown
    position (the flag's last)."""
    cube = normalised_shape(counts, sizes)
    keep_a = [i for i in range(sizes[0]) if i != unknown[0]]
    keep_b = [i for i in range(sizes[1]) if i != unknown[1]]
    cube = cube[np.ix_(keep_a, keep_b)]
    true, false = cube[..., true_pos], cube[..., false_pos]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(true + false > 0, true / (true + false), np.nan)


def distribution_within(counts: np.ndarray, sizes: Sequence[int],
                        unknown: Sequence[int]) -> np.ndarray:  # fmt: skip
    """Q2's shape: over a marginal (A, B), for each known A, the distribution of the known B
    values (rows sum to 1); NaN for an A with no known B."""
    grid = normalised_shape(counts, sizes)
    keep_a = [i for i in range(sizes[0]) if i != unknown[0]]
    keep_b = [i for i in range(sizes[1]) if i != unknown[1]]
    grid = grid[np.ix_(keep_a, keep_b)]
    total = grid.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, grid / total, np.nan)


def question_error(truth: np.ndarray, product: np.ndarray, weight: np.ndarray,
                   min_weight: float) -> tuple[float, float]:  # fmt: skip
    """(mean absolute error over the cells the truth can answer with at least
    ``min_weight`` records and the product answers at all, share of those cells the
    product answers). An unanswered cell is not an error of any size: it is reported
    apart, as an analyst would see a blank."""
    asked = np.broadcast_to(weight >= min_weight, truth.shape) & ~np.isnan(truth)
    answered = asked & ~np.isnan(product)
    if not answered.any():
        return math.nan, 0.0 if asked.any() else math.nan
    err = np.abs(truth[answered] - product[answered]).mean()
    return float(err), float(answered.sum() / asked.sum())
