"""``ctdc quarantine``: list, export (to send back) or purge an organization's bad rows."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ctdc.cli.common import JsonOption, OrgOption, errors, state, warn, workspace
from ctdc.cli.runlog import logged
from ctdc.errors import CtdcError

app = typer.Typer(
    help="List, export (for correction) or purge an organization's quarantined rows.",
    no_args_is_help=True,
)


@app.command("list")
def list_(ctx: typer.Context, org: OrgOption, as_json: JsonOption = False) -> None:
    """Quarantined batches of ORG, with their rows counted by reason."""
    from ctdc.mapping import check_org_name
    from ctdc.quarantine import list_batches
    from ctdc.quarantine.store import unfinished_temps

    run = state(ctx)
    with errors(run.debug, as_json=as_json):
        check_org_name(org)
        ws = workspace(run)
        batches = list_batches(ws, org)
        temps = unfinished_temps(ws, org)
    if as_json:
        typer.echo(json.dumps([b.to_dict() for b in batches], indent=2))
    elif not batches and not temps:
        typer.echo(f"no quarantined rows for {org}")
    elif batches:
        from ctdc.report.ingest import quarantine_batches_table
        from ctdc.terminal import console

        console().print(quarantine_batches_table(org, batches))
    if temps and not as_json:
        warn(f"{temps} unfinished quarantine file(s) of {org}, left by an interrupted ingest, "
             "hold raw rows: the next ingest of the organization or `ctdc quarantine purge` "
             "removes them")  # fmt: skip


@app.command("export")
@logged("quarantine export", args=("org",))
def export(
    ctx: typer.Context,
    org: OrgOption,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="CSV to write, '-' for standard output \\[default: ./<org>-quarantine.csv].",
        ),
    ] = None,
) -> None:
    """Write the quarantined rows as a CSV in ORG's own column names, to send back for fixing."""
    from ctdc.mapping import check_org_name
    from ctdc.mapping.locate import find_source
    from ctdc.quarantine import export_csv, export_dialect
    from ctdc.terminal import say

    run = state(ctx)
    with errors(run.debug):
        check_org_name(org)
        ws = workspace(run)
        source = find_source(run.settings.pipelines_dir, org, run.settings.schema_path)
        encoding, delimiter = export_dialect(source)
        target = None if str(out) == "-" else (out or Path(f"{org}-quarantine.csv"))
        result = export_csv(ws, org, target, encoding=encoding, delimiter=delimiter)
    from ctdc.runlog import note

    note(org=org, rows=result.rows, to_stdout=target is None)  # raw rows left: who, how many
    if target is not None and not run.quiet:
        say(f"wrote {result.rows:,} quarantined rows to {result.path} ({encoding}, "
            f"{delimiter!r}); it holds raw rows: delete it once sent")  # fmt: skip


@app.command("purge")
@logged("quarantine purge", args=("org",))
def purge(
    ctx: typer.Context,
    org: OrgOption,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every quarantined row of ORG for good (the raw rows it holds included)."""
    from ctdc.mapping import check_org_name
    from ctdc.quarantine import list_batches
    from ctdc.quarantine import purge as purge_org

    run = state(ctx)
    with errors(run.debug):
        check_org_name(org)
        ws = workspace(run)
        if not yes:
            rows = sum(b.rows for b in list_batches(ws, org))
            if not sys.stdin.isatty():
                raise CtdcError(
                    "bad-option",
                    f"purge would delete {rows:,} quarantined rows of {org} for good",
                    fix="pass --yes to purge without a prompt",
                )
            typer.confirm(f"Delete all {rows:,} quarantined rows of {org} for good?", abort=True)
        result = purge_org(ws, org)
    from ctdc.runlog import note

    note(org=org, batches=result.batches, rows=result.rows, temp_files=result.temp_files)
    if run.quiet:
        return
    temps = (f", and {result.temp_files} unfinished file(s) of interrupted ingests"
             if result.temp_files else "")  # fmt: skip
    typer.echo(f"purged {result.rows:,} rows in {result.batches} batches of {org}{temps}")
