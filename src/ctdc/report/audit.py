"""``ctdc audit``: one line per check, pass or fail, and what it found (counts, never values)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ctdc.audit import AuditReport
from ctdc.report.cells import cell


def audit_table(report: AuditReport) -> Table:
    """Check, verdict, detail; the caption names the release(s) audited and k."""
    table = Table(title=f"audit of release {report.release}", title_justify="left")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for c in report.checks:
        verdict = (
            Text("skipped", style="dim")
            if c.skipped
            else (Text("pass", style="green") if c.passed else Text("FAIL", style="bold red"))
        )
        table.add_row(cell(c.name), verdict, cell(c.detail))
    against = f" against {report.previous}" if report.previous else ""
    table.caption = f"k={report.k}{against}: " + (
        "every check passed" if report.passed else f"{len(report.failed)} failed"
    )
    return table
