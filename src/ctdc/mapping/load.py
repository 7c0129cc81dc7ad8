"""``pipelines/<org>.yaml``: load and check an organization's mapping (docs/mapping.md).

The mapping is validated against the schema before any data is read, so a
typo in a field name or a vocabulary target is reported with its YAML line
instead of quarantining every row of the export.
"""

from __future__ import annotations

import hashlib
import re
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
    check_org_name,
    normalize,
)
from ctdc.schema import Schema
from ctdc.yamlio import line_of, load_text_yaml


class _Checker:
    """Raises ``bad-mapping`` errors that point at the YAML line."""

    def __init__(self, path: Path, node: yaml.Node | None) -> None:
        self.path, self.node = path, node

    def fail(self, detail: str, *keys: str | int) -> CtdcError:
        line = line_of(self.node, *keys)
        where = f" (line {line})" if line else ""
        return CtdcError("bad-mapping", f"{detail}{where}", file=self.path)

    def text(self, raw: dict[str, Any], key: str, *where: str | int, required: bool = False) -> Any:
        value = raw.get(key)
        if value is None:
            if required:
                raise self.fail(f"`{key}` is required", *where)
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
        raise chk.fail(f"`{name}` is not a field of the schema", *where)
    f = schema[name]
    if f.role in ("internal", "direct_identifier"):
        raise chk.fail(f"`{name}` is {f.role} and cannot be mapped", *where)
    if not isinstance(raw, dict) or set(raw) - _RULE_KEYS:
        extra = sorted(set(raw) - _RULE_KEYS) if isinstance(raw, dict) else []
        raise chk.fail(f"{name}: unknown keys {extra}; allowed: {sorted(_RULE_KEYS)}", *where)
    column = chk.text(raw, "column", *where)
    if (column is None) == ("value" not in raw):
        raise chk.fail(f"{name}: give exactly one of `column` or `value`", *where)
    values = None
    if raw.get("values") is not None:
        if not isinstance(raw["values"], dict):
            raise chk.fail(f"{name}: `values` must map source text to schema values", *where)
        values = {
            normalize(k): _vocab_target(schema, name, v, chk, *where, "values", k)
            for k, v in raw["values"].items()
        }
    country = raw.get("country")
    if country is not None and (f.type != "country" or country not in COUNTRY_FORMS):
        raise chk.fail(
            f"{name}: `country` must be one of {COUNTRY_FORMS} on a country field", *where
        )
    date_format = chk.date_formats(raw, "date_format", *where)
    if date_format and name != "year_of_registration":
        raise chk.fail(f"{name}: `date_format` is only for year_of_registration", *where)
    value = raw.get("value")
    if "value" in raw:
        value = _vocab_target(schema, name, value, chk, *where, "value")
    default = None
    if raw.get("default") is not None:
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
    groups: set[str] = set()
    for label, flag in raw["values"].items():
        if flag not in schema.by_name or not schema[flag].group:
            raise chk.fail(f"multi {column}: {flag!r} is not a flag of the schema", "multi", i)
        groups.add(cast(str, schema[flag].group))  # a flag of the schema: checked just above
        del label
    if len(groups) != 1:
        raise chk.fail(f"multi {column}: flags must belong to one group, got {sorted(groups)}",
                       "multi", i)  # fmt: skip
    return MultiRule(column, str(raw.get("separator") or ";"), targets, groups.pop())


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
        raise chk.fail("expected a mapping of keys (see docs/mapping.md)")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise chk.fail(f"unknown keys {sorted(unknown)}", sorted(unknown)[0])
    org = check_org_name(chk.text(raw, "org", required=True))
    if org != path.stem:
        raise chk.fail(f"`org: {org}` must equal the file name {path.stem!r}", "org")
    src = raw.get("source")
    if not isinstance(src, dict) or src.get("format") not in FORMATS:
        raise chk.fail(f"`source.format` must be one of {', '.join(FORMATS)}", "source")
    delimiter = src.get("delimiter") or ("\t" if src["format"] == "tsv" else ",")
    if len(delimiter) != 1:
        raise chk.fail("`source.delimiter` must be one character", "source", "delimiter")
    header_row = str(src.get("header_row") or "1")
    if not header_row.isdigit() or int(header_row) < 1:
        raise chk.fail("`source.header_row` must be a row number from 1", "source", "header_row")
    header_rows = str(src.get("header_rows") or "1")
    if not header_rows.isdigit() or not 1 <= int(header_rows) <= 5:
        raise chk.fail("`source.header_rows` must be a number of rows, 1 to 5", "source",
                       "header_rows")  # fmt: skip
    if int(header_rows) > 1 and src["format"] != "xlsx":
        raise chk.fail("`source.header_rows` is for XLSX headers", "source", "header_rows")
    encoding = str(src.get("encoding") or "utf-8")
    try:
        "".encode(encoding)
    except LookupError as exc:
        raise chk.fail(f"unknown encoding {encoding!r}", "source", "encoding") from exc
    guess = tuple(
        k
        for k, formats in (("encoding", TEXT_FORMATS), ("delimiter", ("csv",)))
        if src["format"] in formats and src.get(k) is None
    )
    source = SourceSpec(
        src["format"],
        encoding,
        delimiter,
        src.get("sheet"),
        int(header_row),
        int(header_rows),
        guess,
    )

    data_source = _vocab_target(schema, "data_source", raw.get("data_source"), chk, "data_source")
    if data_source is None:
        raise chk.fail("`data_source` is required (Case Management or Hotline)")
    fields_raw = raw.get("fields") or {}
    if not isinstance(fields_raw, dict):
        raise chk.fail("`fields` must map schema fields to rules", "fields")
    rules = {name: _field_rule(schema, name, rule, chk) for name, rule in fields_raw.items()}
    multi = tuple(_multi_rule(schema, i, m, chk) for i, m in enumerate(raw.get("multi") or []))

    age = None
    if raw.get("age") is not None:
        a = raw["age"]
        if not isinstance(a, dict) or (a.get("column") is None) == (a.get("birth_date") is None):
            raise chk.fail("`age` needs exactly one of `column` or `birth_date`", "age")
        births = chk.date_formats(a, "birth_date_format", "age")
        if a.get("birth_date") is not None:
            if not births:
                raise chk.fail("`age.birth_date` needs `birth_date_format`", "age")
            reg = rules.get("year_of_registration")
            if reg is None or not reg.date_format:
                raise chk.fail(
                    "an age from birth_date needs fields.year_of_registration with date_format",
                    "age",
                )
        age = AgeRule(a.get("column"), a.get("birth_date"), births)

    missing = raw.get("missing", [""])
    if not isinstance(missing, list):
        raise chk.fail("`missing` must be a list of texts", "missing")
    return Mapping(
        org=org,
        description=str(raw.get("description") or ""),
        data_source=data_source,
        source=source,
        case_id=chk.text(raw, "case_id", required=True),
        path=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        drop=chk.text_list(raw, "drop"),
        ignore=chk.text_list(raw, "ignore"),
        missing=frozenset(str(m).strip() for m in missing if m is not None) | {""},
        age=age,
        fields=rules,
        multi=multi,
    )
