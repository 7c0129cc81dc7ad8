"""``ctdc report``: the release's HTML report, public (into the public folder) or private."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctdc.cli.common import errors, schema, state, workspace
from ctdc.cli.runlog import logged


@logged("report", args=("private",))
def report(
    ctx: typer.Context,
    private: Annotated[
        bool,
        typer.Option(
            "--private",
            help="Add per-organization intake, quarantine reasons and the risk before "
            "anonymization; written to <data-dir>/reports/<release>.html (0600).",
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            dir_okay=False,
            help="Where to write it \\[default: <public>/report.html, or "
            "<data-dir>/reports/<release>.html with --private].",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print nothing on success.")] = False,
) -> None:
    """Write the current release's report: one HTML file, charts inline (docs/report.md).

    Every count is a safe aggregate (docs/stats.md): a suppressed cell is
    drawn as missing and says "suppressed". The public report has no
    per-organization figure; the private one stays in the workspace.
    """
    run = state(ctx)
    with errors(run.debug):
        ws = workspace(run)
        from ctdc.release_report import (
            check_out,
            private_report,
            public_report,
            workspace_area,
            write_report,
        )

        area = workspace_area(ws)
        if out is not None:
            check_out(out, private=private, area=area)
        chosen = schema(run, ws)
        built = (private_report(ws, chosen, public_root=area.root) if private
                 else public_report(area.root, chosen))  # fmt: skip
        path = write_report(ws, built, out=out, area=area)
    from ctdc.runlog import note

    note(release_id=built.release_id, private=private)
    if not (quiet or run.quiet):
        kind = "private" if private else "public"
        typer.echo(f"{kind} report of release {built.release_id}: {path}")
