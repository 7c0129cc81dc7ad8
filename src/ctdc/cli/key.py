"""``ctdc key``: the pseudonymization key's fingerprint (to check a backup) and its rotation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ctdc.cli.common import errors, state, workspace
from ctdc.cli.runlog import logged

app = typer.Typer(
    help="The pseudonymization key: its fingerprint, its backup and its rotation.",
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


@app.command("backup")
@logged("key backup")
def backup(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            dir_okay=False,
            help="The backup file, outside the workspace (created 0600; never overwritten).",
        ),
    ],
) -> None:
    """Copy the key to FILE, check the copy's fingerprint and record the date of the backup.

    `ctdc status` warns while no backup of the key in place is on record (a
    rotation makes the last one stale). The record holds the date and the
    fingerprint, never the key or where the copy is.
    """
    from ctdc.runlog import note
    from ctdc.store.key_backup import backup_key

    run = state(ctx)
    with errors(run.debug):
        result = backup_key(workspace(run), out)
    note(fingerprint=result.record.fingerprint, written=result.written)
    if run.quiet:
        return
    done = "wrote" if result.written else "checked the existing"
    typer.echo(f"{done} backup {out} (fingerprint {result.record.fingerprint}); recorded "
               f"{result.record.backed_up_at}. Keep it where only the data steward can read it "
               "(docs/key.md).")  # fmt: skip


@app.command("rotate")
@logged("key rotate", args=("resume",))
def rotate(
    ctx: typer.Context,
    resume: Annotated[
        bool, typer.Option("--resume", help="Finish a rotation that was interrupted.")
    ] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for running ingests.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Add a new key to the key chain and re-key every staged pseudonym (docs/key.md)."""
    from ctdc.runlog import note
    from ctdc.runlog.facts import rotation_facts
    from ctdc.store.resolve import existing_workspace
    from ctdc.store.rotation import rotate_key

    run = state(ctx)
    with errors(run.debug, as_json=as_json):
        result = rotate_key(existing_workspace(run.settings.data_dir), resume=resume, wait=wait)
    note(**rotation_facts(result))
    if run.quiet:
        return
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(f"key rotated: fingerprint {result.old_fingerprint} -> {result.new_fingerprint}; "
               f"{result.staging_files} staging files and {result.ledger_entries} ledger entries "
               "re-keyed. Back the key file up again now: the old backup no longer matches "
               "(docs/key.md).")  # fmt: skip
