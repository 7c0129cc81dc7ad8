"""``ctdc policy``: show the pinned release policy, or change it on the record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ctdc.cli.common import JsonOption, errors, schema, state, workspace
from ctdc.cli.runlog import logged

app = typer.Typer(
    help="Show or change the workspace's release policy (k, floor, l, levels, schema).",
    no_args_is_help=True,
)

ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why: recorded in the policy history with who and when.")
]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who asks \\[default: the logged-in user].")
]


@app.command("show")
def show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The pinned policy and every change made to it."""
    from ctdc.store.policy import history, load_policy

    run = state(ctx)
    with errors(run.debug, as_json=as_json):
        ws = workspace(run)
        policy, changes = load_policy(ws), history(ws)
    if as_json:
        history_docs = [change.to_dict() for change in changes]
        typer.echo(json.dumps({"policy": policy.to_dict(), "history": history_docs}, indent=2))
        return
    typer.echo(policy.summary())
    for change in changes:
        typer.echo(change.summary())


@app.command("set")
@logged("policy set")
def set_(
    ctx: typer.Context,
    settings: Annotated[
        list[str],
        typer.Argument(
            help="NAME=VALUE: k, k_floor, l (a number or off), levels.FIELD (a level or auto)."
        ),
    ],
    reason: ReasonOption,
    by: ByOption = None,
) -> None:
    """Change the release policy; the change is recorded (who, when, old, new, why)."""
    from ctdc.store.policy import change_policy
    from ctdc.store.policy_settings import parse_settings

    run = state(ctx)
    with errors(run.debug):
        ws = workspace(run)
        values = parse_settings(settings, schema(run, ws))
        policy = change_policy(ws, values, by=by, reason=reason)
    from ctdc.runlog import note

    note(settings=sorted(values))  # the names set; the reason is free text, never logged
    if not run.quiet:
        typer.echo(policy.summary())


@app.command("schema")
@logged("policy schema")
def schema_(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The schema YAML to pin (with its hierarchies).")],
    reason: ReasonOption,
    by: ByOption = None,
) -> None:
    """Pin another schema: later releases use it, from whatever folder they run."""
    from ctdc.store.policy import adopt_schema

    run = state(ctx)
    with errors(run.debug):
        policy = adopt_schema(workspace(run), path, by=by, reason=reason)
    from ctdc.runlog import note

    note(schema_sha256=policy.schema_sha256[:12])
    if not run.quiet:
        typer.echo(policy.summary())
