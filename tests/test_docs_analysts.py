"""docs/analysts.md's example queries, run on a real release through ``ctdc query``.

Each ``<!-- example: name -->`` block of the page is an analyst's query; all of them
run, and the two the issue names (a share by region and year, age by gender) are
checked to give categories that do not overlap and that account for every record.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import query_json
from ctdc.harmonize.settings import field_hierarchy
from ctdc.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = re.compile(r"<!-- example: ([\w-]+) -->\s*```sql\n(.*?)```", re.S)


def examples() -> dict[str, str]:
    return dict(EXAMPLE.findall((ROOT / "docs" / "analysts.md").read_text(encoding="utf-8")))


@pytest.fixture
def root(shared_sample: Path) -> Path:
    """A workspace ``data`` under the returned folder with a release of the four samples."""
    return shared_sample


def test_the_page_has_the_examples_the_issue_asks_for() -> None:
    names = set(examples())
    assert {"sexual-exploitation-by-region-and-period", "age-by-gender"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(examples()))
def test_every_example_runs_and_returns_rows(root: Path, name: str) -> None:
    rows = query_json(root, examples()[name])
    assert rows, f"{name} returned nothing"


def _labels(field: str, level: int) -> set[str]:
    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    return {row[level] for row in field_hierarchy(schema[field]).rows}


def test_share_by_region_and_period_has_no_overlapping_categories(root: Path) -> None:
    rows = query_json(root, examples()["sexual-exploitation-by-region-and-period"])
    keys = [(r["citizenship_region"], r["registration_period_wide"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert {r for r, _ in keys} <= _labels("citizenship", 2)
    assert {p for _, p in keys} <= _labels("year_of_registration", 2)
    for r in rows:
        assert r["known"] <= r["cases"]
        assert r["share_sexual_exploitation"] is None or 0 <= r["share_sexual_exploitation"] <= 1


def test_age_by_gender_places_every_record_once(root: Path) -> None:
    rows = query_json(root, examples()["age-by-gender"])
    [total] = query_json(root, "SELECT count(*) AS n FROM cases")
    assert sum(r["cases"] for r in rows) == total["n"]
    keys = [(r["gender"], r["age"]) for r in rows]
    assert len(keys) == len(set(keys))
    wide = _labels("age_band", 1)
    for age in {a for _, a in keys}:
        assert (age in wide or age.endswith("(wide band not published)")
                or age in ("(suppressed)", "(not_recorded)")), age  # fmt: skip
