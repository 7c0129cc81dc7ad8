"""``ctdc releases``: list, show, diff, roll back and prune the workspace's releases.

A thin layer over :mod:`ctdc.releases` (docs/releases.md). ``list``, ``show`` and
``diff`` print counts, settings and ids only, never a row or a pseudonym.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ctdc.cli.common import JsonOption, errors, state, warn, workspace
from ctdc.cli.runlog import logged

app = typer.Typer(
    help="List, compare, roll back and prune releases (docs/releases.md).",
    no_args_is_help=True,
)

IdArgument = Annotated[str, typer.Argument(help="A release id, as `ctdc releases list` shows.")]
ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why: recorded in the release log with who and when.")
]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who asks \\[default: the logged-in user].")
]
WaitOption = Annotated[float, typer.Option(help="Seconds to wait for a running harmonize.")]


def _echo_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, indent=2))


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every release kept in the workspace, oldest first; the current one marked."""
    from ctdc.releases import list_releases

    run = state(ctx)
    with errors(run.debug, as_json=as_json):
        releases = list_releases(workspace(run))
    if as_json:
        _echo_json({"releases": [r.to_dict() for r in releases]})
        return
    if not releases:
        typer.echo("no release yet: run `ctdc harmonize`")
        return
    for r in releases:
        star = "*" if r.current else " "
        epoch = "-" if r.epoch is None else str(r.epoch)
        marks = f"  [{r.marks}]" if r.marks else ""
        typer.echo(f"{star} {r.release_id}  {r.created_at[:19]}  k={r.k} epoch={epoch} "
                   f"records={r.records:,} LM={r.loss_metric:.4f}{marks}")  # fmt: skip


@app.command("show")
def show(ctx: typer.Context, release_id: IdArgument, as_json: JsonOption = False) -> None:
    """One release: its settings, counts, accounting and checks (no row, no pseudonym)."""
    from ctdc.releases import show_release

    run = state(ctx)
    with errors(run.debug, as_json=as_json):
        summary, details = show_release(workspace(run), release_id)
    if as_json:
        _echo_json({**summary.to_dict(), **details})
        return
    for name, value in {**summary.to_dict(), **details}.items():
        typer.echo(f"{name}: {json.dumps(value) if isinstance(value, dict | list) else value}")


@app.command("diff")
def diff(ctx: typer.Context, a: IdArgument, b: IdArgument, as_json: JsonOption = False) -> None:
    """What changed from release A to release B, in counts (no row, no pseudonym)."""
    from ctdc.releases import diff_releases

    run = state(ctx)
    with errors(run.debug, as_json=as_json):
        d = diff_releases(workspace(run), a, b)
    if as_json:
        _echo_json(d.to_dict())
        return

    def pair(name: str, x: object, y: object) -> str:
        return f"{name}: {x} -> {y}" + ("" if x != y else " (same)")

    typer.echo(f"{d.a} -> {d.b}")
    typer.echo(pair("records", f"{d.records[0]:,}", f"{d.records[1]:,}"))
    typer.echo(f"rows added: {d.rows_added:,}, removed: {d.rows_removed:,}")
    if d.records_added is not None:
        typer.echo(f"records added: {d.records_added:,}, removed: {d.records_removed:,}, "
                   f"changed form: {d.records_changed:,}")  # fmt: skip
    typer.echo(pair("k", d.k[0], d.k[1]))
    typer.echo(pair("l", d.l[0] or "off", d.l[1] or "off"))
    typer.echo(pair("epoch", d.epoch[0], d.epoch[1]))
    typer.echo(pair("schema sha256", d.schema_sha256[0][:12], d.schema_sha256[1][:12]))
    typer.echo(pair("LM", f"{d.loss_metric[0]:.4f}", f"{d.loss_metric[1]:.4f}"))
    typer.echo(pair("cells suppressed", f"{d.cells_suppressed[0]:,}",
                    f"{d.cells_suppressed[1]:,}"))  # fmt: skip
    for qi, (x, y) in d.cells_by_qi.items():
        typer.echo(f"  {qi}: {x:,} -> {y:,}")
    for name, (x, y) in d.policy.items():
        typer.echo(f"policy {name}: {x} -> {y}")


@app.command("rollback")
@logged("releases rollback", args=("release_id",))
def rollback(
    ctx: typer.Context,
    release_id: IdArgument,
    reason: ReasonOption,
    by: ByOption = None,
    wait: WaitOption = 0.0,
    as_json: JsonOption = False,
) -> None:
    """Make an older release current again; the next harmonize builds on it."""
    from ctdc.releases import rollback as run_rollback

    run = state(ctx)
    with errors(run.debug, as_json=as_json):
        result = run_rollback(workspace(run), release_id, reason=reason, by=by, wait=wait)
    if run.quiet:  # cron: nothing on success, whatever the format
        return
    if as_json:
        _echo_json(result.to_dict())
        return
    if not result.changed:
        typer.echo(f"release {result.release_id} is already current: nothing changed")
        return
    typer.echo(f"release {result.release_id} is current again (was {result.previous}); "
               f"withdrawn: {', '.join(result.withdrawn)}; {result.kept_out:,} record(s) stay "
               "out of the next releases (docs/privacy.md, Rollback)")  # fmt: skip
    if result.note:
        warn(result.note)


@app.command("prune")
@logged("releases prune", args=("keep",))
def prune(
    ctx: typer.Context,
    keep: Annotated[
        int, typer.Option("--keep", help="Releases to keep: the current one and the newest others.")
    ],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded in the release log.")
    ] = None,
    by: ByOption = None,
    wait: WaitOption = 0.0,
    as_json: JsonOption = False,
) -> None:
    """Remove older releases (private, ledger, public copy) and superseded staging."""
    from ctdc.releases import prune as run_prune

    run = state(ctx)
    with errors(run.debug, as_json=as_json):
        pruned = run_prune(workspace(run), keep, reason=reason, by=by, wait=wait)
    if run.quiet:
        return
    if as_json:
        _echo_json(pruned.to_dict())
        return
    typer.echo(f"removed {len(pruned.releases)} release(s)"
               + (f" ({', '.join(pruned.releases)})" if pruned.releases else "")
               + f" and {pruned.staging} superseded staging file(s)")  # fmt: skip
