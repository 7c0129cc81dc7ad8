"""``codebook.md`` and ``codebook.html``: every column, its type, level, NULL and values.

Like CTDC's published codebook, for readers who never open the dictionary
table: what a row is, how generalization and suppression show (the level
columns and the statuses), the files of the release, a summary of the columns,
then each column with its type, variable, hierarchy level, role, CTDC name,
group, the meaning of NULL and every value with its meaning, and the hierarchy
tables. It is built once as a small document (headings, paragraphs, tables)
from the dictionary and rendered twice, so the two files say the same thing.
The HTML is self-contained (its style inline, no script, no link outside
itself) so it opens from a USB stick or a mail attachment.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ctdc.package.columns import Column, levels_of
from ctdc.package.info import ReleaseInfo

CODEBOOK_MD = "codebook.md"
CODEBOOK_HTML = "codebook.html"


@dataclass(frozen=True)
class Code:
    """Text shown as code (a column name, a value)."""

    text: str


Cell = str | Code


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str | None = None


@dataclass(frozen=True)
class Para:
    parts: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


Block = Heading | Para | Table


def _para(*parts: Cell) -> Para:
    return Para(tuple(parts))


def _level(column: Column, columns: Sequence[Column]) -> str:
    if column.level is None:
        return ""
    return f"{column.level} of {levels_of(list(columns), column.variable) - 1}"


def _column_blocks(column: Column, columns: Sequence[Column]) -> list[Block]:
    facts: list[tuple[Cell, ...]] = [("Type", Code(column.sql_type))]
    facts.append(("Variable", Code(column.variable)))
    if column.level is not None:
        facts.append(("Hierarchy level", f"{_level(column, columns)} (0 = as recorded)"))
    facts.append(("Role", column.role.replace("_", "-")))
    if column.ctdc_name:
        facts.append(("CTDC name", Code(column.ctdc_name)))
    if column.group:
        facts.append(("Group", Code(column.group)))
    facts.append(("NULL means", column.null_means))
    if column.values and not column.closed:
        facts.append(("Values", "any combination of the labels below, joined by ';'"))
    blocks: list[Block] = [Heading(3, column.name, anchor=f"col-{column.name}"),
                           _para(column.description), Table(("", ""), tuple(facts))]  # fmt: skip
    if column.values:
        rows = tuple((Code(v), m) for v, m in column.values)
        blocks.append(Table(("value" if column.closed else "label", "meaning"), rows))
    return blocks


def document(columns: Sequence[Column], info: ReleaseInfo,
             files: Sequence[tuple[str, str]],
             hierarchies: Sequence[tuple[str, Sequence[str]]]) -> list[Block]:  # fmt: skip
    """The codebook as blocks. ``files`` are (name, what it holds); ``hierarchies`` are
    (table file, its columns)."""
    statuses = next((c.values for c in columns if c.role == "status"), ())
    blocks: list[Block] = [
        Heading(1, f"Codebook of ctdc release {info.release_id}"),
        _para(
            f"One row per identified victim case, pooled from the organizations of the "
            f"collaborative and released k-anonymous with k = {info.k}"
            + (f" and l = {info.l}" if info.l else "")
            + f": every combination of quasi-identifiers is shared by at least {info.k} rows. "
            f"Schema {info.schema_name} version {info.schema_version}; published "
            f"{info.created_at}; ctdc {info.ctdc_version}. Generated from the release's "
            "dictionary.parquet, like every other description of it."
        ),
        _para("Cite as: ", info.citation),
        Heading(2, "Reading a row", anchor="reading"),
        _para(
            "A quasi-identifier with a hierarchy has one column per level (the finest first). "
            "A generalized value is published in the column of its level; the finer columns "
            "are then NULL and the coarser ones hold its ancestors, so one column never mixes "
            "levels. Each quasi-identifier has a ",
            Code("<name>_status"),
            " column:",
        ),
        Table(("status", "meaning"), tuple((Code(v), m) for v, m in statuses)),
        _para(
            "The hierarchy tables (below) give every level of every value, so any row can be "
            "rolled up to a coarser level with a join on the finest column."
        ),
        Heading(2, "Files", anchor="files"),
        Table(("file", "what it holds"), tuple((Code(n), what) for n, what in files)),
        Heading(2, "Columns", anchor="columns"),
        Table(
            ("column", "type", "variable", "level", "role", "NULL means"),
            tuple(
                (
                    Code(c.name),
                    c.sql_type,
                    c.variable,
                    _level(c, columns),
                    c.role.replace("_", "-"),
                    c.null_means,
                )
                for c in columns
            ),
        ),
    ]
    for column in columns:
        blocks += _column_blocks(column, columns)
    blocks.append(Heading(2, "Hierarchy tables", anchor="hierarchies"))
    for name, names in hierarchies:
        blocks.append(_para(Code(name), ": one row per leaf, columns ",
                            *_joined([Code(n) for n in names]), "."))  # fmt: skip
    return blocks


def _joined(cells: Sequence[Cell]) -> list[Cell]:
    out: list[Cell] = []
    for i, cell in enumerate(cells):
        out += [", "] if i else []
        out.append(cell)
    return out


def _md_text(text: str) -> str:
    """Plain text safe in Markdown (and in a table cell)."""
    for ch in "\\`*[]<>|":
        text = text.replace(ch, "\\" + ch)
    return text


def _md_cell(cell: Cell) -> str:
    if isinstance(cell, Code):
        return "`" + cell.text.replace("`", "'").replace("|", "\\|") + "`"
    return _md_text(cell)


def to_markdown(blocks: Sequence[Block]) -> str:
    """GitHub-flavoured Markdown."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            text = f"`{block.text}`" if block.anchor and block.anchor.startswith("col-") else (
                _md_text(block.text))  # fmt: skip
            out.append("#" * block.level + " " + text)
        elif isinstance(block, Para):
            out.append("".join(_md_cell(p) for p in block.parts))
        else:
            out.append("| " + " | ".join(_md_text(h) for h in block.header) + " |")
            out.append("|" + "---|" * len(block.header))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
        out.append("")
    return "\n".join(out)


def _html_cell(cell: Cell) -> str:
    if isinstance(cell, Code):
        return f"<code>{html.escape(cell.text)}</code>"
    return html.escape(cell)


_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b1b1b; }
table { border-collapse: collapse; margin: 0.5rem 0 1.2rem; }
th, td { border: 1px solid #c8c8c8; padding: 0.2rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f0f0f0; }
code { font: 0.92em ui-monospace, monospace; background: #f5f5f5; padding: 0 0.2em; }
h3 { margin-top: 2rem; border-top: 1px solid #ddd; padding-top: 1rem; }
"""


def to_html(blocks: Sequence[Block], title: str) -> str:
    """One self-contained HTML page, with links from the column summary to each column."""
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{html.escape(title)}</title>", f"<style>{_STYLE}</style>", "</head>",
           "<body>"]  # fmt: skip
    for block in blocks:
        if isinstance(block, Heading):
            anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
            text = html.escape(block.text)
            if block.anchor and block.anchor.startswith("col-"):
                text = f"<code>{text}</code>"
            out.append(f"<h{block.level}{anchor}>{text}</h{block.level}>")
        elif isinstance(block, Para):
            out.append("<p>" + "".join(_html_cell(p) for p in block.parts) + "</p>")
        else:
            out.append("<table>")
            if any(block.header):
                out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in block.header)
                           + "</tr>")  # fmt: skip
            for row in block.rows:
                cells = [_html_cell(c) for c in row]
                if block.header and block.header[0] == "column" and isinstance(row[0], Code):
                    cells[0] = f'<a href="#col-{html.escape(row[0].text)}">{cells[0]}</a>'
                out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            out.append("</table>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def write_codebook(folder: Path, columns: Sequence[Column], info: ReleaseInfo,
                   files: Sequence[tuple[str, str]],
                   hierarchies: Sequence[tuple[str, Sequence[str]]]) -> list[str]:  # fmt: skip
    """Write ``codebook.md`` and ``codebook.html`` into ``folder``; return their names."""
    blocks = document(columns, info, files, hierarchies)
    (folder / CODEBOOK_MD).write_text(to_markdown(blocks), encoding="utf-8")
    title = f"Codebook of ctdc release {info.release_id}"
    (folder / CODEBOOK_HTML).write_text(to_html(blocks, title), encoding="utf-8")
    return [CODEBOOK_MD, CODEBOOK_HTML]
