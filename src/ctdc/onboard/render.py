"""The scaffold's YAML, written as text to carry its comments.

Every line says why: why each column was placed where it is, how many rows
each value has, what is left to do. Values the scaffold cannot map are
written as commented ``# value: TODO`` lines at the entry's indentation, so
that the file loads as it is and an editor's toggle-comment puts the entry in
place.
"""

from __future__ import annotations

import datetime as dt
import json

import yaml

from ctdc.errors import CtdcError
from ctdc.onboard.plan import ColumnPlan, Scaffold, ValueNote
from ctdc.schema import Schema
from ctdc.text import escape, escape_json, has_unsafe
from ctdc.yamlio import TextLoader, load_yaml_text


def _yaml_formats(fmt: str | tuple[str, ...]) -> str:
    """A date format, or a list of them, as YAML."""
    if isinstance(fmt, str):
        return q(fmt)
    return "[" + ", ".join(q(f, flow=True) for f in fmt) + "]"


def _roundtrips(text: str, value: object) -> bool:
    for loader in (yaml.SafeLoader, TextLoader):
        try:
            if load_yaml_text(text, loader) != value:
                return False
        except (yaml.YAMLError, CtdcError):  # CtdcError: an anchor or alias in a sample value
            return False
    return True


def q(value: str, *, key: bool = False, flow: bool = False) -> str:
    """``value`` as a YAML scalar that reads back as this text with any loader.

    A value with a control, bidi or separator character (``ctdc.text``) is
    always double-quoted with that character escaped (``"\\u009b"``): YAML
    refuses C1 controls written as themselves, reads U+0085/U+2028 as line
    breaks, and an editor would show a bidi override reordering the line.
    """
    plain = str(value)
    if plain and plain == plain.strip() and "\n" not in plain and not has_unsafe(plain):
        if key:
            probe = _roundtrips(f"{plain}: ~", {plain: None})
        elif flow:
            probe = _roundtrips(f"{{k: {plain}}}", {"k": plain})
        else:
            probe = _roundtrips(f"k: {plain}", {"k": plain})
        if probe:
            return plain
    return escape_json(json.dumps(plain, ensure_ascii=False))


class _Lines:
    """YAML lines with their comments aligned."""

    COMMENT_AT = 44

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str = "", comment: str = "") -> None:
        if comment:
            pad = max(self.COMMENT_AT - len(text), 2) if text else 0
            # escaped: a line break (U+0085, U+2028 too) would end the comment, a C1 control
            # makes the YAML unreadable, and a column name or value may hold either
            comment = "# " + escape(comment.replace("\n", " "))
            self.lines.append(f"{text}{' ' * pad}{comment}" if text else comment)
        else:
            self.lines.append(text)

    def comment(self, text: str, indent: int = 0) -> None:
        text = escape(text)
        self.lines.append(" " * indent + "# " + text if text else " " * indent + "#")

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines) + "\n"


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _values_block(out: _Lines, plan: ColumnPlan, indent: int, header: str) -> None:
    pad = " " * indent
    entries = [v for v in plan.values if v.status == "entry"]
    todo = plan.todo
    if not entries and not todo:
        return
    out.add(f"{pad}values:", header)
    for v in entries:
        out.add(f"{pad}  {q(v.value, key=True)}: {v.target}", _value_comment(v))
    for v in todo:  # "# " at the entry's column: an editor's uncomment leaves it in place
        out.add(f"{pad}  # {q(v.value, key=True)}: TODO", _value_comment(v))


def _value_comment(v: ValueNote) -> str:
    text = _rows(v.rows)
    if v.also:
        text += f" (also written {', '.join(map(repr, v.also))})"
    return f"{text}; {v.why}" if v.why else text


def render(s: Scaffold, schema: Schema) -> str:
    out = _Lines()
    todo_values = sum(len(v) for v in s.todo_values.values())
    out.comment(f"{s.org}: mapping scaffolded by `ctdc mapping init` from {s.file.name} "
                f"({s.rows:,} rows) on {dt.date.today().isoformat()}.")  # fmt: skip
    out.comment("Review every line (docs/mapping.md), then run:")
    out.comment(f"  ctdc validate --org {s.org} {s.file.name}")
    if s.unplaced or todo_values:
        out.comment("TODO:")
    if s.unplaced:
        n = len(s.unplaced)
        out.comment(f"- {n} column{'s are' if n > 1 else ' is'} not placed yet; validate stops "
                    "on each (unmapped-column) until it is")  # fmt: skip
        out.comment("  in drop: (it identifies a person), ignore: (not needed) or mapped:")
        for c in s.unplaced:
            extra = f"  (looks like a multi-value column of {c.extra['group']})" if (
                "group" in c.extra) else ""  # fmt: skip
            out.comment(f"    {c.column}{extra}")
    if todo_values:
        out.comment(f"- {todo_values} source values need a vocabulary entry: the `# value: TODO` "
                    "lines; until")  # fmt: skip
        out.comment("  then validate quarantines their rows as unknown-value")
    out.add()
    out.add(f"org: {s.org}")
    out.add(f"description: {q(f'{s.org} — {s.source.format} export (scaffolded; describe it)')}")
    out.add(f"data_source: {q(s.data_source)}", s.data_source_why)
    out.add()
    out.add("source:", "pinned from what was read; check each guess")
    notes = {n.split()[0]: n for n in s.source_notes}
    out.add(f"  format: {s.source.format}", notes.get("format", ""))
    if s.source.format in ("csv", "tsv", "json", "ndjson"):
        out.add(f"  encoding: {s.source.encoding}", notes.get("encoding", ""))
    if s.source.format == "csv":
        out.add(f"  delimiter: {json.dumps(s.source.delimiter)}", notes.get("delimiter", ""))
    if s.source.format == "xlsx":
        if s.source.sheet is not None:
            out.add(f"  sheet: {q(s.source.sheet)}", notes.get("sheet", ""))
        out.add(f"  header_row: {s.source.header_row}")
        if s.source.header_rows > 1:
            out.add(f"  header_rows: {s.source.header_rows}", "names joined with ' / '")
    out.add()

    plans = s.columns
    case = next((c for c in plans if c.kind == "case_id"), None)
    if case is not None:
        out.add(f"case_id: {q(case.column)}", f"{case.how} ({case.score:.2f}); "
                + "; ".join(case.notes))  # fmt: skip
    else:
        out.add("case_id: TODO", "TODO: the column with the local case id (unique per export)")
    out.add()
    drops = [c for c in plans if c.kind == "drop"]
    out.add("drop:" if drops else "drop: []", "direct identifiers: read, never staged")
    for c in drops:
        out.add(f"  - {q(c.column)}", c.how + ("; " + "; ".join(c.notes) if c.notes else ""))
    ignores = [c for c in plans if c.kind == "ignore"]
    if ignores:
        out.add()
        out.add("ignore:")
        for c in ignores:
            out.add(f"  - {q(c.column)}", f"{c.how}: ctdc derives it from the flags")
    out.add()
    if s.missing:
        out.add("missing:", 'tokens found for "not recorded" (NA is Namibia: never one)')
        out.add('  - ""')
        for token, n in s.missing:
            out.add(f"  - {q(token)}", f"{_rows(n)}")
        out.add()

    age = next((c for c in plans if c.kind in ("age", "birth_date")), None)
    if age is not None:
        out.add("age:")
        if age.kind == "age":
            out.add(f"  column: {q(age.column)}", f"{age.how} ({age.score:.2f}); "
                    "age band and majority status are derived from it")  # fmt: skip
        else:
            out.add(f"  birth_date: {q(age.column)}", "the age at registration comes from it; "
                    "the date itself is never staged")  # fmt: skip
            out.add(f"  birth_date_format: {_yaml_formats(age.extra['birth_date_format'])}",
                    "; ".join(age.notes))  # fmt: skip
        out.add()

    out.add("fields:")
    fields = {c.target: c for c in plans if c.kind == "field"}
    for f in schema.fields:
        plan = fields.get(f.name)
        if plan is None:
            continue
        how = f"{plan.how} ({plan.score:.2f})"
        simple = not plan.values and not plan.extra and not plan.notes
        if simple:
            out.add(f"  {f.name}: {{column: {q(plan.column, flow=True)}}}", how)
            continue
        out.add(f"  {f.name}:")
        out.add(f"    column: {q(plan.column)}", how)
        if "date_format" in plan.extra:
            out.add(f"    date_format: {_yaml_formats(plan.extra['date_format'])}",
                    "; ".join(plan.notes))  # fmt: skip
        elif plan.notes and f.type != "country":
            out.comment("; ".join(plan.notes), 4)
        if "country" in plan.extra:
            out.add(f"    country: {plan.extra['country']}", "; ".join(plan.notes))
            if "language" in plan.extra:
                out.add(f"    language: {plan.extra['language']}")
        targets_text = ("true, false or null" if f.type == "boolean" else
                        "an ISO alpha-2 code or null" if f.type == "country" else
                        f"{', '.join(f.values)} or null")  # fmt: skip
        _values_block(out, plan, 4, f"source value -> {targets_text}")
    if not fields:
        out.comment("TODO: no column matched a schema field", 2)
    multis = [c for c in plans if c.kind == "multi" or "group" in c.extra]
    if multis:
        out.add()
        out.add("multi:", "multi-value columns -> the flags of one group")
    for c in multis:
        if c.kind == "multi":
            out.add(f"  - column: {q(c.column)}", f"{c.how} ({c.score:.2f})")
            out.add(f"    separator: {json.dumps(c.extra['separator'])}")
            _values_block(out, c, 4, f"label -> a flag of {c.target}")
            if c.todo:
                flags = ", ".join(f.name for f in schema.groups[c.target].flags)
                out.comment(f"flags: {flags}", 6)
            continue
        out.add(f"  # - column: {q(c.column)}", f"TODO: {c.how} ({c.score:.2f}); no label "
                "mapped yet: fill in, uncomment")  # fmt: skip
        out.add(f"  #   separator: {json.dumps(c.extra['separator'])}")
        out.add("  #   values:", f"label -> a flag of {c.extra['group']}:")
        flags = ", ".join(f.name for f in schema.groups[c.extra["group"]].flags)
        out.comment(f"    flags: {flags}", 2)
        for v in c.values:
            out.add(f"  #     {q(v.value, key=True)}: TODO", _value_comment(v))
    return out.text()
