"""A quasi-identifier that splits no class is never suppressed (issue 13, point 8).

A column with one value in the whole input (``data_source`` when one organization is
released alone) cannot tell records apart, so suppressing it only loses. The same holds
inside one class: a class whose members all share a value below the root publishes that
value rather than NA. "Not recorded" (NA in the input) is a value of its own here, as it
is for k. The property draws random frames with a constant column (a value, or NA
throughout) and a hierarchical column whose records all share an ancestor, and checks
the promises still hold: strict k (DuckDB ``GROUP BY``), every record accounted for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctdc.anonymize import Hierarchy, anonymize, check_k_anonymity

#: ages as the CTDC schema bands them: band, wide band, age group, root
AGE_ROWS = (
    ("0-8", "0-17", "0-17", "*"),
    ("9-17", "0-17", "0-17", "*"),
    ("18-20", "18-29", "18+", "*"),
    ("21-23", "18-29", "18+", "*"),
    ("24-26", "18-29", "18+", "*"),
    ("27-29", "18-29", "18+", "*"),
    ("30-38", "30+", "18+", "*"),
    ("39-47", "30+", "18+", "*"),
    ("48+", "30+", "18+", "*"),
)
AGE = Hierarchy(AGE_ROWS)
ADULT_BANDS = tuple(r[0] for r in AGE_ROWS if r[2] == "18+")
ANCESTORS = {r[0]: r for r in AGE_ROWS}


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Mostly unique rows over five flat QIs: plenty to suppress."""
    cols = {f"q{j}": rng.choice([f"v{i}" for i in range(card)] + [None], n)
            for j, card in enumerate((9, 7, 5, 4, 3))}  # fmt: skip
    return pd.DataFrame({c: pd.array(v, dtype="string") for c, v in cols.items()})


def test_a_constant_column_is_published_as_recorded() -> None:
    frame = _frame(np.random.default_rng(3), 150)
    frame["source"] = pd.array(["Hotline"] * len(frame), dtype="string")
    frame["unrecorded"] = pd.array([None] * len(frame), dtype="string")
    qis = ["source", *[f"q{j}" for j in range(5)], "unrecorded"]

    result = anonymize(frame, qis, 10)

    report = result.report
    assert result.status is not None
    assert report.records_out == len(frame) - report.records_suppressed
    assert (result.frame["source"] == "Hotline").all()
    assert (result.status["source"] == "as_recorded").all()
    assert (result.status["unrecorded"] == "not_recorded").all()  # never "suppressed"
    assert report.cells_suppressed["source"] == report.cells_suppressed["unrecorded"] == 0
    assert report.loss_by_qi["source"] == report.loss_by_qi["unrecorded"] == 0
    assert sum(report.cells_suppressed.values()) > 0  # the others did need suppression
    assert check_k_anonymity(result.frame, qis, 10).passed


def test_a_value_and_not_recorded_is_not_constant() -> None:
    """One value plus NAs is two values for k: the engine may still suppress it (it merges
    the two); what it may not do is treat NA as the value."""
    frame = _frame(np.random.default_rng(5), 120)
    frame["source"] = pd.array(["Hotline"] * 115 + [None] * 5, dtype="string")
    result = anonymize(frame, ["source", "q0", "q1", "q2"], 10)
    assert result.status is not None
    published = result.status["source"].astype(str)
    assert set(published) <= {"as_recorded", "not_recorded", "suppressed"}
    assert check_k_anonymity(result.frame, ["source", "q0", "q1", "q2"], 10).passed


def test_adults_only_keep_their_age_group() -> None:
    """Every record is an adult: ``18+`` splits no class, so the age band goes no higher."""
    rng = np.random.default_rng(11)
    frame = _frame(rng, 150)
    frame["age_band"] = pd.array(rng.choice(ADULT_BANDS, len(frame)), dtype="string")
    qis = ["age_band", "q0", "q1", "q2", "q3"]
    result = anonymize(frame, qis, 10, hierarchies={"age_band": AGE})
    assert result.frame["age_band"].notna().all()
    assert result.report.cells_suppressed["age_band"] == 0
    assert check_k_anonymity(result.frame, qis, 10).passed


@st.composite
def constant_cases(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str], int, bool]:
    """A random frame: 1-4 flat QIs with NAs, a constant QI (a value or NA throughout) at a
    random place, and maybe an adults-only age band; k in 2..8; with protected flags or not."""
    n = draw(st.integers(0, 90))
    k = draw(st.integers(2, 8))
    cards = draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))
    data: dict[str, object] = {}
    for j, card in enumerate(cards):
        codes = draw(st.lists(st.integers(-1, card - 1), min_size=n, max_size=n))
        data[f"q{j}"] = pd.array([None if c < 0 else f"v{c}" for c in codes], dtype="string")
    frame = pd.DataFrame(data, index=pd.RangeIndex(n))
    qis = list(frame.columns)
    constant = draw(st.sampled_from(("Hotline", None)))
    frame["source"] = pd.array([constant] * n, dtype="string")
    qis.insert(draw(st.integers(0, len(qis))), "source")
    if draw(st.booleans()):
        bands = draw(st.lists(st.sampled_from(ADULT_BANDS), min_size=n, max_size=n))
        frame["age_band"] = pd.array(bands, dtype="string")
        qis.append("age_band")
    frame["row_id"] = np.arange(n)  # a payload column: which input row a released one is
    protect = draw(st.booleans())
    if protect:
        frame["flag"] = pd.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)),
                                 dtype="boolean")  # fmt: skip
    return frame, qis, k, protect


@pytest.mark.slow
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(constant_cases())
def test_property_no_cell_of_a_constant_column_is_suppressed(
    case: tuple[pd.DataFrame, list[str], int, bool],
) -> None:
    frame, qis, k, protect = case
    hierarchies = {"age_band": AGE} if "age_band" in qis else {}
    result = anonymize(frame, qis, k, hierarchies=hierarchies,
                       protected=["flag"] if protect else ())  # fmt: skip
    report, out = result.report, result.frame
    assert report.records_in == len(frame)
    assert report.records_out == len(out) == len(frame) - report.records_suppressed
    if len(frame) >= k:
        assert report.records_suppressed < k  # whole records only where nothing places them
    assert result.status is not None
    source = result.status["source"].astype(str)
    assert (source == ("as_recorded" if frame["source"].notna().any() else "not_recorded")).all()
    assert report.cells_suppressed["source"] == 0
    if "age_band" in qis:
        assert out["age_band"].notna().all()  # at worst 18+, never suppressed
    if len(out):
        assert check_k_anonymity(out, qis, k).passed
        _no_needless_suppression(frame, result.frame, result.status, qis)


def _no_needless_suppression(frame: pd.DataFrame, out: pd.DataFrame, status: pd.DataFrame,
                             qis: list[str]) -> None:  # fmt: skip
    """In no class is a QI suppressed whose members' input values are all the same (flat
    columns) or share an ancestor below the root (the age band).
    ``row_id`` says which input row a released row is."""
    published = pd.concat([out[qis].astype("string").fillna("\0"),
                           status[qis].astype(str).add_suffix("_status")], axis=1)  # fmt: skip
    classes = published.agg("\x1f".join, axis=1)  # "not recorded" and "suppressed" apart
    for q in qis:
        suppressed = (status[q].astype(str) == "suppressed").to_numpy()
        if not suppressed.any():
            continue
        source = frame[q].to_numpy(dtype=object)[out["row_id"].to_numpy()]
        if q == "age_band":
            source = np.array([ANCESTORS[v][2] for v in source], dtype=object)  # 18+
        values = pd.Series(source, dtype="string").fillna("\0")[suppressed]
        per_class = values.groupby(classes.to_numpy()[suppressed]).nunique()
        assert (per_class > 1).all(), f"{q} suppressed in a class that agrees on it"
