"""Derived fields never sharpen the quasi-identifier they come from.

The attack: majority status is a function of age, so releasing the recorded
value beside a suppressed age band tells the suppressed band's side of 18
(``SELECT age_band, majority_status, count(*) ... GROUP BY ALL`` split 3,172
suppressed records into 2,326 adults and 846 minors).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from ctdc.audit.sources import combined_levels
from ctdc.errors import CtdcError
from ctdc.schema import Schema, load_schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def release(shared_sample: Path) -> tuple[Path, Schema]:
    """A real release of the four sample organizations (300 records each, k=5)."""
    return (shared_sample / "data" / "current" / "cases.parquet").resolve(), load_schema(
        ROOT / "schemas" / "ctdc.yaml"
    )


def _rows(cases: Path, sql: str) -> list[tuple]:
    """``sql`` over the release with each QI's level columns folded back into its published
    value (``age_band`` then holds ``18-29`` too), as the attacks read it."""
    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW cases AS {combined_levels(con, cases, schema)}")
        return con.execute(sql).fetchall()


def test_majority_status_says_nothing_a_published_age_band_does_not(release) -> None:
    cases, _ = release
    rows = _rows(cases, "SELECT age_band, majority_status, count(*) FROM cases GROUP BY ALL")
    suppressed = {m: n for band, m, n in rows if band is None}
    assert suppressed and set(suppressed) == {None}, f"suppressed ages split by status: {rows}"
    per_band: dict[str, set] = {}
    for band, status, _ in rows:
        per_band.setdefault(band, set()).add(status)
    assert all(len(s) == 1 for s in per_band.values()), per_band
    minors = {b for b, s in per_band.items() if s == {"Minor"}}
    assert minors <= {"0-8", "9-17", "0-17"}
    adults = {b for b, s in per_band.items() if s == {"Adult"}}
    assert adults and adults >= {"18-29"} & set(per_band)


def test_derived_quasi_identifiers_are_blank_where_age_band_is(release) -> None:
    cases, _ = release
    for col in ("majority_status_at_exploit", "majority_entry"):
        leaked = _rows(cases, f"SELECT count(*) FROM cases WHERE age_band IS NULL AND {col} "
                       "IS NOT NULL")  # fmt: skip
        assert leaked == [(0,)], col
        kept = _rows(cases, f"SELECT count(*) FROM cases WHERE {col} IS NOT NULL")
        assert kept[0][0] > 0, f"{col} was blanked everywhere"


def test_k_holds_with_every_derived_field_counted_as_a_quasi_identifier(release) -> None:
    cases, schema = release
    cols = [*schema.release_keys, "majority_status"]
    cols = ", ".join(f'"{c}"' for c in cols)
    smallest = _rows(cases, f"SELECT min(n) FROM (SELECT count(*) n FROM cases GROUP BY {cols})")
    assert smallest[0][0] >= 5


def _schema_with(tmp_path: Path, name: str, **changes: object) -> Path:
    doc = yaml.safe_load((ROOT / "schemas" / "ctdc.yaml").read_text(encoding="utf-8"))
    for f in doc["fields"]:
        if f["name"] == name:
            f.update(changes)
            for key in [k for k, v in changes.items() if v is None]:
                del f[key]
    for f in doc["fields"]:
        if f.get("hierarchy"):
            f["hierarchy"] = str(ROOT / "schemas" / f["hierarchy"])
    path = tmp_path / "schema.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_loader_refuses_a_derived_attribute_that_could_sharpen_its_source(tmp_path) -> None:
    path = _schema_with(tmp_path, "majority_status", derive=None)
    with pytest.raises(CtdcError) as err:
        load_schema(path)
    assert err.value.slug == "bad-schema"
    assert "majority_status" in err.value.detail and "age_band" in err.value.detail
    assert "quasi_identifier" in err.value.fix and "derive" in err.value.fix


def test_loader_accepts_a_derived_quasi_identifier(tmp_path) -> None:
    path = _schema_with(tmp_path, "majority_status", derive=None, role="quasi_identifier")
    assert "majority_status" in load_schema(path).quasi_identifiers


def test_loader_refuses_a_derive_map_naming_values_the_source_lacks(tmp_path) -> None:
    path = _schema_with(tmp_path, "majority_status", derive={"Adult": ["18-99"]})
    with pytest.raises(CtdcError, match="18-99"):
        load_schema(path)


@pytest.mark.parametrize("name", ["case_pseudonym", "org_id", "batch_id"])
def test_link_columns_are_never_released_whatever_the_schema_says(tmp_path, name) -> None:
    path = _schema_with(tmp_path, name, role="attribute")
    with pytest.raises(CtdcError) as err:
        load_schema(path)
    assert err.value.slug == "bad-schema" and name in err.value.detail
