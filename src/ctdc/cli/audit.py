"""``ctdc audit``: attack a public release as the steward and say, check by check, if it holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ctdc.cli.common import JsonOption, errors, schema, state, workspace


def audit(
    ctx: typer.Context,
    release: Annotated[
        Path | None,
        typer.Argument(help="A release folder \\[default: the public `current` release]."),
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="The release before it \\[default: the public one before RELEASE, if any].",
        ),
    ] = None,
    k: Annotated[
        int | None, typer.Option("--k", min=2, help="k to audit for \\[default: the policy's].")
    ] = None,
    markers: Annotated[
        list[str] | None,
        typer.Option(
            "--marker",
            help="A string planted in an export that must never be published (repeatable).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the privacy audit on a release; exit 1 (audit-failed) if any check fails."""
    run = state(ctx)
    shown: dict[str, object] = {}  # with --json, a failed audit's report joins its error
    with errors(run.debug, as_json=as_json, done=lambda: shown):
        ws = workspace(run)
        from ctdc.audit import (
            audit_release,
            default_release,
            previous_public_release,
            workspace_area,
        )
        from ctdc.errors import CtdcError
        from ctdc.slugs import Slug
        from ctdc.store.policy import load_policy

        area = workspace_area(ws)
        chosen = release if release is not None else default_release(area)
        if chosen is None:
            raise CtdcError(
                Slug.FILE_NOT_FOUND,
                "no public release to audit yet",
                file=area.current,
                fix="run `ctdc harmonize` first",
            )
        if not (chosen / "cases.parquet").is_file():
            raise CtdcError(
                Slug.FILE_NOT_FOUND, "not a release folder (no cases.parquet)", file=chosen
            )
        previous = against if against is not None else previous_public_release(area, chosen)
        report = audit_release(
            ws, schema(run, ws), chosen, previous, k=k or load_policy(ws).k, markers=markers or ()
        )
        if as_json:
            if report.passed:
                typer.echo(json.dumps(report.to_dict(), indent=2))
            shown.update(report.to_dict())  # one JSON object on stdout, the error's
        else:
            from ctdc.report.audit import audit_table
            from ctdc.terminal import console

            console().print(audit_table(report))
        if not report.passed:
            names = ", ".join(c.name for c in report.failed)
            raise CtdcError(
                Slug.AUDIT_FAILED,
                f"{len(report.failed)} of {len(report.checks)} checks failed: {names}",
            )
