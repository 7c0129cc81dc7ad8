"""The error catalogue: every error ctdc reports, with a stable slug and its fix.

Two kinds of failure share the catalogue. *Row-level* slugs are quarantine
reason codes: a row that carries one is set aside with the slug, the column
and the offending value, and the ingest goes on. *Run-level* slugs stop the
command: they are raised as :class:`CtdcError` and the CLI prints one line
naming file, row and column, then exits with the catalogue's exit code
(docs/errors.md: 0 ok, 1 data/policy failure, 2 usage error, 3 I/O or environment).

Slugs are an interface: data officers grep for them, the quarantine stores
them, docs/errors.md lists them. Never rename one; add a new one instead.
Their names (:class:`ctdc.slugs.Slug`) and exit codes live in ``slugs.py``, the entries in
``catalogue.py``, so that this module stays the exception that uses them.
"""

from __future__ import annotations

from pathlib import Path

from ctdc.catalogue import CATALOGUE, ErrorKind
from ctdc.slugs import Slug
from ctdc.text import escape

__all__ = ["CATALOGUE", "CtdcError", "ErrorKind"]


class CtdcError(Exception):
    """A user-facing failure with a slug from the catalogue.

    The message is one line a data officer can act on: what is wrong, where
    (file, row, column) and how to fix it. The CLI prints it and exits with
    the slug's exit code; only ``--debug`` shows a traceback.
    """

    def __init__(
        self,
        slug: Slug | str,
        detail: str = "",
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        if slug not in CATALOGUE:
            raise KeyError(f"unknown error slug {slug!r}: add it to the catalogue in catalogue.py")
        self.slug = Slug(slug)
        self.kind = CATALOGUE[self.slug]
        self.detail = detail
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.fix = fix or self.kind.fix
        super().__init__(self.message())

    def located(self, file: str | Path | None) -> CtdcError:
        """Fill in the file when the code that raised did not know it."""
        if self.file is None and file is not None:
            self.file = str(file)
            self.args = (self.message(),)
        return self

    @property
    def exit_code(self) -> int:
        return int(self.kind.exit_code)

    def message(self) -> str:
        """The one line the CLI prints, with control and bidi characters escaped.

        File and column names come from outside (an export named with an ESC
        in it, a column with U+202E): :func:`ctdc.text.escape` shows them as
        ``\\xNN``/``\\uNNNN`` instead of letting the terminal obey them. Only
        the detail may keep a line break (YAML errors quote the offending line).
        """
        where = []
        if self.file:
            where.append(escape(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {escape(repr(self.column))}")
        place = ", ".join(where)
        text = escape(self.detail or self.kind.title, keep="\n")
        head = f"{place}: {text}" if place else text
        fix = escape(self.fix, keep="\n")
        return f"error[{self.slug}]: {head} — fix: {fix}"

    def to_dict(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "message": self.detail or self.kind.title,
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "fix": self.fix,
            "exit_code": self.exit_code,
        }
