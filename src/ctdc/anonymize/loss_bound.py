"""A lower bound on the loss of any release: what each record must lose, at the least.

Why it exists: a heuristic's loss is only ever compared with another heuristic's (the
k-only release, ARX, anjana). This bound says what no release can go below, so a goal
such as "l-diversity within 1.5x of the k-only loss" can be weighed against what is
possible, and the engine's distance from the optimum measured.

The argument, for one record r: its class publishes, per QI, an ancestor of r's leaf
at some level, so it has a *node* (one level per QI). Every member of the class has
the same published values, hence the same ancestors at that node: the class lies
inside r's *group* at the node (the records sharing r's ancestors there). A class of
at least ``k`` records with ``l`` distinct known sensitive values in each sensitive
column can only lie in a group that has as much. So r loses at least the cost of the
cheapest node whose group around r is that large and that diverse, or all its cells
(a removed record costs one per cell). Summed over the records, that bounds the loss
of every local recoding over the same hierarchies -- the engine's, at any tuning.

It is not tight: the groups overlap, and the records of one group are free here to
choose different nodes. On Adult (6 QIs, k = 10) the engine's k-only release loses
1.70x the bound, its l = 2 release 1.66x (docs/benchmarks.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ctdc.anonymize.engine import _sensitive, _validate
from ctdc.anonymize.hierarchy import Encoded, Hierarchy, encode_column

#: lattices larger than this are refused: the bound visits every node (n records each)
MAX_NODES = 100_000


def loss_lower_bound(
    frame: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    k: int,
    *,
    hierarchies: Mapping[str, Hierarchy] | None = None,
    sensitive: Sequence[str] = (),
    l: int | None = None,  # noqa: E741 (the literature's name)
) -> np.ndarray:
    """Per input record, the fewest cells it can lose in any release that is k-anonymous
    (and distinct l-diverse over ``sensitive``) under these hierarchies.

    The LM bound is ``bound.sum() / (len(frame) * len(quasi_identifiers))``, in the
    units of the report's ``loss_metric``. Raises ``ValueError`` on the inputs
    :func:`~ctdc.anonymize.anonymize` refuses, and on lattices of more than
    :data:`MAX_NODES` nodes.
    """
    qis = _validate(frame, quasi_identifiers, k, None)
    hierarchies = dict(hierarchies or {})
    columns = [encode_column(q, frame[q], hierarchies.get(q)) for q in qis]
    codes, l_div = _sensitive(frame, sensitive, l, qis)
    return record_floors(columns, int(k), codes, l_div)


def record_floors(
    columns: list[Encoded], k: int, sensitive: list[np.ndarray], l_div: int
) -> np.ndarray:
    """:func:`loss_lower_bound` on encoded columns and sensitive codes (0: not known)."""
    n, m = (len(columns[0].codes), len(columns)) if columns else (0, 0)
    nodes = int(np.prod([c.levels for c in columns])) if columns else 0
    if nodes > MAX_NODES:
        raise ValueError(f"the lattice has {nodes:,} nodes; the bound visits at most {MAX_NODES:,}")
    floor = np.full(n, float(m))  # removed: every cell lost
    if not n:
        return floor
    ids = [c.ancestor[:, c.codes] for c in columns]  # per QI: (levels, n) published ids
    costs = [c.cost[:, c.codes] for c in columns]
    for node in itertools.product(*(range(c.levels) for c in columns)):
        group = _groups([ids[j][lv] for j, lv in enumerate(node)])
        n_groups = int(group.max()) + 1
        ok = np.bincount(group, minlength=n_groups) >= k
        for s in sensitive:
            ok &= _distinct_known(group, n_groups, s) >= l_div
        fits = ok[group]
        if fits.any():
            cost = sum(costs[j][lv] for j, lv in enumerate(node))
            floor[fits] = np.minimum(floor[fits], np.asarray(cost)[fits])
    return floor


def _groups(published: list[np.ndarray]) -> np.ndarray:
    """Group id per record from its published ids, one QI folded in at a time (the ids of
    the fold so far stay below the record count, so the key never overflows)."""
    group = np.zeros(len(published[0]), dtype=np.int64)
    for ids in published:
        group = pd.factorize(group * (int(ids.max()) + 1) + ids)[0].astype(np.int64)
    return group


def _distinct_known(group: np.ndarray, n_groups: int, codes: np.ndarray) -> np.ndarray:
    """Distinct known (non-zero) codes per group."""
    known, span = codes > 0, int(codes.max()) + 1
    pairs = np.unique(group[known] * span + codes[known])
    return np.bincount(pairs // span, minlength=n_groups)
