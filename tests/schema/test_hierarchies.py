"""The generalization hierarchies: committed CSVs up to date, proper trees, every value a leaf."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pandas as pd
import pycountry
import pytest

from ctdc.anonymize import Hierarchy
from ctdc.anonymize.hierarchy import encode_column
from ctdc.build_hierarchies import (
    FALLBACK,
    M49_REGIONS,
    TOP,
    age_band_rows,
    build_all,
    main,
    to_csv,
    year_rows,
)
from ctdc.mapping.countries import country_lookup
from ctdc.schema import COUNTRY_CODES, Schema, load_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "schemas" / "ctdc.yaml"
HIERARCHIES = ROOT / "schemas" / "hierarchies"
FILES = ("country.csv", "year.csv", "age_band.csv")


@pytest.fixture(scope="module")
def real_schema() -> Schema:
    return load_schema(SCHEMA_PATH)


def read_rows(name: str) -> list[tuple[str, ...]]:
    with open(HIERARCHIES / name, encoding="utf-8", newline="") as fh:
        return [tuple(row) for row in csv.reader(fh, delimiter=";")]


def parents(rows: list[tuple[str, ...]]) -> dict[str, str]:
    """Leaf -> level-1 value, for the spot checks."""
    return {r[0]: r[1] for r in rows}


@pytest.fixture(scope="module")
def generated() -> dict[str, list[tuple[str, ...]]]:
    return build_all(SCHEMA_PATH)


@pytest.mark.parametrize("name", FILES)
def test_committed_csv_is_what_the_generator_builds_now(name: str, generated) -> None:
    assert (HIERARCHIES / name).read_text(encoding="utf-8") == to_csv(generated[name]), (
        f"{name} is out of date: run make hierarchies"
    )


def test_check_mode_passes_on_the_committed_files_and_writes_nothing(capsys) -> None:
    assert main(["--schema", str(SCHEMA_PATH), "--check"]) == 0
    assert "out of date" not in capsys.readouterr().err


def test_generator_writes_a_fresh_folder(tmp_path: Path) -> None:
    assert main(["--schema", str(SCHEMA_PATH), "--out", str(tmp_path)]) == 0
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (HIERARCHIES / name).read_bytes()
    assert main(["--schema", str(SCHEMA_PATH), "--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "year.csv").write_text("2002;*\n", encoding="utf-8")
    assert main(["--schema", str(SCHEMA_PATH), "--out", str(tmp_path), "--check"]) == 1


def test_without_the_sample_extra_the_builder_names_it_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "country_converter", None)  # import fails as if absent
    assert main(["--schema", str(SCHEMA_PATH), "--out", str(tmp_path)]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("error[missing-extra]: ") and "pip install 'ctdc[sample]'" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", FILES)
def test_rows_have_one_width_end_in_star_and_list_each_leaf_once(name: str) -> None:
    rows = read_rows(name)
    assert rows
    assert len({len(r) for r in rows}) == 1
    assert all(r[-1] == TOP for r in rows)
    assert all(v and v == v.strip() for r in rows for v in r)
    leaves = [r[0] for r in rows]
    assert len(leaves) == len(set(leaves))


@pytest.mark.parametrize("name", FILES)
def test_each_level_is_a_function_of_the_level_below(name: str) -> None:
    rows = read_rows(name)
    for level in range(len(rows[0]) - 1):
        parent: dict[str, str] = {}
        for r in rows:
            assert parent.setdefault(r[level], r[level + 1]) == r[level + 1], (
                f"{name}: {r[level]!r} at level {level} has two parents"
            )


@pytest.mark.parametrize("name", FILES)
def test_levels_get_coarser(name: str) -> None:
    rows = read_rows(name)
    distinct = [len({r[level] for r in rows}) for level in range(len(rows[0]))]
    assert distinct == sorted(distinct, reverse=True) and distinct[-1] == 1


def test_schema_wires_the_hierarchies_at_level_auto(real_schema: Schema) -> None:
    for name, file in [
        ("citizenship", "country.csv"),
        ("country_of_exploitation", "country.csv"),
        ("year_of_registration", "year.csv"),
        ("age_band", "age_band.csv"),
    ]:
        f = real_schema[name]
        assert f.hierarchy == (HIERARCHIES / file).resolve()
        assert f.level is None  # `level: auto`: the anonymizer chooses per class
        assert f.role == "quasi_identifier"


def test_every_country_the_schema_and_ingest_allow_is_a_leaf() -> None:
    leaves = [r[0] for r in read_rows("country.csv")]
    assert leaves == sorted(c.alpha_2 for c in pycountry.countries)
    assert set(leaves) == set(COUNTRY_CODES)
    for form in ("alpha2", "alpha3", "name"):
        assert set(country_lookup(form).values()) <= set(leaves)
    assert set(country_lookup("name", "es").values()) <= set(leaves)


def test_every_year_the_schema_allows_is_a_leaf(real_schema: Schema) -> None:
    f = real_schema["year_of_registration"]
    assert f.min is not None and f.max is not None
    leaves = {r[0] for r in read_rows("year.csv")}
    missing = {str(y) for y in range(f.min, f.max + 1)} - leaves
    assert not missing, f"years {sorted(missing)} are not in year.csv: raise YEAR_HORIZON"


def test_every_age_band_the_schema_allows_is_a_leaf(real_schema: Schema) -> None:
    rows = read_rows("age_band.csv")
    assert [r[0] for r in rows] == list(real_schema["age_band"].values)


def test_country_levels_are_m49() -> None:
    rows = read_rows("country.csv")
    assert {r[2] for r in rows} == {*M49_REGIONS, FALLBACK}
    table = {r[0]: r[1:3] for r in rows}
    assert table["FR"] == ("Western Europe", "Europe")
    assert table["NG"] == ("Western Africa", "Africa")
    assert table["NA"] == ("Southern Africa", "Africa")  # Namibia, not a missing value
    assert table["MX"] == ("Central America", "Americas")
    assert table["BR"] == ("South America", "Americas")
    assert table["DO"] == ("Caribbean", "Americas")
    assert table["US"] == ("Northern America", "Americas")
    assert table["TH"] == ("South-eastern Asia", "Asia")
    assert table["IN"] == ("Southern Asia", "Asia")
    assert table["UA"] == ("Eastern Europe", "Europe")
    assert table["GB"] == ("Northern Europe", "Europe")
    assert table["EG"] == ("Northern Africa", "Africa")
    assert table["AU"] == ("Australia and New Zealand", "Oceania")
    assert table["FJ"] == ("Melanesia", "Oceania")
    # territories whose continent in country_converter is not their M49 region
    assert table["CX"] == ("Australia and New Zealand", "Oceania")
    assert table["BV"] == ("South America", "Americas")
    # no M49 region: the documented fallback, at both levels
    assert [c for c, (sub, _) in table.items() if sub == FALLBACK] == ["AQ"]
    assert table["AQ"] == (FALLBACK, FALLBACK)


def test_year_periods() -> None:
    table = {r[0]: r[1:] for r in read_rows("year.csv")}
    assert table["2002"] == ("2002-2004", "2002-2010", "*")
    assert table["2010"] == ("2008-2010", "2002-2010", "*")
    assert table["2011"] == ("2011-2013", "2011-2019", "*")
    assert table["2024"] == ("2023-2025", "2020-2028", "*")
    # complete periods only: the table ends where a 9-year period ends
    rows = year_rows(2002, horizon=2040)
    assert rows[-1][0] == "2046" and len(rows) == 45


def test_age_band_wider_bands() -> None:
    assert parents(read_rows("age_band.csv")) == {
        "0-8": "0-17",
        "9-17": "0-17",
        "18-20": "18-29",
        "21-23": "18-29",
        "24-26": "18-29",
        "27-29": "18-29",
        "30-38": "30+",
        "39-47": "30+",
        "48+": "30+",
    }
    majority = {r[0]: r[2] for r in read_rows("age_band.csv")}
    assert {band for band, m in majority.items() if m == "0-17"} == {"0-8", "9-17"}
    assert set(majority.values()) == {"0-17", "18+"}
    with pytest.raises(ValueError, match="exactly one wider band"):
        age_band_rows(["10-20"], [(10, 20)])


def _at_level(real_schema: Schema, field: str, values: list[str | None], level: int) -> list:
    """What the anonymizer publishes for ``values`` at ``level`` of the field's hierarchy."""
    enc = encode_column(field, pd.Series(values, dtype="string"),
                        Hierarchy.from_csv(real_schema[field].hierarchy))  # fmt: skip
    return [enc.values[i] for i in enc.ancestor[level, enc.codes]]


def test_level_zero_publishes_the_recorded_values(real_schema: Schema) -> None:
    for field, values in [("citizenship", ["NA", "FR", None]), ("age_band", ["0-8", "48+"]),
                          ("year_of_registration", ["2002", "2015"])]:  # fmt: skip
        assert _at_level(real_schema, field, values, 0) == [
            pd.NA if v is None else v for v in values
        ]


def test_country_fields_generalize_along_the_hierarchy(real_schema: Schema) -> None:
    assert _at_level(real_schema, "citizenship", ["NA", "FR", None], 2) == [
        "Africa", "Europe", pd.NA]  # fmt: skip
    assert _at_level(real_schema, "country_of_exploitation", ["NG", "MX", "AQ"], 1) == [
        "Western Africa", "Central America", "Other"]  # fmt: skip
