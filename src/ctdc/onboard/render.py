"""The scaffold's YAML: every column, value and guess, with a comment that says why.

Every line says why: why each column was placed where it is, how many rows
each value has, what is left to do. Values the scaffold cannot map are
``# value: TODO`` comment lines at the entry's indentation, so that the file
loads as it is and an editor's toggle-comment puts the entry in place. The
YAML itself is ruamel.yaml's, through :mod:`ctdc.onboard.yamldoc`.
"""

from __future__ import annotations

import datetime as dt

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ctdc.onboard.plan import ColumnPlan, Scaffold, ValueNote
from ctdc.onboard.yamldoc import Doc, Empty, always_quoted, flow_list_or_one, flow_map, q, quoted
from ctdc.schema import Schema


def _target(text: str | None) -> object:
    """The YAML value of an entry's target (``null``, ``true`` and ``false`` typed)."""
    return {"null": None, "true": True, "false": False}.get(text or "null", text)


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _value_comment(v: ValueNote) -> str:
    text = _rows(v.rows)
    if v.also:
        text += f" (also written {', '.join(map(repr, v.also))})"
    return f"{text}; {v.why}" if v.why else text


def _values(doc: Doc, where: CommentedMap, plan: ColumnPlan, indent: int, header: str) -> None:
    entries = [v for v in plan.values if v.status == "entry"]
    todo = plan.todo
    if not entries and not todo:
        return
    values = CommentedMap() if entries else Empty()
    doc.put(where, "values", values, header)
    for v in entries:
        assert isinstance(values, CommentedMap)
        doc.put(values, v.value, _target(v.target), _value_comment(v))
    for v in todo:  # "# " at the entry's column: an editor's uncomment leaves it in place
        doc.line(f"# {_hint(v)}", _hint_comment(v), indent=indent + 2)


def _hint(v: ValueNote) -> str:
    """A commented entry: the suggested one where there is one, else ``value: TODO``, which
    the mapping loader refuses (naming its line) if it is uncommented as it is."""
    if v.suggested is None:
        return f"{q(v.value, key=True)}: TODO"
    target = _target(v.suggested)
    shown = "null" if target is None else str(target).lower() if isinstance(target, bool) else (
        q(str(target)))  # fmt: skip
    return f"{q(v.value, key=True)}: {shown}"


def _hint_comment(v: ValueNote) -> str:
    text = _value_comment(v)
    return f"{text}: check it, then uncomment" if v.suggested is not None else text


def _head(doc: Doc, s: Scaffold) -> None:
    todo_values = sum(len(v) for v in s.todo_values.values())
    doc.line(comment=f"{s.org}: mapping scaffolded by `ctdc mapping init` from {s.file.name} "
                     f"({s.rows:,} rows) on {dt.date.today().isoformat()}.")  # fmt: skip
    doc.line(comment="Review every line (docs/mapping.md), then run:")
    doc.line(comment=f"  ctdc validate --org {s.org} {s.file.name}")
    if s.unplaced or todo_values:
        doc.line(comment="TODO:")
    if s.unplaced:
        n = len(s.unplaced)
        doc.line(comment=f"- {n} column{'s are' if n > 1 else ' is'} not placed yet; validate "
                         "stops on each (unmapped-column) until it is")  # fmt: skip
        doc.line(comment="  in drop: (it identifies a person), ignore: (not needed) or mapped:")
        for c in s.unplaced:
            extra = f"  (looks like a multi-value column of {c.extra['group']})" if (
                "group" in c.extra) else ""  # fmt: skip
            doc.line(comment=f"    {c.column}{extra}")
    if todo_values:
        doc.line(comment=f"- {todo_values} source values need a vocabulary entry: the "
                         "commented `# value: ...` lines;")  # fmt: skip
        doc.line(comment="  until then validate quarantines their rows as unknown-value")
    doc.line()


def _source(doc: Doc, s: Scaffold) -> None:
    src, root = CommentedMap(), doc.root
    doc.put(root, "source", src, "pinned from what was read; check each guess")
    notes = {n.split()[0]: n for n in s.source_notes}
    doc.put(src, "format", s.source.format, notes.get("format", ""))
    if s.source.format in ("csv", "tsv", "json", "ndjson"):
        doc.put(src, "encoding", s.source.encoding, notes.get("encoding", ""))
    if s.source.format == "csv":
        doc.put(src, "delimiter", always_quoted(s.source.delimiter), notes.get("delimiter", ""))
    if s.source.format == "xlsx":
        if s.source.sheet is not None:
            doc.put(src, "sheet", s.source.sheet, notes.get("sheet", ""))
        doc.put(src, "header_row", s.source.header_row)
        if s.source.header_rows > 1:
            doc.put(src, "header_rows", s.source.header_rows, "names joined with ' / '")
    doc.line()


def _columns(doc: Doc, s: Scaffold) -> None:
    root, plans = doc.root, s.columns
    case = next((c for c in plans if c.kind == "case_id"), None)
    if case is not None:
        doc.put(root, "case_id", case.column, f"{case.how} ({case.score:.2f}); "
                + "; ".join(case.notes))  # fmt: skip
    else:
        doc.put(root, "case_id", "TODO", "TODO: the column with the local case id (unique per "
                "export)")  # fmt: skip
    doc.line()
    drops = [c for c in plans if c.kind == "drop"]
    drop = CommentedSeq()
    if not drops:
        drop.fa.set_flow_style()
    doc.put(root, "drop", drop, "direct identifiers: read, never staged")
    for c in drops:
        doc.item(drop, c.column, c.how + ("; " + "; ".join(c.notes) if c.notes else ""))
    ignores = [c for c in plans if c.kind == "ignore"]
    if ignores:
        doc.line()
        ignore = CommentedSeq()
        doc.put(root, "ignore", ignore)
        for c in ignores:
            doc.item(ignore, c.column, f"{c.how}: ctdc derives it from the flags")
    doc.line()
    if s.missing:
        missing = CommentedSeq([""])
        doc.put(root, "missing", missing, 'tokens found for "not recorded" (NA is Namibia: '
                "never one)")  # fmt: skip
        for token, n in s.missing:
            why = s.missing_why.get(token)
            doc.item(missing, token, f"{_rows(n)}; {why}" if why else _rows(n))
        doc.line()
    age = next((c for c in plans if c.kind in ("age", "birth_date")), None)
    if age is not None:
        block = CommentedMap()
        doc.put(root, "age", block)
        if age.kind == "age":
            doc.put(block, "column", age.column, f"{age.how} ({age.score:.2f}); age band and "
                    "majority status are derived from it")  # fmt: skip
        else:
            doc.put(block, "birth_date", age.column, "the age at registration comes from it; "
                    "the date itself is never staged")  # fmt: skip
            doc.put(block, "birth_date_format", flow_list_or_one(age.extra["birth_date_format"]),
                    "; ".join(age.notes))  # fmt: skip
        doc.line()


def _fields(doc: Doc, s: Scaffold, schema: Schema) -> None:
    placed = {c.target: c for c in s.columns if c.kind == "field"}
    fields = CommentedMap() if placed else Empty()
    doc.put(doc.root, "fields", fields)
    if not isinstance(fields, CommentedMap):
        doc.line(comment="TODO: no column matched a schema field", indent=2)
        return
    for f in schema.fields:
        plan = placed.get(f.name)
        if plan is None:
            continue
        how = f"{plan.how} ({plan.score:.2f})"
        if not plan.values and not plan.extra and not plan.notes:
            doc.put(fields, f.name, flow_map(column=plan.column), how)
            continue
        rule = CommentedMap()
        doc.put(fields, f.name, rule)
        doc.put(rule, "column", plan.column, how)
        if "date_format" in plan.extra:
            doc.put(rule, "date_format", flow_list_or_one(plan.extra["date_format"]),
                    "; ".join(plan.notes))  # fmt: skip
        elif plan.notes and f.type != "country":
            doc.line(comment="; ".join(plan.notes), indent=4)
        if "country" in plan.extra:
            doc.put(rule, "country", plan.extra["country"], "; ".join(plan.notes))
            if "language" in plan.extra:
                doc.put(rule, "language", plan.extra["language"])
        targets = ("true, false or null" if f.type == "boolean" else
                   "an ISO alpha-2 code or null" if f.type == "country" else
                   f"{', '.join(f.values)} or null")  # fmt: skip
        _values(doc, rule, plan, 4, f"source value -> {targets}")


def _multi(doc: Doc, s: Scaffold, schema: Schema) -> None:
    multis = [c for c in s.columns if c.kind == "multi" or "group" in c.extra]
    if not multis:
        return
    doc.line()
    mapped = [c for c in multis if c.kind == "multi"]
    seq = CommentedSeq() if mapped else Empty()
    doc.put(doc.root, "multi", seq, "multi-value columns -> the flags of one group")
    for c in mapped:
        assert isinstance(seq, CommentedSeq)
        rule = CommentedMap()
        doc.item(seq, rule)
        doc.put(rule, "column", c.column, f"{c.how} ({c.score:.2f})")
        doc.put(rule, "separator", always_quoted(c.extra["separator"]))
        flags = ", ".join(f.name for f in schema.groups[c.target].flags)
        # the flags in the header's own comment: a comment line among the entries would
        # become an entry when a block of lines is uncommented
        _values(doc, rule, c, 4, f"label -> a flag of {c.target}"
                + (f": {flags}" if c.todo else ""))  # fmt: skip
    for c in multis:  # not one label mapped: the whole entry commented out, to fill in
        if c.kind == "multi":
            continue
        doc.line(f"  # - column: {q(c.column)}", f"TODO: {c.how} ({c.score:.2f}); no label "
                 "mapped yet: fill in, uncomment")  # fmt: skip
        doc.line(f"  #   separator: {quoted(c.extra['separator'])}")
        flags = ", ".join(f.name for f in schema.groups[c.extra["group"]].flags)
        doc.line("  #   values:", f"label -> a flag of {c.extra['group']}: {flags}")
        for v in c.values:
            doc.line(f"  #     {q(v.value, key=True)}: TODO", _value_comment(v))


def render(s: Scaffold, schema: Schema) -> str:
    """The scaffold as a commented mapping file."""
    doc = Doc()
    _head(doc, s)
    root = doc.root
    doc.put(root, "org", s.org)
    doc.put(root, "description", f"{s.org} — {s.source.format} export (scaffolded; describe it)")
    doc.put(root, "data_source", s.data_source, s.data_source_why)
    doc.line()
    _source(doc, s)
    _columns(doc, s)
    _fields(doc, s, schema)
    _multi(doc, s, schema)
    return doc.dump()
