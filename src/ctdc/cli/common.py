"""What every command shares: the state of a run, error lines and exit codes, progress, options.

Catalogued errors print one line and exit with their code (0 ok, 1 data or
policy, 2 usage, 3 I/O or environment); ``--debug`` lets the exception out
so its traceback shows. Nothing here imports pandas, pyarrow or duckdb: a
command imports what it needs when it runs, so ``ctdc --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ctdc.config import Settings
from ctdc.errors import CtdcError
from ctdc.terminal import say

if TYPE_CHECKING:
    from ctdc.schema import Schema
    from ctdc.store.workspace import Workspace


@dataclass
class State:
    """The settings of this run (``--data-dir``, ``ctdc.toml``), ``--debug``, and the global
    ``--quiet`` and ``--log-file`` (``ctdc.cli.runlog``)."""

    settings: Settings
    debug: bool = False
    quiet: bool = False
    log_file: Path | None = None


def state(ctx: typer.Context) -> State:
    """The run's state, set by the app's callback before any command runs."""
    return ctx.ensure_object(State)


@contextmanager
def errors(
    debug: bool,
    *,
    catch_all: bool = False,
    as_json: bool = False,
    done: Callable[[], dict[str, object]] | None = None,
) -> Iterator[None]:
    """Turn catalogued errors into one stderr line and their exit code.

    ``catch_all`` (commands that read hostile files) also turns any other
    exception into ``internal-error``: one line, with the exception's type but
    not its text, which may quote a value of the file; ``--debug`` still
    shows the traceback.

    ``as_json`` (the command's ``--json``): a script reading stdout gets a JSON
    object there too, not an empty stdout and a line on stderr to parse:
    ``{"error": {slug, message, file, row, column, fix, exit_code}}``, plus
    what ``done`` returns (e.g. the files an ingest finished before the error).
    The stderr line is written as well, for a person or a cron mail.
    """
    try:
        yield
    except CtdcError as exc:
        if debug:
            raise
        _fail(exc, as_json, done)
    except OSError as exc:
        if debug:
            raise
        _fail(CtdcError("io-error", exc.strerror or str(exc), file=exc.filename), as_json, done)
    except Exception as exc:
        if debug or not catch_all or type(exc).__module__.startswith("typer"):
            raise
        _fail(CtdcError("internal-error", f"unexpected {type(exc).__name__}"), as_json, done)


def _fail(err: CtdcError, as_json: bool, done: Callable[[], dict[str, object]] | None) -> NoReturn:
    """Report ``err`` (stderr, and stdout as JSON when asked) and exit with its code."""
    from ctdc.runlog import failed

    failed(err.slug)  # the operations log's end line names the slug (never the message)
    say(err.message())
    if as_json:
        import json

        doc: dict[str, object] = {"error": err.to_dict(), **(done() if done else {})}
        typer.echo(json.dumps(doc, indent=2))  # ASCII: control and bidi characters escaped
    raise typer.Exit(err.exit_code) from None


def warn(text: str) -> None:
    """One ``warning: ...`` line on stderr."""
    say(f"warning: {text}")


def progress(quiet: bool) -> Callable[[str], None]:
    """A step per line on stderr; a bar for long reads, on a terminal; nothing when ``quiet``."""
    from ctdc.progress import Steps
    from ctdc.terminal import console

    return Steps(console(stderr=True), quiet=quiet)


def workspace(run: State) -> Workspace:
    """The run's workspace, its key checked before anything else happens."""
    from ctdc.store.workspace import open_workspace

    return open_workspace(run.settings.data_dir)


def schema(run: State, ws: Workspace | None = None) -> Schema:
    """The schema a command uses (``ctdc.store.resolve.schema_in_use``), warning when it differs."""
    from ctdc.store.resolve import schema_in_use

    chosen = schema_in_use(run.settings.schema_path, ws)
    if chosen.warning:
        warn(chosen.warning)
    return chosen.schema


# help texts are rich markup: a default written into one is escaped as "\\[default: ...]",
# else rich takes it for a style tag and drops it

FilesArgument = Annotated[list[Path], typer.Argument(help="Export files of this organization.")]
OrgMappingOption = Annotated[
    str, typer.Option("--org", help="Organization id (pipelines/<org>.yaml).")
]
OrgOption = Annotated[str, typer.Option("--org", help="Organization id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
JsonSummaryOption = Annotated[bool, typer.Option("--json", help="Print a JSON summary.")]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing on success, --json included.")
]
#: an analyst's query over the public release (``query``, ``stats``): stopped after this long
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0.1, help="Seconds before the query is stopped.")
]
