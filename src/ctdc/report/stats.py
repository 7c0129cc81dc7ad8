"""``ctdc stats``: a safe table as a rich table, a suppressed number as a blank with its reason."""

from __future__ import annotations

from rich.table import Table

from ctdc.report.cells import cell
from ctdc.stats import SafeTable


def _percent(share: object) -> str:
    return f"{share:.1%}" if isinstance(share, float) else ""


def safe_table_view(table: SafeTable) -> Table:
    """Cells, then the margins, then the total, in sections; every label escaped (``cell``)."""
    title = f"release {table.release_id}, k={table.k}"
    if table.where is not None:
        title += f", where {table.where}"
    view = Table(title=cell(title), title_justify="left")
    for name in table.by:
        view.add_column(cell(name))
    view.add_column("count", justify="right")
    if table.share_of is not None:
        view.add_column(cell(f"share {table.share_of}"), justify="right")
    view.add_column("suppressed")
    if table.share_of is not None:
        view.add_column("share suppressed")
    level = "cell"
    for record in table.records():
        if record["level"] != level:
            view.add_section()
            level = record["level"]
        row = [cell(record[name]) for name in table.by]
        row.append(cell("" if record["count"] is None else f"{record['count']:,}"))
        if table.share_of is not None:
            row.append(cell(_percent(record["share"])))
        row.append(cell(record["suppressed"] or ""))
        if table.share_of is not None:
            row.append(cell(record["share_suppressed"] or ""))
        view.add_row(*row)
    view.caption = f"blank = suppressed counts: {_reasons(table.suppressed_counts())}"
    if table.share_of is not None:
        view.caption += f"; shares: {_reasons(table.suppressed_shares())}"
    view.caption += "; a combination not listed has count 0"
    return view


def _reasons(hidden: dict[str, int]) -> str:
    return f"{hidden['primary']} primary (below k), {hidden['complementary']} complementary"
