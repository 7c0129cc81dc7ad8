"""The QI-flag repair's shortcuts give exactly the release of costing every pair.

:mod:`ctdc.anonymize.recode.qi_flags` keeps a shortlist of partners per unsafe
super-class between rounds, and :mod:`ctdc.anonymize.recode.qi_pairs` prunes the
partners whose buckets cost more than the best found. Both are exact by argument
(docs/anonymization.md); here they are run against the plain search -- every pair costed
every round -- on random populations, with the pruning forced on small inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from age_bands import AGE

import ctdc.anonymize.recode.qi_flags as qi_flags
import ctdc.anonymize.recode.qi_pairs as qi_pairs
from ctdc.anonymize import Hierarchy, anonymize, check_k_anonymity, check_protected_qi

YEAR = Hierarchy(tuple((str(y), f"{y - y % 3}-{y - y % 3 + 2}", "*") for y in range(2010, 2022)))
FLAGS = ["forced_labour", "sexual", "marriage"]
QIS = ["age_band", "year", "gender", "source", *FLAGS]


def population(seed: int, n: int = 700) -> pd.DataFrame:
    """Demographics with two hierarchies and two flat columns; one type TRUE per record
    (or none), skewed so that many demographic groups are TRUE throughout on one."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(4, n, p=[0.5, 0.3, 0.12, 0.08])
    df = pd.DataFrame(
        {
            "age_band": rng.choice(["0-8", "9-17", "18-25", "26-40", "41+"], n),
            "year": rng.choice([str(y) for y in range(2010, 2022)], n),
            "gender": pd.array(rng.choice(["f", "m", "x", ""], n, p=[0.5, 0.4, 0.05, 0.05])),
            "source": rng.choice(["hotline", "ngo", "registry"], n),
        }
    )
    df.loc[df["gender"] == "", "gender"] = pd.NA
    for i, flag in enumerate(FLAGS):
        df[flag] = pd.array(kind == i, dtype="boolean")
    return df


def _release(df: pd.DataFrame, k: int) -> pd.DataFrame:
    result = anonymize(df, QIS, k, hierarchies={"age_band": AGE, "year": YEAR}, protected=FLAGS)
    return result.frame


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shortlists_and_pruning_give_the_release_of_costing_every_pair(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    df, k = population(seed), 4
    fast = _release(df, k)
    with monkeypatch.context() as m:  # the pruned search on every call, however small
        m.setattr(qi_pairs, "_PRUNE_CELLS", 0)
        pruned = _release(df, k)
    with monkeypatch.context() as m:  # every pair costed every round
        m.setattr(qi_pairs, "_PRUNE_CELLS", 1 << 62)
        m.setattr(qi_flags, "usable", lambda ids, *_: (np.zeros(len(ids), bool), ids[:, 0]))
        plain = _release(df, k)
    pd.testing.assert_frame_equal(fast, plain)
    pd.testing.assert_frame_equal(pruned, plain)
    assert check_k_anonymity(plain, QIS, k).passed
    assert check_protected_qi(plain, QIS, FLAGS).passed
    assert len(plain) == len(df)  # every type is offered somewhere: nothing removed


def test_pruned_partners_match_dense_ones_with_their_shortlists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On one round's super-classes: the pruned search finds each one's best partner,
    and every partner its shortlist claims to be complete for, as costing all does."""
    seen: list[tuple[qi_pairs.Found, qi_pairs.Found]] = []
    real = qi_pairs.best_partners

    def both(tables, sup, a, partners):  # type: ignore[no-untyped-def]
        dense = qi_pairs._dense(tables, sup, a, partners).relabel(partners)
        pruned = qi_pairs._pruned(tables, sup, a, partners)
        seen.append((dense, pruned))
        return real(tables, sup, a, partners)

    monkeypatch.setattr(qi_flags, "best_partners", both)
    _release(population(4, 900), 3)
    assert seen and sum(len(d.best) for d, _ in seen) > 50
    for dense, pruned in seen:
        np.testing.assert_array_equal(pruned.best, dense.best)
        np.testing.assert_array_equal(pruned.cost, dense.cost)
        # what the pruned shortlist claims complete is the dense one's prefix
        for r in range(len(dense.best)):
            claim = (pruned.ids[r] >= 0) & (
                (pruned.tiers[r] == 0) & (pruned.costs[r] < pruned.thr0[r])
            )
            n = int(claim.sum())
            np.testing.assert_array_equal(pruned.ids[r][:n], dense.ids[r][:n])
