"""Progress on stderr: a dim line per step, and a rich progress bar for long reads.

A :class:`Steps` is what the CLI hands to long-running work as its
``progress`` callback: calling it prints a step (``… reading export.csv``),
and work that knows how far it is (ingest of a large file) asks it for a
:meth:`Steps.bar`. The bar appears only on a terminal (never in cron logs,
pipes or tests) and disappears when done, leaving the summary table alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from rich.console import Console
from rich.markup import escape as markup_escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ctdc.text import escape

#: ``update(done, rows)``: bytes of the file read so far (0 if unknown) and records so far
Update = Callable[[int, int], None]


def _nothing(_done: int, _rows: int) -> None:
    return None


class Steps:
    """A ``progress`` callback that can also draw a bar; silent when ``quiet``."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console, self.quiet = console, quiet

    def __call__(self, message: str) -> None:
        """Print a step; it may name an export, so it is escaped and never read as markup."""
        if not self.quiet:
            self.console.print(Text(f"… {escape(message)}", style="dim"))

    @contextmanager
    def bar(self, description: str, total: int | None) -> Iterator[Update]:
        """A bar over ``total`` bytes (None: unknown, rows only) while the block runs."""
        if self.quiet or not self.console.is_terminal:
            yield _nothing
            return
        columns = [
            TextColumn("[dim]{task.description}[/dim]"),
            BarColumn(),
            DownloadColumn() if total else TextColumn(""),
            TextColumn("{task.fields[rows]:,} rows"),
            TimeElapsedColumn(),
            TimeRemainingColumn() if total else TextColumn(""),
        ]
        with Progress(*columns, console=self.console, transient=True) as bar:
            # the description (a file name) is read as markup by TextColumn: escape both ways
            task = bar.add_task(markup_escape(escape(description)), total=total, rows=0)

            def update(done: int, rows: int) -> None:
                bar.update(task, completed=done if total else None, rows=rows)

            yield update


def bar_of(progress: object, description: str, total: int | None) -> AbstractContextManager[Update]:
    """``progress.bar(...)`` if the callback can draw one, else a context that does nothing."""
    bar = getattr(progress, "bar", None)
    if callable(bar):
        return bar(description, total)
    return _no_bar()


@contextmanager
def _no_bar() -> Iterator[Update]:
    yield _nothing
