"""Protected flags that are quasi-identifiers: never certain from the other QIs.

For a protected QI flag f, every group of released rows sharing the published values
of all QIs but f holds a row where f is not TRUE. The engine meets it by widening the
QIs that are not protected flags (docs/anonymization.md); ``check_protected_qi``
verifies it independently with DuckDB.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from age_bands import AGE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctdc.anonymize import (
    anonymize,
    check_k_anonymity,
    check_protected,
    check_protected_qi,
)

QIS = ["citizenship", "age_band", "year", "forced_labour", "sexual"]
FLAGS = ["forced_labour", "sexual"]


def population(seed: int = 5, n: int = 160) -> pd.DataFrame:
    """Mixed cases, then one demographic group (VN, 9-17, 2022) all in forced labour."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "citizenship": rng.choice(["UA", "MD", "RO", "VN"], n),
            "age_band": rng.choice(["9-17", "18-25", "26-40", "41+"], n),
            "year": pd.array(rng.choice([2020, 2021, 2022], n), dtype="Int64"),
            "forced_labour": pd.array(rng.random(n) < 0.5, dtype="boolean"),
            "sexual": pd.array(rng.random(n) < 0.4, dtype="boolean"),
        }
    )
    group = pd.DataFrame(
        {
            "citizenship": ["VN"] * 12,
            "age_band": ["9-17"] * 12,
            "year": pd.array([2022] * 12, dtype="Int64"),
            "forced_labour": pd.array([True] * 12, dtype="boolean"),
            "sexual": pd.array([False] * 12, dtype="boolean"),
        }
    )
    out = pd.concat([df, group], ignore_index=True)
    out["case_id"] = np.arange(len(out), dtype=np.int64)
    return out


def test_a_demographic_group_all_in_forced_labour_is_hidden_by_its_other_qis() -> None:
    df, k = population(), 5
    plain = anonymize(df, QIS, k, hierarchies={"age_band": AGE})
    assert not check_protected_qi(plain.frame, QIS, FLAGS).passed  # k alone discloses it

    result = anonymize(df, QIS, k, hierarchies={"age_band": AGE}, protected=FLAGS)
    out, r = result.frame, result.report
    assert check_k_anonymity(out, QIS, k).passed
    verdict = check_protected_qi(out, QIS, FLAGS)
    assert verdict.passed, verdict
    assert verdict.violating_classes == {"forced_labour": 0, "sexual": 0}
    assert r.protected_columns == 2
    # hidden by the other QIs, not by suppressing the flag, and not by removing the group
    group = out[out["case_id"] >= 160]
    assert len(group) == 12
    assert group["forced_labour"].eq(True).all()
    assert r.records_suppressed < k


def test_check_protected_qi_groups_by_the_demographics() -> None:
    df = pd.DataFrame(
        {
            "q": ["a", "a", "a", "b", "b", None],
            "f": pd.array([True, True, False, True, True, True], dtype="boolean"),
            "g": pd.array([False, False, True, None, None, False], dtype="boolean"),
        }
    )
    # both flags over the demographics (q): a holds a FALSE of each; b is all TRUE on f
    # (g NA there is not TRUE); NA is all TRUE on f. Grouping f by (q, g) instead would
    # also flag (a, g=F): the other protected flags are not what an adversary knows
    verdict = check_protected_qi(df, ["q", "f", "g"], ["f", "g"])
    assert verdict.violating_classes == {"f": 2, "g": 0}
    assert verdict.violating_records == {"f": 3, "g": 0}
    assert verdict.classes == 4 and not verdict.passed


def _boolean(rng: np.random.Generator, n: int, p: float) -> pd.arrays.BooleanArray:
    values = pd.array(rng.random(n) < p, dtype="boolean")
    values[rng.random(n) < 0.05] = pd.NA
    return values


@st.composite
def frames(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str], int, list[str], list[str]]:
    """Random demographics (one with a hierarchy), 1-3 QI flags, maybe a non-QI flag."""
    n = draw(st.integers(0, 90))
    k = draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    df = pd.DataFrame(
        {
            "age_band": rng.choice(["0-8", "9-17", "18-25", "26-40", "41+"], n),
            "citizenship": pd.array(rng.choice(["UA", "MD", "VN", ""], n), dtype="string"),
        }
    )
    df.loc[df["citizenship"] == "", "citizenship"] = pd.NA
    qis = ["age_band", "citizenship"][: draw(st.integers(0, 2))]
    flags = [f"f{i}" for i in range(draw(st.integers(1, 3)))]
    for f in flags:
        df[f] = _boolean(rng, n, draw(st.sampled_from((0.3, 0.6, 0.9, 1.0))))
    plain = ["moc"] if draw(st.booleans()) else []
    for f in plain:
        df[f] = _boolean(rng, n, draw(st.sampled_from((0.5, 0.9))))
    df["row_id"] = np.arange(n, dtype=np.int64)
    return df, qis + flags, k, flags, plain


@pytest.mark.slow  # a property test: twelve anonymizations and their shuffled twins
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(drawn=frames(), seed=st.integers(0, 3))
def test_qi_flags_are_never_certain_from_the_other_qis(
    drawn: tuple[pd.DataFrame, list[str], int, list[str], list[str]], seed: int
) -> None:
    df, qis, k, flags, plain = drawn
    hier = {"age_band": AGE} if "age_band" in qis else {}
    result = anonymize(df, qis, k, hierarchies=hier, protected=flags + plain)
    out, r = result.frame, result.report
    assert check_k_anonymity(out, qis, k).passed
    if len(out):
        assert check_protected_qi(out, qis, flags).passed
        if plain:
            assert check_protected(out, qis, plain).passed
    # nothing lost from the accounting; flags published as recorded or NA, never invented
    assert r.records_in == len(df) == r.records_out + r.records_suppressed == len(df)
    assert not out["row_id"].duplicated().any() and out["row_id"].isin(df["row_id"]).all()
    before = df.set_index("row_id").loc[out["row_id"]]
    for f in flags + plain:
        now, was = out[f].astype("boolean"), before[f].astype("boolean")
        equal = now.fillna(False).to_numpy() == was.fillna(False).to_numpy()
        same = now.isna().to_numpy() | (was.notna().to_numpy() & equal)
        assert same.all(), f
    # the same release whatever the order of the rows
    shuffled = df.sample(frac=1.0, random_state=seed)
    again = anonymize(shuffled, qis, k, hierarchies=hier, protected=flags + plain).frame
    pd.testing.assert_frame_equal(
        again.sort_values("row_id").reset_index(drop=True),
        out.sort_values("row_id").reset_index(drop=True),
    )
