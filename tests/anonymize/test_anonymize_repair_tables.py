"""The repair's kept cost tables give exactly the release of costing every class in full.

:mod:`ctdc.anonymize.recode.repair_cost` keeps each unsafe class's cost tables between
costings and prices a stale class again from them (docs/benchmarks.md, the l-diversity
time goal). That is exact by argument (the module's docstring); here it is run against
the full costing (no table kept) and against a budget that holds only some classes'
tables, on random populations where many classes lack a witness: a skewed sensitive
column under l = 2 or 3, or protected flags that are mostly TRUE.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from age_bands import AGE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctdc.anonymize import Hierarchy, anonymize, check_k_anonymity

# the package exports the function `repair` under the submodule's name
repair_cost = importlib.import_module("ctdc.anonymize.recode.repair_cost")

YEAR = Hierarchy(tuple((str(y), f"{y - y % 4}-{y - y % 4 + 3}", "*") for y in range(2008, 2024)))
HIER = {"age_band": AGE, "year": YEAR}


def population(seed: int, n: int, protected: bool) -> pd.DataFrame:
    """Demographics with two hierarchies and two flat columns, a sensitive column that is
    mostly one value, and two flags TRUE for most records."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age_band": rng.choice(["0-8", "9-17", "18-25", "26-40", "41+"], n),
            "year": rng.choice([str(y) for y in range(2008, 2024)], n),
            "gender": pd.array(rng.choice(["f", "m", "x", ""], n, p=[0.5, 0.4, 0.05, 0.05])),
            "source": rng.choice(["hotline", "ngo", "registry", "police"], n),
            "outcome": rng.choice(["a", "b", "c"], n, p=[0.85, 0.1, 0.05]),
        }
    )
    df.loc[df["gender"] == "", "gender"] = pd.NA
    df.loc[:2, "outcome"] = ["a", "b", "c"]  # every outcome present: l = 3 is possible
    if protected:
        for flag in ("debt", "threats"):
            df[flag] = pd.array(rng.random(n) < 0.85, dtype="boolean")
    return df


def _release(df: pd.DataFrame, k: int, rule: str) -> pd.DataFrame:
    """Under protected flags, or l-diversity over the outcome: l = 3 leaves classes that
    lack two outcomes, which no single steal or merge may fix, only help."""
    qis = ["age_band", "year", "gender", "source"]
    if rule == "flags":
        result = anonymize(df, qis, k, hierarchies=HIER, protected=["debt", "threats"])
    else:
        result = anonymize(df, qis, k, hierarchies=HIER, sensitive=["outcome"], l=int(rule[1]))
    return result.frame


def _both_ways(
    df: pd.DataFrame, k: int, rule: str, short: bool = False
) -> tuple[pd.DataFrame, int]:
    """The release with tables kept, checked against the full costing (and against a budget
    that holds only the first few classes' tables); and how many costings read tables."""
    read = 0
    real = repair_cost._from_tables

    def counted(*args):  # type: ignore[no-untyped-def]
        nonlocal read
        read += 1
        return real(*args)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(repair_cost, "_from_tables", counted)
        kept = _release(df, k, rule)
    with pytest.MonkeyPatch.context() as m:  # every class costed in full, every time
        m.setattr(repair_cost, "_TABLE_CELLS", 0)
        plain = _release(df, k, rule)
    pd.testing.assert_frame_equal(kept, plain)
    if short:
        with pytest.MonkeyPatch.context() as m:
            m.setattr(repair_cost, "_TABLE_CELLS", 6_000)
            pd.testing.assert_frame_equal(_release(df, k, rule), plain)
    return kept, read


@pytest.mark.slow
@settings(max_examples=6, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(20, 160),
    k=st.integers(2, 6),
    rule=st.sampled_from(["l2", "l3", "flags"]),
)
def test_kept_tables_give_the_release_of_the_full_costing(
    seed: int, n: int, k: int, rule: str
) -> None:
    df = population(seed, n, protected=rule == "flags")
    kept, _ = _both_ways(df, k, rule)
    qis = ["age_band", "year", "gender", "source"]
    assert check_k_anonymity(kept, qis, k).passed


def test_the_tables_are_read_and_a_short_budget_changes_nothing() -> None:
    """Stale classes are costed again from their tables (so the test above tests them),
    and classes past the budget are costed in full beside them."""
    df = population(7, 300, protected=False)
    kept, read = _both_ways(df, 3, "l2", short=True)
    assert read > 0
    assert len(kept) == len(df)


def test_nothing_to_repair() -> None:
    """Every class already holds both outcomes: the repair has no class to cost."""
    df = population(3, 40, protected=False)
    df["outcome"] = np.where(np.arange(40) % 2 == 0, "a", "b")
    df["age_band"], df["year"], df["source"] = "18-25", "2015", "ngo"
    df["gender"] = pd.array(["f"] * 40)
    kept, read = _both_ways(df, 4, "l2")
    assert read == 0
    pd.testing.assert_frame_equal(kept, df)
