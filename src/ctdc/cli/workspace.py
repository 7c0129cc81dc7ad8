"""``ctdc init``: create a workspace, its key and its pinned release policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctdc.cli.common import errors, state, warn
from ctdc.cli.runlog import logged


@logged("init", args=("k", "k_floor"))
def init(
    ctx: typer.Context,
    k: Annotated[
        int | None, typer.Option("--k", min=2, help="k of the release policy \\[default: 10].")
    ] = None,
    k_floor: Annotated[
        int | None,
        typer.Option("--k-floor", min=2, help="No release below this k \\[default: k]."),
    ] = None,
    publish_dir: Annotated[
        Path | None,
        typer.Option("--publish-dir", help="Analysts' folder \\[default: <data-dir>/public]."),
    ] = None,
    public_mode: Annotated[
        str,
        typer.Option(
            "--public-mode", help="Public folders' mode: 0755 (everyone), 0750 (group), 0700."
        ),
    ] = "0755",
) -> None:
    """Create a workspace: a new pseudonymization key (0600) and the pinned release policy.

    Never overwrites a key or a policy: an existing workspace keeps both.
    """
    from ctdc.store.init_options import parse_public_mode, policy_differs
    from ctdc.store.policy import load_policy
    from ctdc.store.workspace import init_workspace

    run = state(ctx)
    with errors(run.debug):
        ws, created = init_workspace(run.settings.data_dir, k=k, k_floor=k_floor,
                                     schema_path=run.settings.schema_path,
                                     publish_dir=publish_dir,
                                     public_mode=parse_public_mode(public_mode))  # fmt: skip
        policy = load_policy(ws)
        from ctdc.runlog import note

        note(created_key=created, fingerprint=ws.stored_fingerprint())
        if run.quiet:
            return
        typer.echo(policy.summary())
        if policy_differs(policy, k=k, k_floor=k_floor, publish_dir=publish_dir):
            warn("the workspace keeps the policy it has; change it on the record with "
                 "`ctdc policy set NAME=VALUE --reason ...`")  # fmt: skip
        what = "created key" if created else "key already present, kept"
        typer.echo(f"workspace {ws.root} ready ({what}: {ws.key_path.name}, fingerprint "
                   f"{ws.stored_fingerprint()}). Back the key up (docs/key.md): without it, "
                   "re-exported cases can no longer be linked.")  # fmt: skip
