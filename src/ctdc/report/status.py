"""``ctdc status`` as text: a few lines and tables for a person; warnings go to stderr."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table

from ctdc.report.cells import cell
from ctdc.status import Status


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _day(stamp: str | None) -> str:
    return stamp[:10] if stamp else "-"


def status_lines(status: Status) -> list[str]:
    """The headline: workspace, key and backup, current release, last run."""
    lines = [f"workspace {status.workspace} (as of {status.as_of})"]
    key = status.key
    if key is not None:
        backup = f"backed up {_day(key.backed_up_at)}" if key.backed_up_at else "never backed up"
        state = f"refused: {key.problem}" if key.problem else f"fingerprint {key.fingerprint}"
        lines.append(f"key: {state}, {backup}")
    rel = status.release
    if rel is None:
        lines.append("release: none published yet")
    else:
        lines.append(f"release: {rel.release_id} ({_n(rel.age_days)} days old), k={rel.k}, "
                     f"{rel.released:,} records released, {rel.held:,} held, "
                     f"{rel.withheld:,} withheld, {rel.batches} batches")  # fmt: skip
    dp = status.privacy_budget
    if dp is not None:
        lines.append(f"privacy budget: epsilon {dp.used:g} of {dp.budget:g} used by "
                     f"{dp.products} DP products (all epochs), {dp.left:g} left")  # fmt: skip
    last = status.last_run
    if last is None:
        lines.append("last run: none logged")
    else:
        why = f" ({last.slug})" if last.slug else ""
        code = "" if last.exit_code is None else f", exit {last.exit_code}"
        lines.append(f"last run: ctdc {last.command} started {last.started}: "
                     f"{last.outcome}{why}{code}")  # fmt: skip
    return lines


def status_tables(status: Status) -> list[RenderableType]:
    """Organizations, quarantine and each command's last run, as tables (empty ones left out)."""
    out: list[RenderableType] = []
    if status.organizations:
        orgs = Table(title="organizations", title_justify="left")
        for col in (
            "org",
            "batches",
            "last batch",
            "ingested",
            "days ago",
            "read",
            "staged",
            "quarantined",
            "unreleased batches",
            "unreleased rows",
            "held",
            "withheld",
        ):
            orgs.add_column(col, justify="left" if col in ("org", "last batch", "ingested")
                            else "right")  # fmt: skip
        for o in status.organizations:
            orgs.add_row(cell(o.org), _n(o.batches), o.last_batch or "-",
                         _day(o.last_ingested_at), _n(o.days_since_last), _n(o.last_rows_read),
                         _n(o.last_staged), _n(o.last_quarantined), _n(o.unreleased_batches),
                         _n(o.unreleased_rows), _n(o.held), _n(o.withheld))  # fmt: skip
        out.append(orgs)
    if status.quarantine:
        q = Table(title="quarantine", title_justify="left")
        for col in ("org", "batches", "rows", "bytes", "oldest", "oldest (days)", "unfinished"):
            q.add_column(col, justify="left" if col in ("org", "oldest") else "right")
        for item in status.quarantine:
            q.add_row(cell(item.org), _n(item.batches), _n(item.rows), _n(item.bytes),
                      _day(item.oldest_at), _n(item.oldest_days), _n(item.unfinished))  # fmt: skip
        out.append(q)
    if status.runs:
        runs = Table(title="last run of each command", title_justify="left")
        for col in ("command", "outcome", "exit", "slug", "started", "seconds"):
            runs.add_column(col, justify="right" if col in ("exit", "seconds") else "left")
        for r in sorted(status.runs, key=lambda r: r.started or "", reverse=True):
            secs = "-" if r.duration_s is None else f"{r.duration_s:,.1f}"
            runs.add_row(r.command, r.outcome, _n(r.exit_code), r.slug or "-", r.started or "-",
                         secs)  # fmt: skip
        out.append(runs)
    return out
