"""Unit tests of the k-anonymity engine and its independent check, on planted data.

Each planted frame has an output that can be worked out by hand; the tests
assert on values, not just on shapes. Every released frame is also written to
Parquet and checked with DuckDB (``check_k_anonymity``) as the release gate does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ctdc.anonymize import (
    AnonymizationReport,
    KCheck,
    Tuning,
    anonymize,
    check_k_anonymity,
)

# --------------------------------------------------------------------------------------
# helpers


def rows(*records: tuple, columns: tuple[str, ...]) -> list[dict]:
    return [dict(zip(columns, r, strict=True)) for r in records]


def frame_of(records: list[tuple], **dtypes: str) -> pd.DataFrame:
    """A frame from tuples; column names and dtypes from the keyword arguments, in order."""
    columns = list(dtypes)
    df = pd.DataFrame.from_records(records, columns=columns)
    return df.astype(dtypes)


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
    return path


def assert_released_k_anonymous(df: pd.DataFrame, qis: list[str], k: int, tmp_path: Path) -> None:
    """The release gate: pandas says so, and DuckDB says so on a real Parquet file."""
    if len(df):
        assert df.groupby(qis, dropna=False).size().min() >= k
    check = check_k_anonymity(write_parquet(df, tmp_path / "released.parquet"), qis, k)
    assert check.passed, check


def skewed_frame(n: int, seed: int) -> pd.DataFrame:
    """A CTDC-like frame: long-tailed countries, a band, a year, flags with gaps, an org."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, 41) ** 1.3
    countries = np.array([f"C{i:02d}" for i in range(40)] + ["NA"])  # "NA" is Namibia
    cit = rng.choice(40, size=n, p=p / p.sum())
    cit[rng.random(n) < 0.02] = 40
    df = pd.DataFrame(
        {
            "year": pd.array(rng.integers(2015, 2026, size=n), dtype="Int16"),
            "source": pd.array(rng.choice(["Hotline", "Case Management"], size=n), dtype="string"),
            "age_band": pd.array(
                rng.choice(["0-8", "9-17", "18-20", "21-23", "24-26", "27-29", "30-38"], size=n),
                dtype="string",
            ),
            "citizenship": pd.array(countries[cit], dtype="string"),
            "is_forced_labour": pd.array(rng.random(n) < 0.4, dtype="boolean"),
            "is_sexual_exploit": pd.array(rng.random(n) < 0.5, dtype="boolean"),
            "org": rng.choice(["org-a", "org-b", "org-c"], size=n),
            "case_id": np.arange(n, dtype=np.int64),
            "note": [f"payload {i}" for i in range(n)],
        }
    )
    df.loc[rng.random(n) < 0.1, "citizenship"] = pd.NA
    df.loc[rng.random(n) < 0.05, "is_forced_labour"] = pd.NA
    df.loc[rng.random(n) < 0.08, "age_band"] = pd.NA
    return df


SKEWED_QIS = ["year", "source", "age_band", "citizenship", "is_forced_labour", "is_sexual_exploit"]


# --------------------------------------------------------------------------------------
# planted outcomes


def test_unique_record_with_nowhere_to_hide_is_removed(tmp_path: Path) -> None:
    # 12 identical records and one that differs in `country`. With NA a value of its own,
    # suppressing any of its cells leaves it alone in its class: it must be removed, and the
    # 12 others are released untouched.
    records = [("F", "ES", 2020, i) for i in range(12)] + [("F", "CO", 2020, 12)]
    df = frame_of(records, gender="string", country="string", year="Int16", case_id="int64")
    result = anonymize(df, ["gender", "country", "year"], 10)

    expected = df.iloc[:12].reset_index(drop=True)
    pd.testing.assert_frame_equal(result.frame, expected)
    r = result.report
    assert (r.records_in, r.records_out, r.records_suppressed) == (13, 12, 1)
    assert r.cells_suppressed == {"gender": 0, "country": 0, "year": 0}
    assert (r.classes, r.min_class_size) == (1, 12)
    assert_released_k_anonymous(result.frame, ["gender", "country", "year"], 10, tmp_path)


def test_unique_record_loses_exactly_the_distinguishing_cell(tmp_path: Path) -> None:
    # 12 x (F, ES, 2020), 9 x (F, <NA>, 2020), 1 x (F, CO, 2020). "Not recorded" and
    # "suppressed" are distinct values for k (both NA in the frame): suppressing CO alone
    # would leave a class of 1 suppressed and one of 9 not recorded, so the 9 are
    # suppressed with it. The frame is the same as when NA merged both; the status tells.
    records = (
        [("F", "ES", 2020, i) for i in range(12)]
        + [("F", None, 2020, 12 + i) for i in range(9)]
        + [("F", "CO", 2020, 21)]
    )
    df = frame_of(records, gender="string", country="string", year="Int16", case_id="int64")
    result = anonymize(df, ["gender", "country", "year"], 10)

    expected = df.copy()
    expected.loc[21, "country"] = pd.NA
    pd.testing.assert_frame_equal(result.frame, expected)
    r = result.report
    assert (r.records_out, r.records_suppressed) == (22, 0)
    assert r.cells_suppressed == {"gender": 0, "country": 1, "year": 0}  # values lost
    assert (r.classes, r.min_class_size) == (2, 10)
    assert result.status is not None
    assert result.status["country"].value_counts().to_dict() == {
        "as_recorded": 12,
        "suppressed": 10,
        "generalized": 0,
        "not_recorded": 0,
    }
    assert_released_k_anonymous(result.frame, ["gender", "country", "year"], 10, tmp_path)


def test_suppresses_the_column_that_merges_the_small_classes(tmp_path: Path) -> None:
    # (a,x) x10, (b,y) x10, (a,z) x5, (b,z) x5, k=10: suppressing the first column of the two
    # small classes merges them into (<NA>, z) x10; suppressing the second would not help.
    records = [("a", "x")] * 10 + [("b", "y")] * 10 + [("a", "z")] * 5 + [("b", "z")] * 5
    df = frame_of(records, c1="string", c2="string")
    df["payload"] = np.arange(len(df))
    result = anonymize(df, ["c1", "c2"], 10)

    expected = df.copy()
    expected.loc[20:, "c1"] = pd.NA
    pd.testing.assert_frame_equal(result.frame, expected)
    assert result.report.cells_suppressed == {"c1": 10, "c2": 0}
    assert result.report.records_suppressed == 0
    assert_released_k_anonymous(result.frame, ["c1", "c2"], 10, tmp_path)


def test_two_cells_when_one_is_not_enough(tmp_path: Path) -> None:
    # Each of the 6 small records differs from the big classes in both columns: only
    # suppressing both (escalation, then rescue) gathers them into one class of 6 >= k=5.
    records = [("a", "x")] * 5 + [("b", "y")] * 5 + [(f"u{i}", f"v{i}") for i in range(6)]
    df = frame_of(records, c1="string", c2="string")
    result = anonymize(df, ["c1", "c2"], 5)

    expected = df.copy()
    expected.loc[10:, ["c1", "c2"]] = pd.NA
    pd.testing.assert_frame_equal(result.frame, expected)
    assert result.report.cells_suppressed == {"c1": 6, "c2": 6}
    assert result.report.records_suppressed == 0
    assert_released_k_anonymous(result.frame, ["c1", "c2"], 5, tmp_path)


def test_each_class_keeps_the_cells_it_can_keep() -> None:
    # k=2. r1, r2 = (a, p, 1), (a, q, 2) can pair up as (a, <NA>, <NA>); r3, r4 = (b, s, 3),
    # (c, s, 4) as (<NA>, s, <NA>): local recoding lets each pair choose its own cells,
    # where one global choice would blank c1 (or c2) in all four.
    records = [("a", "p", 1), ("a", "q", 2), ("b", "s", 3), ("c", "s", 4)]
    df = frame_of(records, c1="string", c2="string", c3="Int16")
    result = anonymize(df, ["c1", "c2", "c3"], 2)

    expected = frame_of(
        [("a", None, None), ("a", None, None), (None, "s", None), (None, "s", None)],
        c1="string",
        c2="string",
        c3="Int16",
    )
    pd.testing.assert_frame_equal(result.frame, expected)
    assert result.report.cells_suppressed == {"c1": 2, "c2": 2, "c3": 4}


def test_na_is_a_value_of_its_own_not_a_wildcard(tmp_path: Path) -> None:
    # Read as a wildcard, (ES, <NA>) would hide in the (ES, 2020) class of 10 and this input
    # would pass k=10. Under the strict semantics it is a class of one.
    records = [("ES", 2020)] * 10 + [("ES", None)]
    df = frame_of(records, country="string", year="Int16")
    raw = check_k_anonymity(write_parquet(df, tmp_path / "raw.parquet"), ["country", "year"], 10)
    assert raw == KCheck(
        k=10, passed=False, classes=2, min_class_size=1, violating_classes=1, violating_records=1
    )

    result = anonymize(df, ["country", "year"], 10)
    pd.testing.assert_frame_equal(result.frame, df.iloc[:10].reset_index(drop=True))
    assert result.report.records_suppressed == 1
    assert_released_k_anonymous(result.frame, ["country", "year"], 10, tmp_path)


def test_not_recorded_and_suppressed_are_distinct_values_for_k() -> None:
    # 4 records missing `country` + 1 whose rare country is suppressed: both are NULL in
    # the frame, but a release that says which is which would show classes of 4 and 1.
    # So k counts them apart: the 4 are suppressed too (their "not recorded" is withheld).
    records = [("ES", "F")] * 5 + [(None, "F")] * 4 + [("TD", "F")]
    df = frame_of(records, country="string", gender="string")
    result = anonymize(df, ["country", "gender"], 5)
    assert result.frame["country"].isna().sum() == 5
    assert result.report.cells_suppressed == {"country": 1, "gender": 0}  # values lost
    assert result.report.records_suppressed == 0
    assert result.status is not None
    assert result.status["country"].tolist() == ["as_recorded"] * 5 + ["suppressed"] * 5


def test_not_recorded_stays_not_recorded_when_k_allows() -> None:
    records = [("ES", "F")] * 5 + [(None, "F")] * 5 + [("TD", "F")] * 5
    df = frame_of(records, country="string", gender="string")
    result = anonymize(df, ["country", "gender"], 5)
    assert result.status is not None
    assert result.status["country"].tolist() == (["as_recorded"] * 5 + ["not_recorded"] * 5
                                                  + ["as_recorded"] * 5)  # fmt: skip
    assert result.report.cells_suppressed == {"country": 0, "gender": 0}


def test_already_k_anonymous_input_is_released_unchanged() -> None:
    df = skewed_frame(300, seed=1)
    df = pd.concat([df] * 4, ignore_index=True)  # every class now has >= 4 records
    result = anonymize(df, SKEWED_QIS, 4)
    pd.testing.assert_frame_equal(result.frame, df)
    assert result.report.records_suppressed == 0
    assert sum(result.report.cells_suppressed.values()) == 0


# --------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize("k", [1, 0, -3])
def test_k_below_two_is_refused(k: int) -> None:
    df = frame_of([("a",)] * 3, c="string")
    with pytest.raises(ValueError, match="k must be >= 2"):
        anonymize(df, ["c"], k)


@pytest.mark.parametrize("k", [2.5, "10", True, None])
def test_k_must_be_an_integer(k: object) -> None:
    df = frame_of([("a",)] * 3, c="string")
    with pytest.raises(ValueError, match="k must be an integer"):
        anonymize(df, ["c"], k)  # type: ignore[arg-type]


def test_numpy_integer_k_is_accepted() -> None:
    df = frame_of([("a",)] * 3, c="string")
    assert anonymize(df, ["c"], np.int64(3)).report.k == 3


@pytest.mark.parametrize(
    ("qis", "message"),
    [
        ([], "quasi_identifiers is empty"),
        (["c", "nope"], r"not in the frame: \['nope'\]"),
        (["c", "c"], "lists columns twice"),
        ("c", "not the string"),
    ],
)
def test_bad_quasi_identifiers_are_refused(qis: object, message: str) -> None:
    df = frame_of([("a",)] * 3, c="string")
    with pytest.raises(ValueError, match=message):
        anonymize(df, qis, 2)  # type: ignore[arg-type]


def test_bad_group_column_is_refused() -> None:
    df = frame_of([("a", "o1")] * 2 + [("a", None)], c="string", org="string")
    with pytest.raises(ValueError, match="not a column"):
        anonymize(df, ["c"], 2, group_col="organization")
    with pytest.raises(ValueError, match="missing values"):
        anonymize(df, ["c"], 2, group_col="org")
    mixed = pd.DataFrame({"c": ["a"] * 2, "org": pd.Series([1, "1"], dtype=object)})
    with pytest.raises(ValueError, match="same text"):
        anonymize(mixed, ["c"], 2, group_col="org")


def test_duplicate_column_names_are_refused() -> None:
    df = pd.DataFrame([["a", "b"]] * 3, columns=["c", "c"])
    with pytest.raises(ValueError, match="duplicate column names"):
        anonymize(df, ["c"], 2)


# --------------------------------------------------------------------------------------
# what is and is not touched


def test_non_qi_columns_are_untouched(tmp_path: Path) -> None:
    df = skewed_frame(2000, seed=2)
    df["score"] = np.where(np.arange(len(df)) % 7 == 0, np.nan, np.arange(len(df)) / 3)
    df["when"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(df)), unit="h")
    result = anonymize(df, SKEWED_QIS, 5)
    out = result.frame
    assert result.report.records_suppressed + sum(result.report.cells_suppressed.values()) > 0

    kept = df.set_index("case_id").loc[out["case_id"]].reset_index()
    payload = [c for c in df.columns if c not in SKEWED_QIS]
    pd.testing.assert_frame_equal(out[payload], kept[payload])
    # QI cells are the input's value or NA, never anything else.
    for q in SKEWED_QIS:
        same = out[q].isna() | (out[q] == kept[q]).fillna(False).astype(bool)
        assert same.all(), q
    assert_released_k_anonymous(out, SKEWED_QIS, 5, tmp_path)


def test_dtypes_and_column_order_are_kept() -> None:
    df = pd.DataFrame(
        {
            "b": pd.array([True, False, None] * 4 + [True], dtype="boolean"),
            "i": pd.array([1, 2, None] * 4 + [9], dtype="Int16"),
            "s": pd.array(["x", "NA", None] * 4 + ["z"], dtype="string"),
            "t": pd.Series(["p", "q", None] * 4 + ["r"], dtype="str"),
            "cat": pd.Categorical(["u", "v", None] * 4 + ["w"]),
            "f": [0.5, 1.5, np.nan] * 4 + [2.5],
            "payload": np.arange(13),
        }
    )
    qis = ["b", "i", "s", "t", "cat", "f"]
    result = anonymize(df, qis, 4)
    assert list(result.frame.columns) == list(df.columns)
    assert result.frame.dtypes.equals(df.dtypes)
    assert isinstance(result.frame.index, pd.RangeIndex)
    # "NA" is a string (Namibia), never a missing value.
    assert (result.frame["s"] == "NA").sum() == 4


def test_numpy_bool_and_int_qis_become_nullable() -> None:
    df = pd.DataFrame({"flag": [True] * 5 + [False], "n": np.array([1] * 5 + [2], dtype="int16")})
    out = anonymize(df, ["flag", "n"], 5).frame
    assert str(out["flag"].dtype) == "boolean"
    assert str(out["n"].dtype) == "Int16"


def test_empty_frame() -> None:
    df = frame_of([], c="string", year="Int16")
    result = anonymize(df, ["c", "year"], 10, group_col="c")
    assert len(result.frame) == 0
    assert result.frame.dtypes.equals(df.dtypes)
    r = result.report
    assert (r.records_in, r.records_out, r.records_suppressed) == (0, 0, 0)
    assert (r.classes, r.min_class_size) == (0, 0)
    assert r.records_suppressed_by_group == {}


def test_everything_removed_when_no_class_can_reach_k() -> None:
    df = frame_of([(f"v{i}",) for i in range(4)], c="string")
    result = anonymize(df, ["c"], 5)
    assert len(result.frame) == 0
    assert result.report.records_suppressed == 4
    assert (result.report.classes, result.report.min_class_size) == (0, 0)


# --------------------------------------------------------------------------------------
# accounting


def test_group_accounting_by_organization() -> None:
    # org-b's CO record loses its country; so do org-c's 9 records without one (not recorded
    # and suppressed count apart, so the 10 make one suppressed class); org-a's unique
    # record is removed.
    records = (
        [("F", "ES", "org-a")] * 6
        + [("F", "ES", "org-c")] * 6
        + [("F", None, "org-c")] * 9
        + [("F", "CO", "org-b")]
        + [("M", "BR", "org-a")]
    )
    df = frame_of(records, gender="string", country="string", org="string")
    r = anonymize(df, ["gender", "country"], 10, group_col="org").report

    assert r.records_suppressed_by_group == {"org-a": 1, "org-b": 0, "org-c": 0}
    assert r.cells_suppressed_by_group == {
        "org-a": {"gender": 0, "country": 0},
        "org-b": {"gender": 0, "country": 1},
        "org-c": {"gender": 0, "country": 0},  # no value lost: the status says suppressed
    }
    assert r.cells_suppressed == {"gender": 0, "country": 1}
    assert (r.records_in, r.records_out, r.records_suppressed) == (23, 22, 1)


def test_report_matches_a_diff_of_input_and_output(tmp_path: Path) -> None:
    df = skewed_frame(5000, seed=3)
    result = anonymize(df, SKEWED_QIS, 10, group_col="org")
    out, r = result.frame, result.report

    removed_ids = set(df["case_id"]) - set(out["case_id"])
    assert r.records_suppressed == len(removed_ids) == len(df) - len(out)
    assert r.records_in == r.records_out + r.records_suppressed == len(df)

    before = df.set_index("case_id").loc[out["case_id"]].reset_index()
    lost = {q: int((before[q].notna() & out[q].isna()).sum()) for q in SKEWED_QIS}
    assert r.cells_suppressed == lost
    assert sum(lost.values()) > 0  # the frame is skewed enough for suppression to happen

    removed_by_org = df[df["case_id"].isin(removed_ids)]["org"].value_counts()
    for org in ("org-a", "org-b", "org-c"):
        assert r.records_suppressed_by_group[org] == removed_by_org.get(org, 0)
        in_org = (before["org"] == org).to_numpy()
        for q in SKEWED_QIS:
            expected = int((before[q].notna() & out[q].isna()).to_numpy()[in_org].sum())
            assert r.cells_suppressed_by_group[org][q] == expected

    # classes count "not recorded" and "suppressed" apart (both NA in the frame)
    assert result.status is not None
    keyed = out.assign(**{f"{q}_status": result.status[q].astype(str) for q in SKEWED_QIS})
    keys = [*SKEWED_QIS, *(f"{q}_status" for q in SKEWED_QIS)]
    sizes = keyed.groupby(keys, dropna=False).size()
    assert (r.classes, r.min_class_size) == (len(sizes), int(sizes.min()))
    assert_released_k_anonymous(out, SKEWED_QIS, 10, tmp_path)


def test_report_to_dict_is_json_ready() -> None:
    df = skewed_frame(500, seed=4)
    report = anonymize(df, SKEWED_QIS, 5, group_col="org").report
    as_dict = report.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["quasi_identifiers"] == SKEWED_QIS
    assert all(type(v) is int for v in as_dict["cells_suppressed"].values())
    assert report.cells_suppressed_total == sum(as_dict["cells_suppressed"].values())


def test_report_refuses_unbalanced_accounting() -> None:
    with pytest.raises(ValueError, match="does not balance"):
        AnonymizationReport(
            k=2,
            quasi_identifiers=("c",),
            records_in=3,
            records_out=1,
            records_suppressed=1,
            cells_suppressed={"c": 0},
            records_suppressed_by_group={},
            cells_suppressed_by_group={},
            classes=1,
            min_class_size=2,
        )


# --------------------------------------------------------------------------------------
# determinism and the wide-key path


def test_deterministic() -> None:
    df = skewed_frame(3000, seed=5)
    first = anonymize(df, SKEWED_QIS, 10, group_col="org")
    second = anonymize(df.copy(), SKEWED_QIS, 10, group_col="org")
    pd.testing.assert_frame_equal(first.frame, second.frame)
    assert first.report == second.report


def test_wide_keys_take_the_refactorizing_path() -> None:
    # With a tiny key limit every key is re-factorized as it grows; the result must be
    # identical, only slower.
    df = skewed_frame(3000, seed=6)
    expected = anonymize(df, SKEWED_QIS, 7, group_col="org")
    got = anonymize(df, SKEWED_QIS, 7, group_col="org", tuning=Tuning(key_limit=1 << 8))
    pd.testing.assert_frame_equal(got.frame, expected.frame)
    assert got.report == expected.report


def test_many_high_cardinality_columns() -> None:
    # 8 columns of ~600 values: the product of cardinalities overflows int64 by far.
    rng = np.random.default_rng(7)
    n = 4000
    df = pd.DataFrame({f"c{j}": rng.integers(0, 600, size=n) for j in range(8)})
    df = pd.concat([df.iloc[:20]] * 30 + [df], ignore_index=True)  # some real classes
    qis = list(df.columns)
    assert Tuning().key_limit < 601.0**8
    out = anonymize(df, qis, 10).frame
    assert out.groupby(qis, dropna=False).size().min() >= 10
    assert check_k_anonymity(out, qis, 10).passed


# --------------------------------------------------------------------------------------
# the independent check


def test_check_counts_violations_on_a_parquet_file(tmp_path: Path) -> None:
    records = [("a", 1)] * 3 + [("a", None)] * 2 + [("b", 1)]
    df = frame_of(records, c="string", n="Int16")
    path = write_parquet(df, tmp_path / 'it\'s a "file".parquet')  # quotes: never formatted
    assert check_k_anonymity(path, ["c", "n"], 3) == KCheck(
        k=3, passed=False, classes=3, min_class_size=1, violating_classes=2, violating_records=3
    )
    assert check_k_anonymity(str(path), ["c", "n"], 2).violating_records == 1
    assert check_k_anonymity(path, ["n"], 2).passed  # 1 x4, <NA> x2


def test_check_quotes_column_names(tmp_path: Path) -> None:
    df = pd.DataFrame({'we"ird': ["x"] * 3, "select": [1, 1, 1], "a b": [None, None, None]})
    path = write_parquet(df, tmp_path / "weird.parquet")
    check = check_k_anonymity(path, ['we"ird', "select", "a b"], 3)
    assert (check.passed, check.classes, check.min_class_size) == (True, 1, 3)
    assert check_k_anonymity(df, ['we"ird', "select", "a b"], 3) == check


def test_check_on_a_frame_and_a_shared_connection() -> None:
    import duckdb

    df = frame_of([("a", True)] * 4 + [("a", None)] * 4, c="string", f="boolean")
    with duckdb.connect() as con:
        check = check_k_anonymity(df, ["c", "f"], 4, con=con)
        assert check == KCheck(4, True, 2, 4, 0, 0)
        # the connection is left usable and without leftovers
        assert con.execute("SELECT 42").fetchall() == [(42,)]
        assert check_k_anonymity(df, ["c", "f"], 5, con=con).violating_records == 8


def test_check_on_a_hive_partitioned_folder(tmp_path: Path) -> None:
    # A NULL partition value is written as __HIVE_DEFAULT_PARTITION__ and must read back as
    # NULL, i.e. as one class with the other NULLs -- not as a string, not as a wildcard.
    records = [("a", 2020)] * 3 + [("b", None)] * 2 + [("c", None)] * 2
    df = frame_of(records, c="string", year="Int16")
    pq.write_to_dataset(
        pa.Table.from_pandas(df, preserve_index=False), tmp_path / "release", ["year"]
    )
    check = check_k_anonymity(tmp_path / "release", ["c", "year"], 2)
    assert (check.passed, check.classes, check.min_class_size) == (True, 3, 2)
    by_year = check_k_anonymity(tmp_path / "release", ["year"], 4)
    assert (by_year.classes, by_year.min_class_size, by_year.violating_records) == (2, 3, 3)


def test_check_empty_source_passes(tmp_path: Path) -> None:
    df = frame_of([], c="string")
    path = write_parquet(df, tmp_path / "empty.parquet")
    expected = KCheck(
        k=10, passed=True, classes=0, min_class_size=0, violating_classes=0, violating_records=0
    )
    assert check_k_anonymity(path, ["c"], 10) == expected
    assert check_k_anonymity(df, ["c"], 10) == expected


def test_check_refuses_bad_arguments(tmp_path: Path) -> None:
    df = frame_of([("a",)] * 3, c="string")
    path = write_parquet(df, tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="k must be"):
        check_k_anonymity(path, ["c"], 1)
    with pytest.raises(ValueError, match="empty"):
        check_k_anonymity(path, [], 2)
    with pytest.raises(ValueError, match=r"not in .*x\.parquet"):
        check_k_anonymity(path, ["c", "nope"], 2)
    with pytest.raises(ValueError, match="not in the frame"):
        check_k_anonymity(df, ["nope"], 2)


# --------------------------------------------------------------------------------------
# scale


def test_skewed_frame_at_scale(tmp_path: Path) -> None:
    df = skewed_frame(30_000, seed=8)
    result = anonymize(df, SKEWED_QIS, 10, group_col="org")
    assert result.report.records_suppressed / len(df) < 0.05
    assert_released_k_anonymous(result.frame, SKEWED_QIS, 10, tmp_path)


def test_cached_roll_ups_and_fresh_scoring_keep_the_same_promises(tmp_path: Path) -> None:
    """The speed paths (node classes cached, rolled up and carried across compactions;
    pandas' int64 hash table) change how nodes are scored, never what a release promises."""
    df = skewed_frame(20_000, seed=3)
    cached = anonymize(df, SKEWED_QIS, 10)
    public = Tuning(pandas_hash_table=False)  # the public pd.factorize
    pd.testing.assert_frame_equal(anonymize(df, SKEWED_QIS, 10, tuning=public).frame, cached.frame)
    every_node_afresh = Tuning(pandas_hash_table=False, per_node=10**9)  # in batches
    fresh = anonymize(df, SKEWED_QIS, 10, tuning=every_node_afresh)
    for result in (cached, fresh):
        assert_released_k_anonymous(result.frame, SKEWED_QIS, 10, tmp_path)
        r = result.report
        assert r.records_in == r.records_out + r.records_suppressed == len(df)
    # the two differ at most in ties broken by float rounding: the same loss, near enough
    assert (
        abs(cached.report.loss_metric - fresh.report.loss_metric) < 0.02 * fresh.report.loss_metric
    )


@pytest.mark.parametrize(
    "tuning",
    [
        Tuning(prices=(0.0, 1.0)),  # two prices: the climb and the reopen do most of it
        Tuning(node_cap=16, cell_budget=1, small=0),  # a starved sweep, one run
        Tuning(idle_prices=0, lattice_grid=1, bloom_bits=1, compact_share=1.0),
    ],
    ids=["two-prices", "starved", "walked-lattice"],
)
def test_any_tuning_keeps_the_promises(tuning: Tuning, tmp_path: Path) -> None:
    """A tuning changes how hard the search looks, never what a release promises."""
    df = skewed_frame(3000, seed=11)
    result = anonymize(df, SKEWED_QIS, 10, group_col="org", tuning=tuning)
    assert_released_k_anonymous(result.frame, SKEWED_QIS, 10, tmp_path)
    r = result.report
    assert r.records_in == r.records_out + r.records_suppressed == len(df)


@pytest.mark.parametrize(
    "bad",
    [{"prices": ()}, {"prices": (0.5, 0.1)}, {"key_limit": 1}, {"bloom_bits": 0}],
)
def test_a_tuning_that_cannot_search_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"prices|key_limit"):
        Tuning(**bad)  # type: ignore[arg-type]
