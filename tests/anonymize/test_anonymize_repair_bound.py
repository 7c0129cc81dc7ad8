"""Pricing a stale class only against what changed gives exactly the release of pricing it
against everything.

:mod:`ctdc.anonymize.recode.repair_bound` lists, at each costing of a class, its options
that fit below a threshold, and a later costing of the same class prices only the
columns that changed since, the list bounding the rest (docs/benchmarks.md, the
l-diversity time goal). That is exact by argument (the module's docstring); here it is
run against the unbounded path (no list: every stale class costed in full) on the
random populations of the kept-tables test, with the default list and with lists so
short that the threshold often cannot decide (then the class is costed in full).
"""

from __future__ import annotations

import importlib

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_anonymize_repair_tables import _release, population

from ctdc.anonymize import check_k_anonymity

repair_bound = importlib.import_module("ctdc.anonymize.recode.repair_bound")


def _bounded_and_plain(
    df: pd.DataFrame, k: int, rule: str, listed: int, sample: int = 256
) -> tuple[pd.DataFrame, int, int]:
    """The release with lists of about ``listed`` options (their threshold drawn from
    ``sample`` columns), checked against the unbounded path; how many stale classes the
    lists decided and how many they left to the full costing."""
    seen = {"decided": 0, "undecided": 0}
    real = repair_bound.decide

    def counted(*args):  # type: ignore[no-untyped-def]
        out = real(*args)
        seen["decided"] += sum(o is not None for o in out)
        seen["undecided"] += sum(o is None for o in out)
        return out

    with pytest.MonkeyPatch.context() as m:
        m.setattr(repair_bound, "_LIST", listed)
        m.setattr(repair_bound, "_SAMPLE", sample)
        m.setattr(repair_bound, "decide", counted)
        bounded = _release(df, k, rule)
    with pytest.MonkeyPatch.context() as m:  # no lists: every stale class in full
        m.setattr(repair_bound, "_LIST", 0)
        plain = _release(df, k, rule)
    pd.testing.assert_frame_equal(bounded, plain)
    return bounded, seen["decided"], seen["undecided"]


@pytest.mark.slow
@settings(max_examples=10, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(20, 300),
    k=st.integers(2, 6),
    rule=st.sampled_from(["l2", "l3", "flags"]),
    listed=st.sampled_from([1, 3, 24]),
    sample=st.sampled_from([8, 256]),
)
def test_the_bounded_costing_gives_the_release_of_the_full_one(
    seed: int, n: int, k: int, rule: str, listed: int, sample: int
) -> None:
    df = population(seed, n, protected=rule == "flags")
    bounded, _, _ = _bounded_and_plain(df, k, rule, listed, sample)
    assert check_k_anonymity(bounded, ["age_band", "year", "gender", "source"], k).passed


@pytest.mark.slow  # 1.3-2.3 s each: the fast tier stays under a minute on a cold machine
@pytest.mark.parametrize("rule", ["l2", "l3", "flags"])
def test_the_lists_decide_and_short_lists_fall_back(rule: str) -> None:
    """Stale classes are decided by their lists (so the test above tests them), and with
    one listed option the threshold often cannot decide: those are costed in full."""
    df = population(11, 600, protected=rule == "flags")
    _, decided, _ = _bounded_and_plain(df, 3, rule, 24)
    assert decided > 0
    _, _, undecided = _bounded_and_plain(df, 3, rule, 1)
    assert undecided > 0
    _, decided, _ = _bounded_and_plain(df, 3, rule, 24, sample=8)  # a threshold from few
    assert decided > 0
