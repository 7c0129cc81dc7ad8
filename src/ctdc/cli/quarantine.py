"""``ctdc quarantine``: list, export (to send back) or purge an organization's bad rows."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctdc.cli.common import JsonOption, OrgOption, State, errors, state, warn, workspace
from ctdc.cli.runlog import logged
from ctdc.errors import CtdcError

if TYPE_CHECKING:
    from ctdc.store.workspace import Workspace

app = typer.Typer(
    help="List, export (for correction) or purge an organization's quarantined rows.",
    no_args_is_help=True,
)


@app.command("list")
def list_(
    ctx: typer.Context,
    org: OrgOption,
    rows: Annotated[
        bool,
        typer.Option("--rows", help="Show each open row: where, why, the fix (values redacted)."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Quarantined batches of ORG, with their rows counted by reason (and open), or its rows."""
    from ctdc.mapping import check_org_name
    from ctdc.quarantine import list_batches
    from ctdc.quarantine.store import unfinished_temps

    run = state(ctx)
    with errors(run.debug, as_json=as_json):
        check_org_name(org)
        ws = workspace(run)
        batches = list_batches(ws, org)
        temps = unfinished_temps(ws, org)
        shown = _open_rows(run, ws, org) if rows else []
    if as_json:
        doc = shown if rows else [b.to_dict() for b in batches]
        typer.echo(json.dumps(doc, indent=2))
    elif not batches and not temps:
        typer.echo(f"no quarantined rows for {org}")
    elif rows:
        from ctdc.report.ingest import quarantine_row_lines
        from ctdc.terminal import console

        out = console()
        for line in quarantine_row_lines(shown):
            out.print(line, markup=False, soft_wrap=True, highlight=False)
        if not shown:
            typer.echo(f"no open quarantined rows for {org}")
    elif batches:
        from ctdc.report.ingest import quarantine_batches_table
        from ctdc.terminal import console

        console().print(quarantine_batches_table(org, batches))
    if temps and not as_json:
        warn(f"{temps} unfinished quarantine file(s) of {org}, left by an interrupted ingest, "
             "hold raw rows: the next ingest of the organization or `ctdc quarantine purge` "
             "removes them")  # fmt: skip


def _open_rows(run: State, ws: Workspace, org: str) -> list[dict[str, object]]:
    """The open rows, redacted by the rules of ``ctdc.ingest.redact``: a value is shown only
    when it is a short code of a mapped column of ORG's mapping (none without one)."""
    from ctdc.ingest.redact import code_columns, redacted_rows
    from ctdc.mapping.locate import find_mapping
    from ctdc.quarantine import open_rows
    from ctdc.schema import load_schema

    try:
        codes = code_columns(find_mapping(run.settings.pipelines_dir, org,
                                          load_schema(run.settings.schema_path)))  # fmt: skip
    except CtdcError as exc:
        warn(f"no value is shown: the mapping of {org} cannot be read ({exc.slug})")
        codes = frozenset()
    return redacted_rows(open_rows(ws, org), codes)


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
            help="File to write, in the organization's own format; '-' for standard output "
            "(text formats) \\[default: ./<org>-quarantine.<format>].",
        ),
    ] = None,
) -> None:
    """Write ORG's open quarantined rows in its own format, to send back for fixing.

    The corrected file is ingested with ORG's usual mapping: its ctdc_ columns
    are skipped, and ctdc_quarantine_id closes the rows it corrects.
    """
    from ctdc.mapping import check_org_name
    from ctdc.mapping.locate import find_source
    from ctdc.quarantine import export_dialect, export_quarantine
    from ctdc.quarantine.formats import export_format
    from ctdc.terminal import say

    run = state(ctx)
    with errors(run.debug):
        check_org_name(org)
        ws = workspace(run)
        source = find_source(run.settings.pipelines_dir, org, run.settings.schema_path)
        fmt = export_format(source)
        target = None if str(out) == "-" else (out or Path(f"{org}-quarantine.{fmt}"))
        result = export_quarantine(ws, org, target, source)
    from ctdc.runlog import note

    note(org=org, rows=result.rows, to_stdout=target is None)  # raw rows left: who, how many
    if target is not None and not run.quiet:
        encoding, delimiter = export_dialect(source)
        how = f"{encoding}, {delimiter!r}" if fmt in ("csv", "tsv") else fmt
        say(f"wrote {result.rows:,} quarantined rows to {result.path} ({how}); it holds raw "
            "rows: delete it once sent")  # fmt: skip


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
