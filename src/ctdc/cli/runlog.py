"""``@logged``: a command that changes the workspace writes its start and end to the log.

Put under ``@app.command(...)`` (or applied where a command is registered),
it runs the command inside ``ctdc.runlog.open_run`` with the run's settings:
the workspace's ``logs/ctdc.log`` or ``--log-file``, rotated per ``ctdc.toml``.
``args`` names the command's options whose values go in the start line (an
organization id, a mode, k): each is allow-listed by ``ctdc.runlog.safe``, so
a value that is not a plain token is logged as ``<redacted>``. A list (export
files, case ids) is logged as its length only, never its items.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from ctdc.cli.common import state, warn

F = TypeVar("F", bound=Callable[..., Any])


def logged(command: str, *, args: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Log ``command`` (e.g. ``"key rotate"``) around the decorated typer command."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def run(*a: Any, **kw: Any) -> Any:
            from ctdc.runlog import open_run

            ctx = kw.get("ctx") or next(x for x in a if isinstance(x, typer.Context))
            settings, st = state(ctx).settings, state(ctx)
            start = {name: _loggable(kw.get(name)) for name in args}
            with open_run(command, data_dir=settings.data_dir, log_file=st.log_file,
                          max_bytes=settings.log_max_bytes, backups=settings.log_backups,
                          start=start, on_problem=warn):  # fmt: skip
                return fn(*a, **kw)

        return run  # type: ignore[return-value]

    return wrap


def _loggable(value: object) -> object:
    """A list (files, case ids) as its length; anything else as it is (``safe`` checks it)."""
    return len(value) if isinstance(value, list | tuple) else value
