"""``ctdc mapping init``: how the sample was read, where each column went, what is left to do."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from ctdc.limits import MAX_SHOWN_CODE_CHARS
from ctdc.onboard.plan import Scaffold
from ctdc.report.cells import cell
from ctdc.text import describe, escape


def _code(value: str) -> Text:
    """A source value of a vocabulary column: shown if it is code-sized, else described."""
    if len(value) <= MAX_SHOWN_CODE_CHARS:
        return cell(value)
    return Text(f"(not shown: {describe(value)})")


def scaffold_summary(scaffold: Scaffold, written: Path) -> list[str | Table]:
    """``ctdc mapping init``: how the file was read, where each column went, what is left."""
    s = scaffold
    src = s.source
    how = f"{src.format}"
    if src.format in ("csv", "tsv", "json", "ndjson"):
        how += f", {src.encoding}"
    if src.format == "csv":
        how += f", delimiter {src.delimiter!r}"
    if src.format == "xlsx" and src.sheet:
        how += f", sheet {src.sheet!r}"
    out: list[str | Table] = [
        escape(f"read {s.file.name} ({s.rows:,} rows) as {how}")
        + (" — guessed: check `source:` in the scaffold" if s.source_notes else "")
    ]
    table = Table(title=cell(f"columns of {s.file.name}"), title_justify="left")
    for col in ("column", "placed as", "why"):
        table.add_column(col)
    for c in s.columns:
        placed = {"field": f"fields.{c.target}", "multi": f"multi -> {c.target}",
                  "age": "age.column", "birth_date": "age.birth_date",
                  "unplaced": "TODO: not placed"}.get(c.kind, c.kind)  # fmt: skip
        if c.kind == "unplaced" and "group" in c.extra:
            placed = f"TODO: multi -> {c.extra['group']}, once its labels are mapped"
        table.add_row(cell(c.column), cell(placed), cell(c.how or "-"))
    out.append(table)
    todo = s.todo_values
    if todo:
        vals = Table(title="source values that need a vocabulary entry", title_justify="left")
        for col in ("column", "value", "rows"):
            vals.add_column(col, justify="right" if col == "rows" else "left")
        for column, values in todo.items():
            for i, (value, rows) in enumerate(values):
                vals.add_row(cell(column if i == 0 else ""), _code(value), f"{rows:,}")
        out.append(vals)
    else:
        out.append("every value of the mapped columns is translated")
    if s.unplaced:
        names = ", ".join(repr(c.column) for c in s.unplaced)
        out.append(escape(f"not placed (validate stops on each with unmapped-column): {names}"))
    out.append(escape(f"wrote {written}; fill in its TODO lines, then: "
                      f"ctdc validate --org {s.org} {s.file}"))  # fmt: skip
    return out
