"""``ctdc stats``: counts (and shares) by columns of the public release, safe to publish."""

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


def _columns(values: list[str]) -> list[str]:
    """``--by a,b --by c`` -> [a, b, c] (blanks around names dropped)."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def stats(
    ctx: typer.Context,
    by: Annotated[
        list[str],
        typer.Option("--by", help="Columns to count by: COL[,COL...] (or --by repeated)."),
    ],
    where: Annotated[
        str | None,
        typer.Option("--where", help="A condition over the columns of `cases` (SQL)."),
    ] = None,
    share: Annotated[
        str | None,
        typer.Option("--share", help="A BOOLEAN column: give each cell's share of TRUE rows."),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    k: Annotated[
        int | None,
        typer.Option("--k", min=1, help="Raise k above the release's (never lower it)."),
    ] = None,
    release: Annotated[
        Path | None,
        typer.Option(
            "--release",
            "--public-dir",
            envvar="CTDC_PUBLIC_DIR",
            help="The public folder to read \\[default: <data-dir>/public].",
        ),
    ] = None,
    timeout: TimeoutOption = 60.0,
    dp: Annotated[
        float | None,
        typer.Option(
            "--dp",
            metavar="EPSILON",
            help="Differentially private counts of the "
            "true staged records, with this epsilon, charged to the privacy budget "
            "and published in <public>/dp/ (docs/stats.md).",
        ),
    ] = None,
) -> None:
    """Counts by columns of the current public release, cells below k suppressed (docs/stats.md).

    Publishes the cells and the total; for 2+ columns also each column's
    margins. Suppressed numbers are blank, with the reason: primary (below k)
    or complementary (so no hidden number can be recomputed from the others).
    With --dp: noisy counts of every cell of the schema's values instead (the steward's
    command: it reads the workspace), each with its 95% interval.
    """
    if dp is not None:
        from ctdc.cli.stats_dp import dp_stats

        dp_stats(ctx, _columns(by), dp, share=share, fmt=fmt.value,
                 refused={"--where": where, "--k": k, "--release": release})  # fmt: skip
        return
    from ctdc.query import Limits
    from ctdc.stats import safe_table
    from ctdc.store.resolve import default_public_dir
    from ctdc.text import escape, escape_json

    run = state(ctx)
    with errors(run.debug):
        root = release if release is not None else default_public_dir(run.settings.data_dir)
        table = safe_table(root, _columns(by), where=where, share=share, k=k,
                           limits=Limits(timeout=timeout))  # fmt: skip
    if fmt is Format.csv:  # labels are the release's values: escaped like query's cells
        typer.echo(escape(table.to_csv(), keep="\t\n\r"), nl=False)
    elif fmt is Format.json:
        typer.echo(escape_json(table.to_json()))
    else:
        from ctdc.report.stats import safe_table_view
        from ctdc.terminal import console

        console().print(safe_table_view(table))
