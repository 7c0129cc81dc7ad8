"""Worked examples of the anonymizer with generalization hierarchies, pinned levels and l.

Each example is small enough to solve by hand: the tests assert the exact
released frame and the exact Loss Metric (Iyengar: a published value costs
(leaves covered - 1) / (leaves in the domain - 1), a suppressed cell 1, every
cell of a removed record 1, an input NA 0; LM is the mean over all QI cells of
all input records). The property tests (``test_anonymize_properties.py``)
cover random cases; these pin the behaviour a reader can check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctdc.anonymize import Hierarchy, anonymize, check_k_anonymity
from ctdc.anonymize.hierarchy import WITHHELD_NOT_RECORDED


def band(age: int, width: int) -> str:
    low = age // width * width
    return f"{low}-{low + width - 1}"


#: ages 20..39 -> 5-year bands -> 10-year bands -> *: 20 leaves, Adult-style
AGE = Hierarchy(tuple((str(a), band(a, 5), band(a, 10), "*") for a in range(20, 40)))
AGE_LEAVES = 20


def frame(**columns: tuple[list[object], str]) -> pd.DataFrame:
    return pd.DataFrame(
        {name: pd.array(values, dtype=dtype) for name, (values, dtype) in columns.items()}
    )


def strings(*values: object) -> pd.arrays.StringArray:
    return pd.array(list(values), dtype="string")


def assert_k_anonymous(df: pd.DataFrame, qis: list[str], k: int) -> None:
    if len(df):
        assert df.groupby(qis, dropna=False).size().min() >= k
    assert check_k_anonymity(df, qis, k).passed


# --------------------------------------------------------------------------------------
# generalizing instead of suppressing


def adult_toy() -> pd.DataFrame:
    # Ten distinct ages, five per 5-year band and sex, and five records aged 30.
    ages = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 30, 30, 30, 30]
    sexes = list("FFFFFMMMMMFFFFF")
    df = frame(age=(ages, "Int16"), sex=(sexes, "string"))
    df["case"] = np.arange(len(df), dtype=np.int64)
    return df


def test_one_level_up_saves_every_record_and_every_cell() -> None:
    # k=5: each exact age 20..29 is unique, but its 5-year band holds 5 records of one sex.
    # One level up saves everything; the records aged 30 are a class of 5 already and keep
    # their leaf (local recoding). Suppressing the ages instead would cost 1 per cell.
    df = adult_toy()
    result = anonymize(df, ["age", "sex"], 5, hierarchies={"age": AGE})

    expected = df.copy()
    expected["age"] = strings(*["20-24"] * 5, *["25-29"] * 5, *["30"] * 5)
    pd.testing.assert_frame_equal(result.frame, expected)
    r = result.report
    assert (r.records_out, r.records_suppressed, r.cells_suppressed_total) == (15, 0, 0)
    assert r.cells_generalized == {"age": 10, "sex": 0}
    assert r.levels == {"age": {"0": 5, "1": 10}, "sex": {"0": 15}}
    # 10 age cells cover 5 of the 20 leaves each; 20 sex cells and 5 age cells are leaves
    assert r.loss_metric == round(10 * (5 - 1) / (AGE_LEAVES - 1) / 30, 6)
    assert r.loss_by_qi == {"age": round(10 * 4 / 19 / 15, 6), "sex": 0.0}
    assert r.risk_after["max_prosecutor_risk"] == 0.2
    assert r.risk_before["sample_uniques"] == 10
    assert_k_anonymous(result.frame, ["age", "sex"], 5)


def test_without_the_hierarchy_the_same_frame_can_only_suppress() -> None:
    df = adult_toy()
    result = anonymize(df, ["age", "sex"], 5)

    expected = df.copy()
    expected.loc[:9, "age"] = pd.NA
    pd.testing.assert_frame_equal(result.frame, expected)  # the dtype stays Int16
    assert result.report.cells_suppressed == {"age": 10, "sex": 0}
    assert result.report.loss_metric == round(10 / 30, 6)  # worse than 0.070175 above


def test_hierarchy_read_from_an_arx_csv(tmp_path: Path) -> None:
    # ARX's form: no header, one row per leaf; blank lines and padding are ignored.
    path = tmp_path / "age.csv"
    lines = [";".join(row) for row in AGE.rows]
    path.write_text(" " + lines[0] + " \n\n" + "\n".join(lines[1:]) + "\n\n", encoding="utf-8")
    assert Hierarchy.from_csv(path) == AGE
    result = anonymize(
        adult_toy(), ["age", "sex"], 5, hierarchies={"age": Hierarchy.from_csv(path)}
    )
    assert result.report.cells_generalized == {"age": 10, "sex": 0}


def test_a_generalized_integer_column_becomes_text_and_a_kept_one_keeps_its_dtype() -> None:
    df = adult_toy()
    safe = pd.concat([df] * 5, ignore_index=True)  # every exact age now occurs 5 times
    result = anonymize(safe, ["age", "sex"], 5, hierarchies={"age": AGE})
    pd.testing.assert_frame_equal(result.frame, safe)
    assert result.report.loss_metric == 0.0
    generalized = anonymize(df, ["age", "sex"], 5, hierarchies={"age": AGE}).frame
    assert generalized["age"].dtype == "string"


# --------------------------------------------------------------------------------------
# pinned levels (what CTDC publishes: one fixed level, or suppression)


def test_a_pinned_level_publishes_every_value_at_that_level() -> None:
    # Pinned at the 5-year bands: the records aged 30, safe as leaves, are banded too.
    df = adult_toy()
    result = anonymize(df, ["age", "sex"], 5, hierarchies={"age": AGE}, levels={"age": 1})

    expected = df.copy()
    expected["age"] = strings(*["20-24"] * 5, *["25-29"] * 5, *["30-34"] * 5)
    pd.testing.assert_frame_equal(result.frame, expected)
    assert result.report.levels["age"] == {"1": 15}
    assert result.report.loss_metric == round(15 * 4 / 19 / 30, 6)


def test_a_pinned_level_can_only_fall_back_to_suppression() -> None:
    # Pinned at the 5-year bands, (25-29, M) has 5 records but (20-24, F) only 4 and the
    # fifth F is aged 30: the level-2 band 20-29 is not allowed, so the four lose their age
    # and join the fifth.
    ages = [20, 21, 22, 23, 25, 26, 27, 28, 29, 30]
    df = frame(age=(ages, "Int16"), sex=(list("FFFFMMMMMF"), "string"))
    result = anonymize(df, ["age", "sex"], 5, hierarchies={"age": AGE}, levels={"age": 1})

    expected = df.copy()
    expected["age"] = strings(None, None, None, None, *["25-29"] * 5, None)
    pd.testing.assert_frame_equal(result.frame, expected)
    assert result.report.levels["age"] == {"1": 5, "3": 5}
    assert result.report.cells_suppressed == {"age": 5, "sex": 0}


@pytest.mark.parametrize(
    ("level", "published"),
    [(0, ["20", "20"]), (2, ["20-29", "20-29"]), (3, [None, None])],
)
def test_pinned_leaf_wide_band_and_root(level: int, published: list[str | None]) -> None:
    df = frame(age=([20, 20], "Int16"))
    result = anonymize(df, ["age"], 2, hierarchies={"age": AGE}, levels={"age": level})
    assert [None if pd.isna(v) else str(v) for v in result.frame["age"]] == published
    assert result.report.levels == {"age": {str(level): 2}}


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ({"age": 4}, r"level 4 of 'age' is outside 0\.\.3"),
        ({"age": -1}, r"level -1 of 'age' is outside 0\.\.3"),
        ({"age": "1"}, r"level of 'age' must be an integer, got '1'"),
        ({"age": True}, r"level of 'age' must be an integer"),
        ({"sex": 2}, r"level 2 of 'sex' is outside 0\.\.1"),
        ({"case": 0}, r"hierarchies/levels name columns that are not QIs: \['case'\]"),
    ],
)
def test_bad_pinned_levels_are_refused(levels: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        anonymize(adult_toy(), ["age", "sex"], 5, hierarchies={"age": AGE}, levels=levels)


# --------------------------------------------------------------------------------------
# l-diversity


def test_l_diversity_forces_a_merge_the_k_alone_would_not() -> None:
    # k=2 holds as is, but the classes of age 20 and of age 21 each know one diagnosis.
    # With l=2 they merge into their 5-year band; the class aged 30 knows two and stays.
    df = frame(age=([20, 20, 21, 21, 30, 30], "Int16"), dx=(list("AABBAB"), "string"))
    plain = anonymize(df, ["age"], 2, hierarchies={"age": AGE}, sensitive=["dx"])
    pd.testing.assert_frame_equal(plain.frame, df)

    result = anonymize(df, ["age"], 2, hierarchies={"age": AGE}, sensitive=["dx"], l=2)
    expected = df.copy()
    expected["age"] = strings("20-24", "20-24", "20-24", "20-24", "30", "30")
    pd.testing.assert_frame_equal(result.frame, expected)
    assert result.frame.groupby("age")["dx"].nunique().min() == 2
    assert result.report.l == 2
    assert result.report.loss_metric == round(4 * 4 / 19 / 6, 6)


def test_l_diversity_ignores_missing_sensitive_values() -> None:
    # (20: A, NA) knows one diagnosis only: NA is not a second one, so it cannot be released
    # as a class of its own.
    df = frame(age=([20, 20, 21, 21], "Int16"), dx=(["A", None, "B", "C"], "string"))
    result = anonymize(df, ["age"], 2, hierarchies={"age": AGE}, sensitive=["dx"], l=2)
    out = result.frame
    assert "20" not in set(out["age"].astype("string").dropna())
    assert out.groupby("age", dropna=False)["dx"].nunique().min() >= 2


def test_l_diversity_merges_rather_than_removing_k_records() -> None:
    df = frame(age=([20, 20, 21, 21], "Int16"), dx=(["A", None, "B", "C"], "string"))
    result = anonymize(df, ["age"], 2, hierarchies={"age": AGE}, sensitive=["dx"], l=2)
    assert result.report.records_suppressed < 2, result.frame
    assert result.frame["age"].tolist() == ["20-24"] * 4


def test_l_diversity_suppresses_down_to_one_diverse_class() -> None:
    # Three records, one diagnosis between two of them, k=2, l=2: the pair needs the third
    # record's diagnosis, and 20 and 35 only meet at the root: every age is suppressed.
    df = frame(age=([20, 20, 35], "Int16"), dx=(["A", "A", "B"], "string"))
    result = anonymize(df, ["age"], 2, hierarchies={"age": AGE}, sensitive=["dx"], l=2)
    assert result.frame["age"].isna().all() and len(result.frame) == 3
    assert result.report.records_suppressed == 0


@pytest.mark.parametrize(
    ("sensitive", "l", "message"),
    [
        ([], 2, "l-diversity needs at least one sensitive column"),
        (["dx"], 3, "sensitive column 'dx' has 2 distinct known values: no class can be 3-diverse"),
        (["dx"], 0, "l must be an integer >= 1, got 0"),
        (["nope"], 2, "sensitive column 'nope' is not a column of the frame"),
        (["age"], 2, "'age' cannot be both a quasi-identifier and sensitive"),
    ],
)
def test_impossible_l_is_refused(sensitive: list[str], l: int, message: str) -> None:  # noqa: E741
    df = frame(age=([20, 20, 21, 21], "Int16"), dx=(["A", None, "B", "A"], "string"))
    with pytest.raises(ValueError, match=message):
        anonymize(df, ["age"], 2, hierarchies={"age": AGE}, sensitive=sensitive, l=l)


def test_l_of_one_still_needs_one_known_sensitive_value_per_class() -> None:
    df = frame(q=(["a", "a", "b", "b"], "string"), s=(["x", None, None, None], "string"))
    result = anonymize(df, ["q"], 2, sensitive=["s"], l=1)
    known = result.frame.groupby("q", dropna=False)["s"].nunique()
    assert known.min() >= 1, result.frame


# --------------------------------------------------------------------------------------
# Hierarchy validation


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ((), "a hierarchy needs at least one leaf row"),
        (
            (("a", "*"), ("b", "x", "*")),
            r"hierarchy rows have different numbers of levels: \[2, 3\]",
        ),
        ((("a",), ("b",)), r"a hierarchy needs at least two levels \(leaf and root\)"),
        (
            (("a", "p", "*"), ("b", "p", "*"), ("a", "q", "*")),
            r"hierarchy lists leaves twice: \['a'\]",
        ),
        ((("a", "*"), ("b", "+")), "hierarchy has more than one root value in its last column"),
        (
            (("a", "p", "g", "*"), ("b", "p", "h", "*")),
            "hierarchy is not a tree: 'p' at level 1 has the parents 'g' and 'h'",
        ),
    ],
)
def test_hierarchy_validation(rows: tuple[tuple[str, ...], ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Hierarchy(rows)


def test_ragged_arx_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("20;20-24;*\n21;*\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"different numbers of levels: \[2, 3\]"):
        Hierarchy.from_csv(path)


def test_flat_hierarchy_is_leaf_then_root() -> None:
    flat = Hierarchy.flat([1, "b"])
    assert flat.rows == (("1", "*"), ("b", "*"))
    assert (flat.height, flat.leaves) == (2, ("1", "b"))


def test_values_outside_the_hierarchy_are_refused_by_column_and_value() -> None:
    df = frame(age=([20, 99, 18, 20, None], "Int16"), sex=(list("FFFFF"), "string"))
    with pytest.raises(ValueError) as info:
        anonymize(df, ["age", "sex"], 2, hierarchies={"age": AGE})
    assert (
        str(info.value)
        == "column 'age' has values that are not leaves of its hierarchy: ['18', '99']"
    )


def test_text_values_outside_the_hierarchy_are_refused() -> None:
    country = Hierarchy(
        (("ES", "Southern Europe", "Europe", "*"), ("NA", "Southern Africa", "Africa", "*"))
    )
    df = frame(country=(["ES", "NA", "Namibia", None], "string"))  # "NA" is a leaf, not missing
    with pytest.raises(ValueError, match=r"column 'country' has values .*: \['Namibia'\]"):
        anonymize(df, ["country"], 2, hierarchies={"country": country})


# --------------------------------------------------------------------------------------
# the Loss Metric, by hand


def lm_frame() -> pd.DataFrame:
    # r0-r3: four ages of one 5-year band, F; r4, r5: 30 and 35, M; r6: age unknown, M;
    # r7: 25, the only X.
    ages = [20, 21, 22, 23, 30, 35, None, 25]
    return frame(age=(ages, "Int16"), sex=(list("FFFFMMMX"), "string"))


def test_loss_metric_by_hand_with_a_pinned_level() -> None:
    # Pinned at 5-year bands, k=2: r0-r3 -> (20-24, F); r4, r5 lose the age and so does r6
    # (not recorded and suppressed are distinct for k; withholding r6's "not recorded"
    # costs WITHHELD_NOT_RECORDED): (NA, M); r7 is alone whatever is suppressed, and no
    # class (NA, NA) exists: removed.
    result = anonymize(lm_frame(), ["age", "sex"], 2, hierarchies={"age": AGE}, levels={"age": 1})
    assert result.frame["age"].tolist() == ["20-24"] * 4 + [pd.NA] * 3
    assert result.frame["sex"].tolist() == list("FFFFMMM")
    band = (5 - 1) / (AGE_LEAVES - 1)
    age = 4 * band + 2 * 1 + WITHHELD_NOT_RECORDED + 1  # bands, suppressed, NA withheld, removed
    sex = 7 * 0 + 1  # the removed record's cell
    r = result.report
    assert (r.records_suppressed, r.cells_suppressed) == (1, {"age": 2, "sex": 0})
    assert r.loss_by_qi == {"age": round(age / 8, 6), "sex": round(sex / 8, 6)}
    assert r.loss_metric == round((age + sex) / 16, 6) == 0.308882


def test_loss_metric_by_hand_with_local_recoding() -> None:
    # Free levels: r4, r5 share the 10-year band 30-39 (9/19 each instead of 1); r6 and r7
    # lose everything and form the class (NA, NA) of two: no record is removed. r6's age
    # was not recorded; withholding that (status suppressed, as r7's) costs a tenth.
    result = anonymize(lm_frame(), ["age", "sex"], 2, hierarchies={"age": AGE})
    assert result.frame["age"].tolist() == ["20-24"] * 4 + ["30-39"] * 2 + [pd.NA] * 2
    assert result.frame["sex"].tolist() == list("FFFFMM") + [pd.NA] * 2
    age = 4 * 4 / 19 + 2 * 9 / 19 + WITHHELD_NOT_RECORDED + 1
    sex = 2.0
    r = result.report
    assert r.records_suppressed == 0
    assert r.cells_suppressed == {"age": 1, "sex": 2}
    assert r.loss_by_qi == {"age": round(age / 8, 6), "sex": round(sex / 8, 6)}
    assert r.loss_metric == round((age + sex) / 16, 6) == 0.305592
    assert_k_anonymous(result.frame, ["age", "sex"], 2)


def test_a_removed_record_costs_one_per_cell_even_where_it_was_missing() -> None:
    df = frame(age=([20, 20, None], "Int16"), sex=(["F", "F", "M"], "string"))
    result = anonymize(df, ["age", "sex"], 2, hierarchies={"age": AGE})
    assert result.report.records_suppressed == 1
    assert result.report.loss_metric == round(2 / 6, 6)


# --------------------------------------------------------------------------------------
# regressions found by the property tests


def test_k_anonymous_input_is_not_relabelled_by_a_free_generalization() -> None:
    # `z` has one leaf whose parent "L" covers that leaf only: publishing "L" costs 0 in LM,
    # so it ties with the leaf. The input is 2-anonymous already and must come back as is.
    # Engine a070568 published "L" everywhere: the sweep's batch score (0.3400000000000001)
    # and its re-evaluation (0.34) of the bottom node differed in the last bit, so the
    # stale-entry check re-queued the bottom node and the tied node z=1 won.
    rows = [(False, 0, 0, 0)] * 10 + [
        (False, 0, 0, None),
        (False, 0, 1, 0),
        (False, 0, 1, None),
        (False, 0, None, 0),
        (False, 1, 0, 0),
        (False, None, 0, 0),
        (None, 0, 0, 0),
    ]
    df = pd.DataFrame(rows * 2, columns=["b", "x", "y", "z"]).astype(
        {"b": "boolean", "x": "Int16", "y": "Int16", "z": "Int16"}
    )
    hierarchies = {
        "x": Hierarchy.flat(["0", "1"]),
        "y": Hierarchy.flat(["0", "1", "2", "3", "4"]),
        "z": Hierarchy((("0", "L", "*"),)),
    }
    result = anonymize(df, ["b", "x", "y", "z"], 2, hierarchies=hierarchies)
    pd.testing.assert_frame_equal(result.frame, df)
    assert result.report.levels["z"] == {"0": 34}
