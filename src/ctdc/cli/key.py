"""``ctdc key``: the pseudonymization key's fingerprint (to check a backup) and its rotation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ctdc.cli.common import errors, state, workspace

app = typer.Typer(
    help="The pseudonymization key: its fingerprint (to check a backup) and its rotation.",
    no_args_is_help=True,
)


@app.command("fingerprint")
def fingerprint(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="A key file to check, e.g. a backup \\[default: the workspace]."
        ),
    ] = None,
) -> None:
    """Print the key's fingerprint (safe to show): a backup is good when both agree."""
    from ctdc.store.resolve import key_file_fingerprint

    run = state(ctx)
    with errors(run.debug):
        if file is None:
            typer.echo(workspace(run).stored_fingerprint())
        else:
            typer.echo(key_file_fingerprint(file))


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    resume: Annotated[
        bool, typer.Option("--resume", help="Finish a rotation that was interrupted.")
    ] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for running ingests.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Add a new key to the key chain and re-key every staged pseudonym (docs/key.md)."""
    from ctdc.store.resolve import existing_workspace
    from ctdc.store.rotation import rotate_key

    run = state(ctx)
    with errors(run.debug, as_json=as_json):
        result = rotate_key(existing_workspace(run.settings.data_dir), resume=resume, wait=wait)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(f"key rotated: fingerprint {result.old_fingerprint} -> {result.new_fingerprint}; "
               f"{result.staging_files} staging files and {result.ledger_entries} ledger entries "
               "re-keyed. Back the key file up again now: the old backup no longer matches "
               "(docs/key.md).")  # fmt: skip
