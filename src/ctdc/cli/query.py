"""``ctdc query``: one read-only SELECT over the public release, as an analyst runs it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ctdc.cli.common import TimeoutOption, errors, state


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def query(
    ctx: typer.Context,
    sql: Annotated[
        str,
        typer.Argument(help="One SELECT over the views `cases`, `dictionary` and `release_log`."),
    ],
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    public_dir: Annotated[
        Path | None,
        typer.Option(
            "--public-dir",
            envvar="CTDC_PUBLIC_DIR",
            help="The public folder harmonize publishes to \\[default: <data-dir>/public].",
        ),
    ] = None,
    timeout: TimeoutOption = 60.0,
) -> None:
    """Run one read-only SELECT over the current public release (no key or workspace needed)."""
    from ctdc.query import Limits, run_query
    from ctdc.store.resolve import default_public_dir
    from ctdc.text import escape, escape_json

    run = state(ctx)
    with errors(run.debug):
        root = public_dir if public_dir is not None else default_public_dir(run.settings.data_dir)
        frame = run_query(root, sql, limits=Limits(timeout=timeout))
    if fmt is Format.csv:  # cells escaped like the table: SQL can build any string
        typer.echo(escape(frame.to_csv(index=False), keep="\t\n\r"), nl=False)
    elif fmt is Format.json:
        typer.echo(escape_json(frame.to_json(orient="records", force_ascii=False)))
    else:
        from ctdc.report.query import frame_table
        from ctdc.terminal import console

        console().print(frame_table(frame))
