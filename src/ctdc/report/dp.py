"""``ctdc stats --dp``: a DP table as a rich table, each noisy count with its 95% interval."""

from __future__ import annotations

import math

from rich.table import Table

from ctdc.dp.aggregates import DpTable
from ctdc.report.cells import cell


def _label(value: object) -> str:
    return (
        "(null)"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else str(value)
    )


def dp_table_view(table: DpTable) -> Table:
    """One row per cell of the key set (empty ones too), the interval beside the count."""
    title = (f"DP counts, epsilon={table.epsilon:g}, delta={table.delta:g}, "
             f"discrete Laplace scale {table.scale:g}, release {table.release_id} "
             f"(epoch {table.epoch})")  # fmt: skip
    view = Table(title=cell(title), title_justify="left")
    for name in table.by:
        view.add_column(cell(name))
    view.add_column("count", justify="right")
    view.add_column("95% interval", justify="right")
    if table.share:
        view.add_column(cell(f"share {table.share}"), justify="right")
        view.add_column("95% interval", justify="right")
    frame = table.frame.astype(object).where(table.frame.notna(), None)
    for row in frame.to_dict(orient="records"):
        out = [cell(_label(row[name])) for name in table.by]
        out += [
            cell(f"{row['count']:,}"),
            cell(f"{row['count_low']:.0f} to {row['count_high']:.0f}"),
        ]
        if table.share:
            share = row["share"]
            out += [cell("" if share is None else f"{share:.1%}"),
                    cell(f"{row['share_low']:.0%} to {row['share_high']:.0%}")]  # fmt: skip
        view.add_row(*out)
    view.caption = (
        "noisy counts (may be negative); the true count lies in its interval "
        "with 95% probability; every combination of the schema's values is listed"
    )
    return view
