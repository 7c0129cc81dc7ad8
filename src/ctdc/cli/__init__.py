"""The ``ctdc`` command line: a thin typer layer over the library, no logic of its own.

Every command resolves settings, calls one library function and renders its
result; one module per command group. This module holds the app, its global
options and the console-script entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctdc import __version__
from ctdc.cli.audit import audit as audit_command
from ctdc.cli.common import State, errors
from ctdc.cli.harmonize import harmonize as harmonize_command
from ctdc.cli.ingest import ingest as ingest_command
from ctdc.cli.ingest import validate as validate_command
from ctdc.cli.key import app as key_app
from ctdc.cli.mapping import app as mapping_app
from ctdc.cli.policy import app as policy_app
from ctdc.cli.quarantine import app as quarantine_app
from ctdc.cli.query import query as query_command
from ctdc.cli.releases import app as releases_app
from ctdc.cli.report import report as report_command
from ctdc.cli.reprocess import reprocess as reprocess_command
from ctdc.cli.sample import sample as sample_command
from ctdc.cli.stats import stats as stats_command
from ctdc.cli.status import status as status_command
from ctdc.cli.synthesize import synthesize as synthesize_command
from ctdc.cli.withdraw import withdraw as withdraw_command
from ctdc.cli.workspace import init as init_command
from ctdc.config import load_settings

app = typer.Typer(
    name="ctdc",
    help="Counter-trafficking data collaborative: ingest exports, publish k-anonymous releases.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    """``--version``: eager, so it answers before typer asks for a command."""
    if value:
        typer.echo(f"ctdc {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="CTDC_HOME",
            readable=False,  # an analyst may pass through the workspace (0711), not list it
            help="Workspace folder \\[default: ./ctdc-data].",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print nothing on success, --json included; errors still print."
        ),
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log-file",
            envvar="CTDC_LOG_FILE",
            dir_okay=False,
            help="Write the JSON-lines log here \\[default: <data-dir>/logs/ctdc.log].",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="CTDC_CONFIG",
            dir_okay=False,
            help="The ctdc.toml to read; its folder stands for the working directory "
            "(pipelines/, schemas/) \\[default: ./ctdc.toml].",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    with errors(debug):
        settings = load_settings(data_dir=data_dir, config=config)
    ctx.obj = State(settings=settings, debug=debug, quiet=quiet, log_file=log_file)


app.command("init")(init_command)
app.command("sample")(sample_command)
app.command("ingest")(ingest_command)
app.command("validate")(validate_command)
app.command("reprocess")(reprocess_command)
app.command("harmonize")(harmonize_command)
app.command("query")(query_command)
app.command("stats")(stats_command)
app.command("report")(report_command)
app.command("audit")(audit_command)
app.command("withdraw")(withdraw_command)
app.command("status")(status_command)
app.command("synthesize")(synthesize_command)
app.add_typer(policy_app, name="policy")
app.add_typer(key_app, name="key")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(mapping_app, name="mapping")
app.add_typer(releases_app, name="releases")


def main() -> None:
    """Console-script entry point."""
    app()
