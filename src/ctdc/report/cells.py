"""Outside text as a rich table cell, shown and never obeyed.

A :class:`rich.text.Text` is never parsed as rich markup, so a file named
``[link=...]`` stays a name; :func:`ctdc.text.escape` first shows an ESC, C1
or bidi control in it instead of letting the terminal obey it.
"""

from __future__ import annotations

from rich.text import Text

from ctdc.text import escape


def cell(value: object) -> Text:
    """Outside text as a table cell: escaped, and never read as rich markup."""
    return Text(escape(value))
