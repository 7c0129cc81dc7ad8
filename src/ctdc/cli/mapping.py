"""``ctdc mapping init``: a first ``pipelines/<org>.yaml`` drafted from a sample export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ctdc.cli.common import OrgOption, errors, schema, state

app = typer.Typer(
    help="Write a first pipelines/<org>.yaml from a sample export.", no_args_is_help=True
)


@app.command("init")
def init(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A sample export of the organization.")],
    org: OrgOption,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Mapping to write \\[default: <org>.yaml in the pipelines folder of "
            "ctdc.toml, else ./pipelines].",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing mapping.")] = False,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, tsv, xlsx, json, ndjson or parquet.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding \\[default: guessed].")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter \\[default: guessed].")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet \\[default: the first].")] = None,
    header_row: Annotated[
        int | None, typer.Option(min=1, help="XLSX row of the column names \\[default: 1].")
    ] = None,
    header_rows: Annotated[
        int | None,
        typer.Option(
            min=1, max=5, help="XLSX rows the header spans (merged labels) \\[default: 1]."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Scaffold a mapping: columns matched to the schema, values still to translate listed."""
    from ctdc.mapping import check_org_name
    from ctdc.mapping.locate import scaffold_target
    from ctdc.onboard import build_scaffold, check_target, guess_source, write_scaffold
    from ctdc.text import escape_json

    run = state(ctx)
    # a sample export is hostile input: no traceback
    with errors(run.debug, catch_all=True, as_json=as_json):
        check_org_name(org)
        target = scaffold_target(run.settings.pipelines_dir, org, out)
        check_target(target, org, force=force)  # before reading a large file
        used = schema(run)
        source, notes = guess_source(file, fmt=fmt, encoding=encoding, delimiter=delimiter,
                                     sheet=sheet, header_row=header_row,
                                     header_rows=header_rows)  # fmt: skip
        scaffold = build_scaffold(file, org, used, source=source, source_notes=notes)
        written = write_scaffold(scaffold, used, target, force=force)
        if as_json:
            typer.echo(escape_json(json.dumps({**scaffold.to_dict(), "written": str(written)},
                                              indent=2, ensure_ascii=False)))  # fmt: skip
            return
        from ctdc.report.onboard import scaffold_summary
        from ctdc.terminal import console

        con = console()
        for part in scaffold_summary(scaffold, written):
            if isinstance(part, str):
                con.print(part, markup=False, soft_wrap=True, highlight=False)
            else:
                con.print(part)
