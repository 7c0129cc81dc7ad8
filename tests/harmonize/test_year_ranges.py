"""Year ranges say what they cover and never run past the current year; a new year is a
new epoch, because the labels of the current ranges change."""

from __future__ import annotations

from dataclasses import replace

from ctdc.anonymize import Hierarchy
from ctdc.harmonize.series_run import settings_digest
from ctdc.harmonize.settings import RunSettings, field_hierarchy, load_settings
from ctdc.schema import Schema
from ctdc.store.workspace import Workspace

YEARS = Hierarchy(tuple((str(y), f"{y - (y - 2020) % 3}-{y - (y - 2020) % 3 + 2}", "2020-2028",
                         "*") for y in range(2020, 2029)))  # fmt: skip


def test_ranges_are_cut_at_the_last_allowed_year_and_relabelled() -> None:
    cut = YEARS.clipped(2020, 2026)
    assert [r[0] for r in cut.rows] == [str(y) for y in range(2020, 2027)]
    assert {r[1] for r in cut.rows} == {"2020-2022", "2023-2025", "2026"}
    assert {r[2] for r in cut.rows} == {"2020-2026"}
    assert YEARS.clipped(2020, 2028) is YEARS  # nothing to cut: the same labels
    assert [r[1] for r in YEARS.clipped(2021, 2023).rows] == ["2021-2022", "2021-2022", "2023"]


def test_the_schema_year_hierarchy_stops_at_its_contract(schema: Schema) -> None:
    field = schema["year_of_registration"]
    hierarchy = field_hierarchy(field)
    assert max(int(r[0]) for r in hierarchy.rows) == field.max
    for row in hierarchy.rows:
        for label in row[1:-1]:
            assert int(label.split("-")[-1]) <= field.max, label


def _next_year(schema: Schema) -> Schema:
    year = schema["year_of_registration"]
    fields = tuple(replace(f, max=f.max + 1) if f is year else f for f in schema.fields)
    return replace(schema, fields=fields)


def test_a_new_year_changes_the_epoch(workspace: Workspace, schema: Schema) -> None:
    settings: RunSettings = load_settings(workspace, schema)
    assert settings_digest(schema, settings) == settings_digest(schema, settings)
    assert settings_digest(_next_year(schema), settings) != settings_digest(schema, settings)
