"""Chart primitives: a safe table's cells as a frame, and the two shapes every figure uses.

A bar chart (one column) and a heatmap (two columns), each built so that a
suppressed cell can never be drawn as a number: the published cells and the
suppressed ones go into *separate* layers with their own data, and the
suppressed layer's data has no count column at all, only the category and the
word "suppressed". Vega-Lite drops a row whose quantitative field is null
from the axis too, so the categories are given as an explicit domain: a
suppressed category keeps its place on the axis, drawn as missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from ctdc.stats import SafeTable

SUPPRESSED = "suppressed"
#: the text of a published count in a chart, its data table and its alt text
COUNT_FORMAT = "{:,}"
BAR_COLOR = "#4c78a8"
HIDDEN_FILL = "#eeeeee"
HIDDEN_TEXT = "#666666"
#: a Vega-Lite chart of any composition (layer, concat, facet)
Chart = alt.Chart | alt.LayerChart | alt.HConcatChart | alt.VConcatChart | alt.FacetChart


def label(count: int | None) -> str:
    """A count as shown, or ``suppressed``: the only two things a cell may say."""
    return SUPPRESSED if count is None else COUNT_FORMAT.format(count)


def cells(table: SafeTable, names: Sequence[str], null_label: str | Sequence[str]) -> pd.DataFrame:
    """One row per cell of ``table``: its categories (columns ``names``), count, label, reason.

    ``count`` is None where the cell is suppressed: the safe table holds no
    number there, so none can reach a chart. NULL categories get
    ``null_label`` (one per column, or one for all).
    """
    nulls = [null_label] * len(names) if isinstance(null_label, str) else list(null_label)
    rows = []
    for cell in table.cells:
        row: dict[str, object] = {
            name: nulls[i] if value is None else value
            for i, (name, value) in enumerate(zip(names, cell.values, strict=True))
        }
        row["count"] = cell.count
        row["label"] = label(cell.count)
        row["suppressed"] = cell.suppressed.value if cell.suppressed else None
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*names, "count", "label", "suppressed"])
    frame["count"] = frame["count"].astype(object)  # ints and None, never a float NaN
    return frame


def categories(table: SafeTable, column: int, null_label: str) -> list[str]:
    """The labels of column ``column``'s categories in the column's own order (NULL last).

    For two or more columns the margins list every category of each column in
    order (cells are ordered by the first column first, so they would not);
    for one column the cells are the categories.
    """
    if len(table.by) > 1:
        name = table.by[column]
        values = [m.value for m in table.margins if m.column == name]
    else:
        values = [cell.values[0] for cell in table.cells]
    return [null_label if value is None else value for value in values]


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(published rows, suppressed rows without a count column): the data of separate layers."""
    shown = frame["count"].notna()
    published = frame[shown].copy()
    published["count"] = published["count"].astype("int64")
    hidden = frame[~shown].drop(columns=["count"])
    return published, hidden


def bars(frame: pd.DataFrame, category: str, order: Sequence[str], *, axis: str, title: str,
         value_axis: str = "records", width: int = 420) -> Chart:  # fmt: skip
    """Horizontal bars of ``count`` by ``category``, each labelled; a suppressed one says so."""
    published, hidden = split(frame)
    y = alt.Y(f"{category}:N", title=axis, sort=list(order),
              scale=alt.Scale(domain=list(order)))  # fmt: skip
    x = alt.X("count:Q", title=value_axis)
    layers: list[alt.Chart] = []
    if len(published):
        layers += [
            alt.Chart(published).mark_bar(color=BAR_COLOR).encode(y=y, x=x),
            alt.Chart(published).mark_text(align="left", dx=3).encode(y=y, x=x, text="label:N"),
        ]
    if len(hidden):
        hidden = hidden.assign(at=0)
        layers.append(
            alt.Chart(hidden)
            .mark_text(align="left", dx=3, fontStyle="italic", color=HIDDEN_TEXT)
            .encode(y=y, x=alt.X("at:Q", title=value_axis), text="label:N")
        )
    step = 22
    return alt.LayerChart(layer=layers, title=title, width=width,
                          height=max(step * len(order), 40))  # fmt: skip


def heatmap(frame: pd.DataFrame, row: str, column: str, rows: Sequence[str],
            columns: Sequence[str], *, row_axis: str, column_axis: str, title: str,
            cell: int = 64) -> Chart:  # fmt: skip
    """Cells coloured by ``count`` and labelled with it; a suppressed one grey, saying so.

    A combination with no records has no cell (blank): zeros are not hidden,
    the safe table simply has no row for them.
    """
    published, hidden = split(frame)
    x = alt.X(f"{column}:N", title=column_axis, sort=list(columns),
              scale=alt.Scale(domain=list(columns)), axis=alt.Axis(labelAngle=0))  # fmt: skip
    y = alt.Y(f"{row}:N", title=row_axis, sort=list(rows), scale=alt.Scale(domain=list(rows)))
    layers: list[alt.Chart] = []
    if len(published):  # an empty layer would still draw a colour legend, from 0 to NaN
        top = int(published["count"].max())
        color = alt.Color("count:Q", title="records", scale=alt.Scale(scheme="blues", domainMin=0))
        ink = alt.condition(alt.datum.count > top * 0.55, alt.value("white"), alt.value("black"))
        layers += [
            alt.Chart(published).mark_rect(stroke="white").encode(x=x, y=y, color=color),
            alt.Chart(published).mark_text(fontSize=11).encode(x=x, y=y, text="label:N", color=ink),
        ]
    if len(hidden):
        layers.append(alt.Chart(hidden).mark_rect(color=HIDDEN_FILL, stroke="white")
                      .encode(x=x, y=y))  # fmt: skip
        layers.append(alt.Chart(hidden).mark_text(fontSize=10, fontStyle="italic",
                                                  color=HIDDEN_TEXT)
                      .encode(x=x, y=y, text="label:N"))  # fmt: skip
    width = max(cell * len(columns), 120)
    return alt.LayerChart(layer=layers, title=title, width=width,
                          height=max(26 * len(rows), 40))  # fmt: skip


def describe(frame: pd.DataFrame, names: Sequence[str]) -> str:
    """Every cell in words, ``a, b: 12; c, d: suppressed``, for alt text."""
    parts = [", ".join(str(r[n]) for n in names) + f": {r['label']}" for _, r in frame.iterrows()]
    return "; ".join(parts)
