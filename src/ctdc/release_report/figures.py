"""The report's figures: Altair charts built from safe tables, with the data they draw.

Each :class:`Figure` keeps the frame it plots (``data``: one row per cell,
``count`` None where the safe table suppressed it) beside the chart, so a test
or a reader can check that a chart shows exactly the safe aggregates, and the
page can give the same numbers as a table and as alt text. The public
figures take only :class:`~ctdc.release_report.tables.ReleaseTables`; the
private ones (intake, quarantine reasons, risk before and after) take
:class:`~ctdc.release_report.private.PrivateFacts` and appear in the private
report only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import pandas as pd

from ctdc.release_report import charts
from ctdc.release_report.charts import Chart, bars, categories, cells, describe, heatmap
from ctdc.release_report.private import PrivateFacts
from ctdc.release_report.tables import CLASS_SIZE, ReleaseTables
from ctdc.schema import Schema
from ctdc.schema.model import STATUS_VALUES
from ctdc.stats import SafeTable

#: the status columns' values as a report says them ("suppressed" is a cell's word here)
STATUS_LABELS = {"as_recorded": "as recorded", "generalized": "generalized",
                 "suppressed": "withheld", "not_recorded": "not recorded"}  # fmt: skip
NOT_PUBLISHED = "(not published)"
NOT_AT_LEVEL = "(not at this level)"
ORG_COLORS = alt.Scale(scheme="tableau10")


@dataclass(frozen=True)
class Figure:
    """One chart of a report, the cells it draws and what to say about it."""

    key: str
    """its anchor in the page"""
    title: str
    summary: str
    """what it shows, in one sentence (the start of its alt text)"""
    note: str
    """how to read it: levels, NULLs, what is suppressed"""
    chart: Chart
    data: pd.DataFrame
    """the cells drawn; ``count`` None where suppressed (public figures)"""
    columns: tuple[tuple[str, str], ...]
    """(column of ``data``, its header) for the page's data table"""

    @property
    def alt(self) -> str:
        """The alt text: the summary, then every cell in words."""
        names = [c for c, _ in self.columns if c not in ("label", "count", "rows", "value")]
        return f"{self.summary} {describe(self.data, names)}."


def variable_label(schema: Schema, name: str) -> str:
    """A quasi-identifier as a reader says it: its flag label, or its name in words."""
    field = schema.by_name.get(name)
    return field.label if field is not None and field.label else name.replace("_", " ")


def _suppressed_note(tables: Sequence[SafeTable]) -> str:
    hidden = sum(1 for t in tables for c in t.cells if c.count is None)
    if not hidden:
        return "No cell of this chart is suppressed."
    return (f"{hidden} cell{'s' if hidden > 1 else ''} suppressed (fewer than k records, or "
            "hidden so that no suppressed count can be recomputed from the totals): drawn "
            "grey or without a bar, never as a number.")  # fmt: skip


def statuses(tables: ReleaseTables, schema: Schema) -> Figure:
    """Records per quasi-identifier and status: how much was generalized or withheld."""
    frames = []
    for qi, table in tables.statuses.items():
        frame = cells(table, ["status"], "(null)")
        frame["status"] = frame["status"].map(lambda s: STATUS_LABELS.get(s, s))
        frame.insert(0, "variable", variable_label(schema, qi))
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    rows = [variable_label(schema, q) for q in tables.statuses]
    columns = [STATUS_LABELS[s] for s in STATUS_VALUES]
    chart = heatmap(data, "variable", "status", rows, columns, row_axis="variable",
                    column_axis="status", title="Records by variable and status",
                    cell=96)  # fmt: skip
    return Figure(
        "statuses",
        "How each variable was published",
        "Heatmap of records per quasi-identifier (rows) and how its value was published (columns).",
        "As recorded: the finest column holds the value; generalized: a coarser level "
        "(a period, a wide age band, a region); withheld: the anonymizer suppressed it for "
        "privacy (status 'suppressed' in the release); not recorded: the organization did not "
        f"record it. {_suppressed_note(list(tables.statuses.values()))}",
        chart,
        data,
        (("variable", "variable"), ("status", "status"), ("label", "records")),
    )


def class_sizes(tables: ReleaseTables) -> Figure:
    """Records by the size of their equivalence class: the release's risk, after."""
    table = tables.class_sizes
    data = cells(table, [CLASS_SIZE], "(null)")
    order = categories(table, 0, "(null)")
    chart = bars(data, CLASS_SIZE, order, axis="class size (records alike)",
                 title="Records by class size")  # fmt: skip
    k = tables.k
    return Figure(
        "class-sizes",
        "Class sizes",
        f"Bar chart of records by the size of their class (k = {k}).",
        "A class is the records that share every quasi-identifier, each with its level "
        f"columns and status. None is smaller than k = {k}, so no record can be told apart "
        f"from fewer than {k - 1} others: the highest re-identification risk is at most "
        f"1/{k} = {1 / k:.2f}. {_suppressed_note([table])}",
        chart,
        data,
        ((CLASS_SIZE, "class size"), ("label", "records")),
    )


def periods(tables: ReleaseTables) -> Figure:
    """Records by registration period, at the two levels years are mostly published at."""
    parts, frames = [], []
    for table, level in zip(tables.periods, ("nine-year", "three-year"), strict=True):
        column = table.by[0]
        null = NOT_PUBLISHED if level == "nine-year" else NOT_AT_LEVEL
        frame = cells(table, ["period"], null)
        order = categories(table, 0, null)
        parts.append(bars(frame, "period", order, axis=column, title=f"{level} periods",
                          width=300))  # fmt: skip
        frames.append(frame.assign(level=level)[["level", *frame.columns]])
    data = pd.concat(frames, ignore_index=True)
    return Figure(
        "periods",
        "Cases by year of registration",
        "Bar charts of records by nine-year and by three-year registration period.",
        "Exact years are rarely published (with many quasi-identifiers and k, a year alone "
        "would single records out): each record is counted in the period it was published "
        "with. A record published as a nine-year period only has no three-year period: "
        f"it is counted as {NOT_AT_LEVEL}. {NOT_PUBLISHED} is a year withheld or not "
        "recorded. "
        f"{_suppressed_note(tables.periods)}",
        alt.hconcat(*parts),
        data,
        (("level", "level"), ("period", "period"), ("label", "records")),
    )


def exploitation(tables: ReleaseTables, schema: Schema) -> Figure:
    """Records flagged with each type of exploitation (one record may have several)."""
    rows = []
    for flag, table in tables.exploitation.items():
        true = [c for c in table.cells if c.values == ("true",)]
        cell = true[0] if true else None
        count = 0 if cell is None else cell.count
        rows.append(
            {
                "type": variable_label(schema, flag),
                "count": count,
                "label": charts.label(count),
                "suppressed": cell.suppressed.value if cell and cell.suppressed else None,
            }
        )
    data = pd.DataFrame(rows, columns=["type", "count", "label", "suppressed"])
    data["count"] = data["count"].astype(object)
    order = list(data["type"])
    return Figure(
        "exploitation",
        "Type of exploitation",
        "Bar chart of records flagged with each type of exploitation.",
        "A record may have several types, so the bars add up to more than the records. A "
        "flag that was not recorded, or withheld, is not counted. "
        f"{_suppressed_note(list(tables.exploitation.values()))}",
        bars(
            data,
            "type",
            order,
            axis="type of exploitation",
            title="Records by type of exploitation",
        ),
        data,
        (("type", "type of exploitation"), ("label", "records")),
    )


def _two_way(
    table: SafeTable, names: tuple[str, str], null: str
) -> tuple[pd.DataFrame, list[str], list[str]]:
    frame = cells(table, list(names), null)
    return frame, categories(table, 0, null), categories(table, 1, null)


def gender_age(tables: ReleaseTables) -> Figure:
    """Records by gender and age: the wide age band and the age group, side by side."""
    parts, frames = [], []
    for table in tables.gender_age:
        level = table.by[1]
        frame, rows, cols = _two_way(table, ("gender", "age"), NOT_PUBLISHED)
        parts.append(
            heatmap(
                frame,
                "gender",
                "age",
                rows,
                cols,
                row_axis="gender",
                column_axis=level.replace("_", " "),
                title=level,
            )
        )
        frames.append(frame.assign(level=level)[["level", *frame.columns]])
    data = pd.concat(frames, ignore_index=True)
    return Figure(
        "gender-age",
        "Gender and age",
        "Heatmaps of records by gender and wide age band, and by gender and age group.",
        "Age is published as a band; the wide band (0-17, 18-29, 30+) and the age group "
        f"(0-17, 18+) are two levels of it. {NOT_PUBLISHED} is a value published more "
        f"coarsely, withheld or not recorded. {_suppressed_note(tables.gender_age)}",
        alt.hconcat(*parts).resolve_scale(color="independent"),
        data,
        (("level", "age level"), ("gender", "gender"), ("age", "age"), ("label", "records")),
    )


def flows(tables: ReleaseTables, top: int = 5) -> Figure:
    """Records by citizenship region and region of exploitation; the top flows named."""
    table = tables.flows
    frame, rows, cols = _two_way(table, ("citizenship", "exploitation"), NOT_PUBLISHED)
    known = frame[
        (frame["citizenship"] != NOT_PUBLISHED)
        & (frame["exploitation"] != NOT_PUBLISHED)
        & frame["count"].notna()
    ]
    ranked = known.sort_values("count", ascending=False, kind="stable").head(top)
    named = "; ".join(f"{r.citizenship} → {r.exploitation}: {r.label}"
                      for r in ranked.itertuples())  # fmt: skip
    chart = heatmap(
        frame,
        "citizenship",
        "exploitation",
        rows,
        cols,
        row_axis="citizenship region",
        column_axis="region of exploitation",
        title="Records by citizenship region and region of exploitation",
    )
    return Figure(
        "flows",
        "Citizenship → country of exploitation",
        "Heatmap of records by citizenship region (rows) and region of exploitation (columns).",
        f"Top flows: {named or 'none published'}. Regions are the coarsest level of each "
        f"country, the one most records keep. {_suppressed_note([table])}",
        chart,
        frame,
        (
            ("citizenship", "citizenship region"),
            ("exploitation", "region of exploitation"),
            ("label", "records"),
        ),
    )


def public_figures(tables: ReleaseTables, schema: Schema) -> list[Figure]:
    """Every figure of the public report, in page order."""
    return [statuses(tables, schema), class_sizes(tables), periods(tables),
            exploitation(tables, schema), gender_age(tables), flows(tables)]  # fmt: skip


def intake(facts: PrivateFacts) -> Figure:
    """Rows staged and quarantined per organization and day of ingest (private)."""
    data = facts.intake
    long = data.melt(id_vars=["org", "day"], value_vars=["staged", "quarantined"],
                     var_name="kind", value_name="rows")  # fmt: skip
    long = long.groupby(["kind", "day", "org"], as_index=False)["rows"].sum()
    parts = []
    for kind in ("staged", "quarantined"):
        part = long[long["kind"] == kind]
        parts.append(
            alt.Chart(part)
            .mark_bar()
            .encode(
                x=alt.X("day:O", title="day of ingest (UTC)", axis=alt.Axis(labelAngle=0)),
                xOffset="org:N",
                y=alt.Y("rows:Q", title=f"rows {kind}"),
                color=alt.Color("org:N", title="organization", scale=ORG_COLORS),
                tooltip=["org", "day", "rows"],
            )
            .properties(title=f"rows {kind}", width=320, height=220)
        )
    long = long.rename(columns={"rows": "count"}).assign(label=lambda f: f["count"].map(
        charts.label))  # fmt: skip
    return Figure(
        "intake",
        "Intake per organization",
        "Bar charts of rows staged and rows quarantined per organization and day of ingest.",
        "From the ledger: every batch ingested up to this release, whether or not a later "
        "snapshot replaced it. Per-organization figures are private: they never go in the "
        "public report.",
        alt.hconcat(*parts),
        long[["kind", "day", "org", "count", "label"]],
        (("kind", "rows"), ("day", "day"), ("org", "organization"), ("label", "rows")),
    )


def reasons(facts: PrivateFacts) -> Figure:
    """Quarantined rows by reason slug, stacked by organization (private)."""
    data = facts.reasons.rename(columns={"rows": "count"})
    data = data.assign(label=data["count"].map(charts.label))
    order = (data.groupby("reason")["count"].sum().sort_values(ascending=False).index.tolist()
             if len(data) else [])  # fmt: skip
    chart = alt.Chart(data).mark_bar().encode(
        y=alt.Y("reason:N", sort=order, title="reason (docs/errors.md)"),
        x=alt.X("count:Q", title="rows quarantined"),
        color=alt.Color("org:N", title="organization", scale=ORG_COLORS),
        tooltip=["org", "reason", "count"],
    ).properties(title="Quarantined rows by reason", width=420,
                 height=max(22 * len(order), 40))  # fmt: skip
    return Figure(
        "quarantine",
        "Quarantine reasons",
        "Stacked bar chart of quarantined rows by reason and organization.",
        "Each reason is an error slug (docs/errors.md); ctdc quarantine export --org ORG "
        "gives the rows back in the organization's own columns, to fix.",
        chart,
        data[["reason", "org", "count", "label"]],
        (("reason", "reason"), ("org", "organization"), ("label", "rows")),
    )


def risk(facts: PrivateFacts) -> Figure:
    """The anonymizer's re-identification risk before and after (private manifest)."""
    data = facts.risk
    y = alt.Y("measure:N", title=None, sort=list(dict.fromkeys(data["measure"])))
    when = alt.Color("when:N", title=None, sort=["before", "after"],
                     scale=alt.Scale(range=["#e45756", "#4c78a8"]),
                     legend=alt.Legend(orient="bottom"))  # fmt: skip
    base = alt.Chart(data).encode(y=y, yOffset=alt.YOffset("when:N", sort=["before", "after"]))
    chart = alt.layer(
        base.mark_bar().encode(
            x=alt.X("value:Q", title="risk or share of records", scale=alt.Scale(domain=[0, 1])),
            color=when,
        ),
        base.mark_text(align="left", dx=3).encode(x="value:Q", text="label:N"),
    ).properties(title="Re-identification risk before and after", width=420, height=200)
    k = facts.manifest.k
    return Figure(
        "risk",
        "Risk before and after",
        f"Bar chart of re-identification risk before and after anonymization (k = {k}).",
        "From the private manifest: prosecutor risk is 1 / the size of a record's class; "
        "before is the records the anonymizer was given, at their recorded values; after is "
        "what it released. The public report gives only the bound the release's k "
        "guarantees.",
        chart,
        data,
        (("measure", "measure"), ("when", "when"), ("label", "value")),
    )


def private_figures(facts: PrivateFacts) -> list[Figure]:
    """The figures only the private report has, in page order."""
    return [intake(facts), reasons(facts), risk(facts)]
