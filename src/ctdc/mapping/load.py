"""``pipelines/<org>.yaml``: load and check an organization's mapping (docs/mapping.md).

The mapping is validated against the schema before any data is read, so a
typo in a field name or a vocabulary target is reported with its YAML line
instead of quarantining every row of the export. Every problem of the file is
reported at once, in one ``bad-mapping`` error (as splink's settings
validation logs every invalid setting before it raises): a data officer fixes
the whole file in one round instead of one key per run.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from ctdc.errors import CtdcError
from ctdc.mapping.source import SourceSpec
from ctdc.mapping.spec import (
    COUNTRY_FORMS,
    EXCEL_SERIAL,
    FORMATS,
    TEXT_FORMATS,
    AgeRule,
    FieldRule,
    Mapping,
    MultiRule,
    normalize,
)
from ctdc.org_name import check_org_name
from ctdc.schema import Schema
from ctdc.yamlio import line_of, load_text_yaml


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a mapping file: where (key path, YAML line), what, and the fix."""

    keys: tuple[str | int, ...]
    line: int | None
    detail: str
    fix: str = ""

    def text(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.detail}{where}" + (f"; fix: {self.fix}" if self.fix else "")

    def item(self) -> str:
        """The problem as one line of a list: its key path first."""
        path = ".".join(str(k) for k in self.keys) or "(top)"
        return f"  - {path}: {self.text()}"


class _Invalid(CtdcError):
    """A problem found in a section of the mapping: the section's other checks are moot.

    A ``bad-mapping`` error itself, so that one raised outside a section still
    reaches the user as that error, not as an internal one.
    """

    def __init__(self, problem: Problem, path: Path) -> None:
        super().__init__("bad-mapping", problem.text(), file=path)
        self.problem = problem


class _Checker:
    """Collects every ``bad-mapping`` problem, each pointing at its YAML line.

    A check raises :meth:`fail`; the :meth:`section` around it records the
    problem and goes on with the next section, and :meth:`raise_all` raises
    them together as one ``bad-mapping`` error.
    """

    def __init__(self, path: Path, node: yaml.Node | None) -> None:
        self.path, self.node = path, node
        self.problems: list[Problem] = []

    def fail(self, detail: str, *keys: str | int, fix: str = "") -> _Invalid:
        return _Invalid(Problem(keys, line_of(self.node, *keys), detail, fix), self.path)

    @contextmanager
    def section(self) -> Iterator[None]:
        """Checks whose failure leaves the rest of the mapping worth checking."""
        try:
            yield
        except _Invalid as exc:
            self.problems.append(exc.problem)

    def raise_all(self) -> None:
        """One ``bad-mapping`` error listing every problem found, if any."""
        if len(self.problems) == 1:
            raise CtdcError("bad-mapping", self.problems[0].text(), file=self.path)
        if self.problems:
            lines = "\n".join(p.item() for p in self.problems)
            raise CtdcError("bad-mapping", f"{len(self.problems)} problems:\n{lines}",
                            file=self.path)  # fmt: skip

    def text(self, raw: dict[str, Any], key: str, *where: str | int, required: bool = False) -> Any:
        value = raw.get(key)
        if value is None:
            if required:
                raise self.fail(f"`{key}` is required", *where, key, fix=f"add `{key}:`")
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(f"`{key}` must be a non-empty text", *where, key)
        return value

    def date_formats(
        self, raw: dict[str, Any], key: str, *where: str | int
    ) -> tuple[str, ...] | None:
        """``key``: one date format or a list tried in order (see :data:`EXCEL_SERIAL`)."""
        value = raw.get(key)
        if value is None:
            return None
        formats = [value] if isinstance(value, str) else value
        if (
            not isinstance(formats, list)
            or not formats
            or not all(isinstance(f, str) and ("%" in f or f == EXCEL_SERIAL) for f in formats)
        ):
            raise self.fail(
                f'`{key}` must be a strftime format like "%d/%m/%Y", `{EXCEL_SERIAL}` '
                "(spreadsheet serial day numbers), or a list of them",
                *where,
                key,
            )
        for f in formats:
            swapped = f.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
            if swapped != f and swapped in formats:
                raise self.fail(
                    f"`{key}` lists both {f!r} and {swapped!r}: a date like 03/04/2021 would "
                    "be read either way; keep the one the export uses",
                    *where,
                    key,
                )
        return tuple(formats)

    def text_list(self, raw: dict[str, Any], key: str) -> tuple[str, ...]:
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"`{key}` must be a list of column names", key)
        return tuple(value)


_TOP_KEYS = {
    "org", "description", "data_source", "source", "case_id", "drop", "ignore", "missing",
    "age", "fields", "multi",
}  # fmt: skip
_RULE_KEYS = {"column", "value", "values", "date_format", "country", "language", "default"}


def _vocab_target(schema: Schema, name: str, target: Any, chk: _Checker, *where: str) -> Any:
    f = schema[name]
    if target is None:
        return None
    if f.type == "boolean":
        if not isinstance(target, bool):
            raise chk.fail(f"{name}: vocabulary targets must be true, false or null", *where)
        return target
    if f.type == "country":
        if str(target) not in f.allowed:
            raise chk.fail(f"{name}: {target!r} is not an ISO alpha-2 code", *where)
        return str(target)
    if f.type == "integer":
        if not re.fullmatch(r"-?\d+", str(target)):
            raise chk.fail(f"{name}: vocabulary target {target!r} is not a whole number", *where)
        return int(target)
    if f.type == "category" and str(target) not in f.values:
        raise chk.fail(f"{name}: {target!r} is not one of {', '.join(f.values)}", *where)
    return str(target)


def _field_rule(schema: Schema, name: str, raw: Any, chk: _Checker) -> FieldRule:
    where = ("fields", name)
    if name not in schema.by_name:
        close = difflib.get_close_matches(str(name), list(schema.by_name), n=1)
        fix = f"did you mean `{close[0]}`?" if close else "name a field of the schema"
        raise chk.fail(f"`{name}` is not a field of the schema", *where, fix=fix)
    f = schema[name]
    if f.role in ("internal", "direct_identifier"):
        raise chk.fail(f"`{name}` is {f.role} and cannot be mapped", *where)
    if not isinstance(raw, dict) or set(raw) - _RULE_KEYS:
        extra = sorted(set(raw) - _RULE_KEYS) if isinstance(raw, dict) else []
        raise chk.fail(f"{name}: unknown keys {extra}; allowed: {sorted(_RULE_KEYS)}", *where)
    column: str | None = None
    values: dict[str, Any] | None = None
    country: str | None = None
    date_format: tuple[str, ...] | None = None
    value: Any = None
    default: Any = None
    with chk.section():
        column = chk.text(raw, "column", *where)
        if (column is None) == ("value" not in raw):
            raise chk.fail(f"{name}: give exactly one of `column` or `value`", *where)
    if raw.get("values") is not None:
        with chk.section():
            if not isinstance(raw["values"], dict):
                raise chk.fail(f"{name}: `values` must map source text to schema values", *where)
            values = {}
            for k, v in raw["values"].items():  # every bad target, not only the first
                with chk.section():
                    values[normalize(k)] = _vocab_target(schema, name, v, chk, *where, "values", k)
    with chk.section():
        country = raw.get("country")
        if country is not None and (f.type != "country" or country not in COUNTRY_FORMS):
            raise chk.fail(
                f"{name}: `country` must be one of {COUNTRY_FORMS} on a country field", *where
            )
    with chk.section():
        date_format = chk.date_formats(raw, "date_format", *where)
        if date_format and name != "year_of_registration":
            raise chk.fail(f"{name}: `date_format` is only for year_of_registration", *where)
    if "value" in raw:
        with chk.section():
            value = _vocab_target(schema, name, raw["value"], chk, *where, "value")
    if raw.get("default") is not None:
        with chk.section():
            if column is None:
                raise chk.fail(f"{name}: `default` needs a `column` (it fills its missing cells)",
                               *where)  # fmt: skip
            default = _vocab_target(schema, name, raw["default"], chk, *where, "default")
    return FieldRule(
        field=name,
        column=column,
        value=value,
        values=values,
        date_format=date_format,
        country=country,
        language=str(raw.get("language") or "en"),
        default=default,
    )


def _multi_rule(schema: Schema, i: int, raw: Any, chk: _Checker) -> MultiRule:
    if not isinstance(raw, dict) or not isinstance(raw.get("values"), dict):
        raise chk.fail("each `multi` entry needs `column` and `values`", "multi", i)
    column = chk.text(raw, "column", "multi", i, required=True)
    targets = {normalize(k): v for k, v in raw["values"].items()}
    known = len(chk.problems)
    groups: set[str] = set()
    for label, flag in raw["values"].items():  # every unknown flag, not only the first
        with chk.section():
            if flag not in schema.by_name or not schema[flag].group:
                raise chk.fail(f"multi {column}: {flag!r} is not a flag of the schema",
                               "multi", i, "values", label)  # fmt: skip
            groups.add(cast(str, schema[flag].group))  # a flag of the schema: checked just above
    if len(groups) > 1 or (not groups and len(chk.problems) == known):
        raise chk.fail(f"multi {column}: flags must belong to one group, got {sorted(groups)}",
                       "multi", i)  # fmt: skip
    if not groups:  # every label's flag was refused above (a `TODO` left): no rule to build
        raise chk.fail(f"multi {column}: no label is mapped to a flag yet", "multi", i)
    return MultiRule(column, str(raw.get("separator") or ";"), targets, groups.pop())


def _missing_shadows(missing: frozenset[str], fields_raw: dict[str, Any],
                     rules: dict[str, FieldRule], multi_raw: list[Any],
                     chk: _Checker) -> None:  # fmt: skip
    """Refuse a ``missing:`` token that a column's ``values:`` translates.

    A cell equal to a ``missing:`` token is "not recorded" before any vocabulary
    is looked at, so ``missing: ["", "-", "No"]`` with ``values: {No: ...}`` never
    uses that entry: an export whose means-of-control cell read ``No`` lost
    every flag of the group to NULL, silently (issue 13). An entry that gives
    what a missing cell gets anyway (null, or the rule's ``default``) is kept.
    Every such entry is one problem, named by the column and the token.
    """
    by_key = {normalize(t): t for t in sorted(missing)}
    for name, rule in rules.items():
        raw_values = fields_raw[name].get("values") if isinstance(fields_raw[name], dict) else None
        if rule.column is None or not rule.values or not isinstance(raw_values, dict):
            continue
        for key in raw_values:
            token = by_key.get(normalize(key))
            target = rule.values.get(normalize(key))
            if token is None or target == rule.default:
                continue
            with chk.section():
                raise chk.fail(
                    f"column {rule.column!r}: {token!r} is in `missing:`, so a cell {token!r} is "
                    f"read as not recorded and `values:` never maps it to {_shown(target)}",
                    "fields", name, "values", key,
                    fix=_missing_fix(token),
                )  # fmt: skip
    for i, raw in enumerate(multi_raw):  # the entries as written: a broken one is reported too
        if not isinstance(raw, dict) or not isinstance(raw.get("values"), dict):
            continue
        for key, flag in raw["values"].items():
            token = by_key.get(normalize(key))
            if token is None:
                continue
            with chk.section():
                raise chk.fail(
                    f"column {raw.get('column')!r}: {token!r} is in `missing:`, so a cell "
                    f"{token!r} is read as not recorded (every flag of its group NULL) and "
                    f"`values:` never sets {flag}",
                    "multi", i, "values", key,
                    fix=_missing_fix(token),
                )  # fmt: skip


def _shown(target: Any) -> str:
    """A vocabulary target as the mapping spells it (``false``, not Python's ``False``)."""
    return str(target).lower() if isinstance(target, bool) else repr(target)


def _missing_fix(token: str) -> str:
    if token == "":
        return ("an empty cell is always not recorded: drop this entry, and give the value an "
                "empty cell means with `default:` on a field rule")  # fmt: skip
    return (f"take {token!r} out of `missing:` (it applies to every column), or this entry "
            "out of the column's `values:`")  # fmt: skip


def _source(src: Any, chk: _Checker) -> SourceSpec:
    """The ``source:`` block: its format, then each of its other keys checked on its own."""
    if not isinstance(src, dict) or src.get("format") not in FORMATS:
        raise chk.fail(f"`source.format` must be one of {', '.join(FORMATS)}", "source")
    delimiter = src.get("delimiter") or ("\t" if src["format"] == "tsv" else ",")
    with chk.section():
        if len(delimiter) != 1:
            raise chk.fail("`source.delimiter` must be one character", "source", "delimiter")
    header_row = str(src.get("header_row") or "1")
    with chk.section():
        if not header_row.isdigit() or int(header_row) < 1:
            raise chk.fail("`source.header_row` must be a row number from 1", "source",
                           "header_row")  # fmt: skip
    header_rows = str(src.get("header_rows") or "1")
    with chk.section():
        if not header_rows.isdigit() or not 1 <= int(header_rows) <= 5:
            raise chk.fail("`source.header_rows` must be a number of rows, 1 to 5", "source",
                           "header_rows")  # fmt: skip
        if int(header_rows) > 1 and src["format"] != "xlsx":
            raise chk.fail("`source.header_rows` is for XLSX headers", "source", "header_rows")
    encoding = str(src.get("encoding") or "utf-8")
    with chk.section():
        try:
            "".encode(encoding)
        except LookupError as exc:
            raise chk.fail(f"unknown encoding {encoding!r}", "source", "encoding") from exc
    guess = tuple(
        k
        for k, formats in (("encoding", TEXT_FORMATS), ("delimiter", ("csv",)))
        if src["format"] in formats and src.get(k) is None
    )
    row, rows = (int(n) if n.isdigit() else 1 for n in (header_row, header_rows))
    return SourceSpec(src["format"], encoding, delimiter, src.get("sheet"), row, rows, guess)


def _age_rule(
    a: Any, rules: dict[str, FieldRule], chk: _Checker, *, check_registration: bool
) -> AgeRule | None:
    """The ``age:`` block; an age from a birth date needs the registration date's format
    (``check_registration`` is off when that field's own rule is already reported)."""
    if a is None:
        return None
    if not isinstance(a, dict) or (a.get("column") is None) == (a.get("birth_date") is None):
        raise chk.fail("`age` needs exactly one of `column` or `birth_date`", "age")
    births = chk.date_formats(a, "birth_date_format", "age")
    if a.get("birth_date") is not None:
        if not births:
            raise chk.fail("`age.birth_date` needs `birth_date_format`", "age")
        reg = rules.get("year_of_registration")
        if check_registration and (reg is None or not reg.date_format):
            raise chk.fail(
                "an age from birth_date needs fields.year_of_registration with date_format",
                "age",
            )
    return AgeRule(a.get("column"), a.get("birth_date"), births)


def load_mapping(path: Path, schema: Schema) -> Mapping:
    """Read and check ``path`` against ``schema``; errors name the YAML line."""
    try:
        raw, node = load_text_yaml(path)
    except FileNotFoundError as exc:
        raise CtdcError("unknown-org", f"no mapping file {path}", file=path) from exc
    except yaml.YAMLError as exc:
        raise CtdcError("bad-mapping", f"not valid YAML: {exc}", file=path) from exc
    chk = _Checker(path, node)
    if not isinstance(raw, dict):
        raise CtdcError("bad-mapping", "expected a mapping of keys (see docs/mapping.md)",
                        file=path)  # fmt: skip
    with chk.section():
        unknown = set(raw) - _TOP_KEYS
        if unknown:
            raise chk.fail(f"unknown keys {sorted(unknown)}", sorted(unknown)[0],
                           fix=f"allowed: {', '.join(sorted(_TOP_KEYS))}")  # fmt: skip
    org = path.stem
    with chk.section():
        org = check_org_name(chk.text(raw, "org", required=True))
        if org != path.stem:
            raise chk.fail(f"`org: {org}` must equal the file name {path.stem!r}", "org")
    source = SourceSpec("csv")
    with chk.section():
        source = _source(raw.get("source"), chk)
    data_source = None
    with chk.section():
        data_source = _vocab_target(schema, "data_source", raw.get("data_source"), chk,
                                    "data_source")  # fmt: skip
        if data_source is None:
            raise chk.fail("`data_source` is required (Case Management or Hotline)")
    fields_raw = raw.get("fields") or {}
    rules: dict[str, FieldRule] = {}
    with chk.section():
        if not isinstance(fields_raw, dict):
            raise chk.fail("`fields` must map schema fields to rules", "fields")
        for name, rule in fields_raw.items():
            with chk.section():
                rules[name] = _field_rule(schema, name, rule, chk)
    multi: list[MultiRule] = []
    with chk.section():
        if not isinstance(raw.get("multi") or [], list):
            raise chk.fail("`multi` must be a list of multi-value columns", "multi")
        for i, m in enumerate(raw.get("multi") or []):
            with chk.section():
                multi.append(_multi_rule(schema, i, m, chk))
    age = None
    with chk.section():
        broken_reg = "year_of_registration" in fields_raw and "year_of_registration" not in rules
        age = _age_rule(raw.get("age"), rules, chk, check_registration=not broken_reg)
    missing = raw.get("missing", [""])
    tokens: frozenset[str] = frozenset({""})
    with chk.section():
        if not isinstance(missing, list):
            raise chk.fail("`missing` must be a list of texts", "missing")
        tokens = frozenset(str(m).strip() for m in missing if m is not None) | {""}
    multi_raw: list[Any] = raw["multi"] if isinstance(raw.get("multi"), list) else []
    _missing_shadows(tokens, fields_raw if isinstance(fields_raw, dict) else {}, rules,
                     multi_raw, chk)  # fmt: skip
    case_id: str = ""
    with chk.section():
        case_id = chk.text(raw, "case_id", required=True)
    drop: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    with chk.section():
        drop = chk.text_list(raw, "drop")
    with chk.section():
        ignore = chk.text_list(raw, "ignore")
    chk.raise_all()
    assert data_source is not None  # else raise_all raised
    return Mapping(
        org=org,
        description=str(raw.get("description") or ""),
        data_source=data_source,
        source=source,
        case_id=case_id,
        path=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        drop=drop,
        ignore=ignore,
        missing=tokens,
        age=age,
        fields=rules,
        multi=tuple(multi),
    )
