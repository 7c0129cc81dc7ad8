"""The rich console the CLI prints to, without the weight of the report tables.

Kept apart from ``ctdc.report`` (which imports pandas and the stage results)
so that an error line or a warning costs only rich's console: ``ctdc --help``,
``--version`` and a refused option stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

#: width when the output is not a terminal (cron logs, pipes): wide enough for the tables
PIPE_WIDTH = 160


def console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr), ``PIPE_WIDTH`` wide when it is not a terminal."""
    from rich.console import Console

    con = Console(stderr=stderr, highlight=False)
    if not con.is_terminal:
        con = Console(stderr=stderr, highlight=False, width=PIPE_WIDTH)
    return con


def say(text: str, *, stderr: bool = True) -> None:
    """Print one plain line (never read as rich markup), wrapped only by the terminal."""
    console(stderr=stderr).print(text, markup=False, soft_wrap=True, highlight=False)
