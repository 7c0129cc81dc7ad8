"""``ctdc status``: organizations, quarantine, release, last runs and what needs attention."""

from __future__ import annotations

import json

import typer

from ctdc.cli.common import JsonOption, QuietOption, errors, state, warn
from ctdc.errors import CtdcError


def status(ctx: typer.Context, as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """What an operator checks: organizations and their last batches, batches not yet
    released and records held, quarantine sizes and ages, the current release, each
    command's last run and its outcome, and warnings (silent organization, quarantine
    past retention, key not backed up, a failed run). Warnings go to stderr; with
    --quiet they are all that prints. Exit 0 whatever the warnings (docs/operations.md).
    """
    from ctdc.store.resolve import existing_workspace

    run = state(ctx)
    quiet = quiet or run.quiet
    with errors(run.debug, as_json=as_json):
        ws = existing_workspace(run.settings.data_dir)  # a refused key is a warning here
        from ctdc.ingest.reprocess import stale_by_org
        from ctdc.schema import load_schema
        from ctdc.status import workspace_status

        try:
            stale = stale_by_org(ws, run.settings.pipelines_dir,
                                 load_schema(run.settings.schema_path))  # fmt: skip
        except CtdcError as exc:  # the schema: every other fact still shows
            warn(f"mappings not compared ({exc.slug})")
            stale = {}
        found = workspace_status(ws, stale=stale)
    if not quiet:
        if as_json:
            typer.echo(json.dumps(found.to_dict(), indent=2))
        else:
            from ctdc.report.status import status_lines, status_tables
            from ctdc.terminal import console

            out = console()
            for line in status_lines(found):
                out.print(line, markup=False, highlight=False, soft_wrap=True)
            for table in status_tables(found):
                out.print(table)
    for item in found.warnings:
        warn(f"[{item.code}] {item.message}")
