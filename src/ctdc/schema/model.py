"""The harmonized schema as typed Python objects, loaded from ``schemas/*.yaml``.

The YAML is the single source of truth; everything else (the pandera
contract, the Arrow schema of staging and releases, the data dictionary, the
list of quasi-identifiers) is derived from it here, so that a field added to
the YAML reaches every stage without code changes.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, get_args

import pyarrow as pa
import pycountry
import yaml

from ctdc.errors import CtdcError
from ctdc.slugs import Slug
from ctdc.yamlio import load_yaml_text, read_yaml_text

FieldType = Literal["integer", "boolean", "category", "country", "string"]
Role = Literal["direct_identifier", "quasi_identifier", "sensitive", "attribute", "internal"]

#: what a schema file may name, from the Literals themselves so the two never disagree
FIELD_TYPES: tuple[FieldType, ...] = get_args(FieldType)
ROLES: tuple[Role, ...] = get_args(Role)
#: roles whose columns may appear in a release
RELEASED_ROLES: frozenset[Role] = frozenset({"quasi_identifier", "sensitive", "attribute"})
#: the link back to a person and an export: internal whatever a schema file says
NEVER_RELEASED: frozenset[str] = frozenset({"org_id", "case_pseudonym", "batch_id"})

#: how a quasi-identifier's cell was published, with its meaning (the status column's values)
STATUS_VALUES: dict[str, str] = {
    "as_recorded": "published as recorded (the finest level)",
    "generalized": "published at a coarser level of its hierarchy: the finer columns are NULL",
    "suppressed": "withheld for privacy: recorded, but NULL in every column of this variable",
    "not_recorded": "the organization did not record it: NULL in every column of this variable",
}


def status_column(name: str) -> str:
    """The status column of quasi-identifier ``name``."""
    return f"{name}_status"


#: ISO 3166-1 alpha-2 codes, from pycountry (maintained), not a hand-typed table
COUNTRY_CODES: tuple[str, ...] = tuple(sorted(c.alpha_2 for c in pycountry.countries))

_ARROW_TYPES: dict[FieldType, pa.DataType] = {
    "integer": pa.int16(),
    "boolean": pa.bool_(),
    "category": pa.string(),
    "country": pa.string(),
    "string": pa.string(),
}
_PANDAS_DTYPES: dict[FieldType, str] = {
    "integer": "Int16",
    "boolean": "boolean",
    "category": "string",
    "country": "string",
    "string": "string",
}


@dataclass(frozen=True)
class Field:
    """One column of the harmonized record."""

    name: str
    type: FieldType
    role: Role
    description: str
    values: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    required: bool = False
    group: str | None = None
    label: str | None = None
    ctdc_name: str | None = None
    bands: tuple[tuple[int, int | None], ...] = ()
    hierarchy: Path | None = None  # ARX-form CSV: one row per leaf, one column per level
    #: generalization level released: 0 = as recorded, n = level n of the hierarchy (or
    #: suppressed), None (``level: auto`` in YAML) = the anonymizer chooses per class
    level: int | None = 0
    #: the field this one is computed from (majority status from age band): see ``derive``
    derived_from: str | None = None
    #: source value -> this field's value; the release recomputes the field from the
    #: *published* source, so it can never say more than the published source does
    derive: dict[str, str] | None = None
    #: the release's column per hierarchy level above the leaf, (name, description), the
    #: leaf level being the field itself (``citizenship_subregion``, ``citizenship_region``)
    level_columns: tuple[tuple[str, str], ...] = ()

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self.type]

    @property
    def pandas_dtype(self) -> str:
        return _PANDAS_DTYPES[self.type]

    @property
    def allowed(self) -> tuple[str, ...]:
        """The closed list of values for category and country fields."""
        return COUNTRY_CODES if self.type == "country" else self.values


@dataclass(frozen=True)
class Group:
    """A family of boolean flags (e.g. means of control) with its label column."""

    name: str
    description: str
    concatenated: str | None
    flags: tuple[Field, ...] = ()
    #: the release may never let someone who knows a class's quasi-identifiers be certain
    #: that a person's flag is TRUE (docs/privacy.md, "Protected flags")
    protected: bool = False


@dataclass(frozen=True)
class Schema:
    name: str
    version: int
    description: str
    fields: tuple[Field, ...]
    groups: dict[str, Group] = field(default_factory=dict)
    source: Path | None = None

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    def __getitem__(self, name: str) -> Field:
        return self.by_name[name]

    def names(self, *roles: Role) -> list[str]:
        """Field names with any of the given roles, in schema order (all without roles)."""
        return [f.name for f in self.fields if not roles or f.role in roles]

    @property
    def quasi_identifiers(self) -> list[str]:
        return self.names("quasi_identifier")

    @property
    def protected(self) -> list[str]:
        """The flags of the groups marked ``protected``, in schema order."""
        names = {f.name for g in self.groups.values() if g.protected for f in g.flags}
        return [f.name for f in self.fields if f.name in names]

    @property
    def released(self) -> list[str]:
        return [n for n in self.names(*RELEASED_ROLES) if n not in NEVER_RELEASED]

    @property
    def status_columns(self) -> dict[str, str]:
        """Quasi-identifier -> its status column (:data:`STATUS_VALUES`): how the cell was
        published, so that NULL "not recorded" and NULL "suppressed" are told apart."""
        return {q: status_column(q) for q in self.quasi_identifiers}

    @property
    def release_row(self) -> list[str]:
        """A released row as the pipeline keeps it (ledger, frozen rows): the released fields,
        then one status per quasi-identifier. Level columns are computed at the end."""
        return [*self.released, *self.status_columns.values()]

    @property
    def release_file_keys(self) -> list[str]:
        """What k is counted over in the public file: every quasi-identifier with its level
        columns (functions of its published value) and its status."""
        return [c for q in self.quasi_identifiers
                for c in (q, *(n for n, _ in self[q].level_columns), status_column(q))]  # fmt: skip

    @property
    def release_keys(self) -> list[str]:
        """What k is counted over in a release: every quasi-identifier and its status."""
        return [*self.quasi_identifiers, *self.status_columns.values()]

    @property
    def staged(self) -> list[str]:
        """What staging holds: every field except direct identifiers."""
        return [f.name for f in self.fields if f.role != "direct_identifier"]

    def arrow_schema(self, names: list[str] | None = None) -> pa.Schema:
        cols = names if names is not None else self.staged
        return pa.schema([pa.field(n, self[n].arrow_type, nullable=True) for n in cols])

    def row_arrow_schema(self, levels: dict[str, int | None] | None = None) -> pa.Schema:
        """A released row as the pipeline keeps it (:attr:`release_row`): one column per
        released field, then the statuses.

        A field released above level 0 (or at ``auto``) holds hierarchy labels
        such as ``2014-2016`` or ``Western Africa``, so it is text whatever its type;
        the public file splits it into one column per level (:meth:`release_arrow_schema`).
        """
        chosen = {f.name: f.level for f in self.fields} | dict(levels or {})
        return pa.schema(
            [pa.field(n, pa.string() if chosen.get(n) != 0 else self[n].arrow_type)
             for n in self.released]
            + [pa.field(c, pa.string()) for c in self.status_columns.values()]
        )  # fmt: skip

    def release_arrow_schema(self) -> pa.Schema:
        """The public cases file: every released field at its own type, followed by its level
        columns (text), then one status per quasi-identifier, then one ``;``-joined label
        column per flag group. Each column holds values of one level only."""
        cols: list[pa.Field] = []
        for n in self.released:
            cols.append(pa.field(n, self[n].arrow_type))
            cols += [pa.field(c, pa.string()) for c, _ in self[n].level_columns]
        cols += [pa.field(c, pa.string()) for c in self.status_columns.values()]
        cols += [pa.field(g.concatenated, pa.string()) for g in self.groups.values()
                 if g.concatenated]  # fmt: skip
        return pa.schema(cols)


def _bad(path: Path, detail: str, fix: str | None = None) -> CtdcError:
    return CtdcError(Slug.BAD_SCHEMA, detail, file=path, fix=fix)


def _parse_field(raw: dict[str, Any], path: Path) -> Field:
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise _bad(path, f"field name {name!r} must be snake_case")
    ftype, role = raw.get("type"), raw.get("role")
    if ftype not in FIELD_TYPES:
        raise _bad(path, f"field {name}: type {ftype!r} is not one of {', '.join(FIELD_TYPES)}")
    if role not in ROLES:
        raise _bad(path, f"field {name}: role {role!r} is not one of {', '.join(ROLES)}")
    if not raw.get("description"):
        raise _bad(path, f"field {name}: a description is required")
    values = tuple(str(v) for v in raw.get("values") or ())
    if ftype == "category" and not values:
        raise _bad(path, f"field {name}: a category needs `values`")
    maximum = raw.get("max")
    if maximum == "current_year":
        maximum = dt.date.today().year
    bands = tuple((int(lo), None if hi is None else int(hi)) for lo, hi in raw.get("bands") or ())
    if bands and len(bands) != len(values):
        raise _bad(path, f"field {name}: `bands` must have one [low, high] per value")
    hierarchy = raw.get("hierarchy")
    if hierarchy is not None:
        hierarchy = (path.parent / hierarchy).resolve()
        if not hierarchy.is_file():
            raise _bad(path, f"field {name}: hierarchy file {raw['hierarchy']} not found")
        if ftype not in ("category", "country", "integer"):  # integer leaves as text: "2015"
            raise _bad(path, f"field {name}: hierarchies are for category, country, integer fields")
    return Field(
        name=name,
        type=ftype,
        role=role,
        description=str(raw["description"]).strip(),
        values=values,
        min=raw.get("min"),
        max=maximum,
        pattern=raw.get("pattern"),
        required=bool(raw.get("required", False)),
        group=raw.get("group"),
        label=raw.get("label"),
        ctdc_name=raw.get("ctdc_name"),
        bands=bands,
        hierarchy=hierarchy,
        level=_parse_level(raw.get("level", 0), name, hierarchy, path),
        derived_from=raw.get("derived_from"),
        derive=_parse_derive(raw.get("derive"), name, values, path),
        level_columns=_parse_level_columns(raw.get("level_columns"), name, hierarchy, path),
    )


def _parse_level_columns(raw: object, name: str, hierarchy: Path | None,
                         path: Path) -> tuple[tuple[str, str], ...]:  # fmt: skip
    """``level_columns: [{name, description}, ...]``, one per hierarchy level between the
    leaf and the root. Without it a field with a hierarchy is released as one column per
    level named ``<field>_level<n>``."""
    if hierarchy is None:
        if raw is not None:
            raise _bad(path, f"field {name}: `level_columns` needs a `hierarchy`")
        return ()
    with open(hierarchy, encoding="utf-8") as fh:
        first = next((line for line in fh if line.strip()), "")
    between = max(len(first.split(";")) - 2, 0)
    if raw is None:
        return tuple((f"{name}_level{n}", f"{name} at level {n} of its hierarchy.")
                     for n in range(1, between + 1))  # fmt: skip
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise _bad(path, f"field {name}: `level_columns` is a list of {{name, description}}")
    if len(raw) != between:
        raise _bad(path, f"field {name}: `level_columns` lists {len(raw)} columns; its "
                   f"hierarchy has {between} levels between the leaf and the root")  # fmt: skip
    out = []
    for col in raw:
        cname, desc = col.get("name"), col.get("description")
        if not isinstance(cname, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", cname) or not desc:
            raise _bad(path, f"field {name}: each level column needs a snake_case `name` and "
                       "a `description`")  # fmt: skip
        out.append((cname, str(desc).strip()))
    return tuple(out)


def _parse_derive(raw: object, name: str, values: tuple[str, ...],
                  path: Path) -> dict[str, str] | None:  # fmt: skip
    """``derive: {Minor: [0-8, 9-17], ...}`` -> {source value: derived value}."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _bad(path, f"field {name}: `derive` maps each value to a list of source values")
    out: dict[str, str] = {}
    for value, sources in raw.items():
        if str(value) not in values:
            raise _bad(path, f"field {name}: derive value {value!r} is not one of its `values`")
        for source in sources if isinstance(sources, list) else [sources]:
            if out.setdefault(str(source), str(value)) != str(value):
                raise _bad(path, f"field {name}: source value {source!r} is derived twice")
    return out


def _check_roles(fields: tuple[Field, ...], path: Path) -> None:
    """Names that link a record to a person or an export never get a released role, and a
    field derived from a quasi-identifier can never sharpen it.

    A derived field is either a quasi-identifier itself (k-anonymity then covers it,
    and the release blanks it wherever its source is blank) or recomputed from the
    published source through ``derive``; any other role would let it say what a
    suppressed or generalized quasi-identifier no longer says.
    """
    by_name = {f.name: f for f in fields}
    for f in fields:
        if f.name in NEVER_RELEASED and f.role in RELEASED_ROLES:
            raise _bad(path, f"field {f.name}: role {f.role}; {', '.join(sorted(NEVER_RELEASED))}"
                       " are internal whatever the schema says")  # fmt: skip
        if f.derive is not None and f.derived_from is None:
            raise _bad(path, f"field {f.name}: `derive` needs `derived_from`")
        if f.derived_from is None:
            continue
        source = by_name.get(f.derived_from)
        if source is None:
            raise _bad(path, f"field {f.name}: derived_from {f.derived_from!r} is not a field")
        if f.derive is not None:
            unknown = sorted(set(f.derive) - set(source.values))
            if unknown:
                raise _bad(path, f"field {f.name}: derive names {unknown[0]!r}, which is not a "
                           f"value of {source.name}")  # fmt: skip
        elif source.role == "quasi_identifier" and f.role != "quasi_identifier":
            raise _bad(path, f"field {f.name} is derived from the quasi-identifier {source.name} "
                       f"but has role {f.role}: it could reveal a suppressed {source.name}",
                       fix=f"make {f.name} a quasi_identifier, or give it `derive:` so that the "
                       f"release computes it from the published {source.name}")  # fmt: skip


def _parse_level(raw: object, name: str, hierarchy: Path | None, path: Path) -> int | None:
    if raw == "auto":
        if hierarchy is None:
            raise _bad(path, f"field {name}: `level: auto` needs a `hierarchy`")
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        raise _bad(path, f"field {name}: level must be a number or `auto`, got {raw!r}")
    if int(raw) and hierarchy is None:
        raise _bad(path, f"field {name}: level {raw} needs a `hierarchy`")
    return int(raw)


#: schemas already read, by folder, file stem and text: a command reads its schema more than
#: once and a process (a notebook, the tests) runs many; a Schema is immutable and its
#: hierarchy paths depend only on the folder, so a hit is the same schema (~30 ms saved)
_READ: dict[tuple[Path, str, str], Schema] = {}
_READ_MAX = 16


def load_schema(path: str | Path) -> Schema:
    """Read and check a schema YAML; raise ``bad-schema`` naming the field at fault."""
    path = Path(path)
    try:
        text = read_yaml_text(path)  # refuses a huge file unread
    except FileNotFoundError as exc:
        raise CtdcError(Slug.FILE_NOT_FOUND, "schema file not found", file=path) from exc
    key = (path.resolve().parent, path.stem, text)
    if key in _READ:
        return replace(_READ[key], source=path)
    schema = _parse_schema(text, path)
    if len(_READ) >= _READ_MAX:
        _READ.clear()
    _READ[key] = schema
    return schema


#: the parsed YAML of schemas already read, by text: the same schema file in another folder
#: (each workspace keeps a copy) is parsed again for its hierarchy paths, but its YAML is a
#: function of the text alone, and reading it is most of the ~40 ms a parse takes
_DOCS: dict[str, object] = {}


def _schema_doc(text: str, path: Path) -> object:
    """The YAML document of ``text``: a private copy, so a parse can never change the cache."""
    if text not in _DOCS:
        try:
            doc = load_yaml_text(text, path=path)  # refuses anchors, aliases, deep nesting
        except yaml.YAMLError as exc:
            raise _bad(path, f"not valid YAML: {exc}") from exc
        if len(_DOCS) >= _READ_MAX:
            _DOCS.clear()
        _DOCS[text] = doc
    return copy.deepcopy(_DOCS[text])


def _parse_schema(text: str, path: Path) -> Schema:
    doc = _schema_doc(text, path)
    if not isinstance(doc, dict) or not isinstance(doc.get("fields"), list):
        raise _bad(path, "expected a mapping with a `fields` list")
    fields = tuple(_parse_field(f, path) for f in doc["fields"])
    seen: set[str] = set()
    for f in fields:
        if f.name in seen:
            raise _bad(path, f"field {f.name} is defined twice")
        seen.add(f.name)
    groups: dict[str, Group] = {}
    for gname, graw in (doc.get("groups") or {}).items():
        flags = tuple(f for f in fields if f.group == gname)
        if not flags:
            raise _bad(path, f"group {gname} has no fields")
        protected = graw.get("protected", False)
        if not isinstance(protected, bool):
            raise _bad(path, f"group {gname}: `protected` must be true or false, got {protected!r}")
        groups[gname] = Group(
            gname, str(graw.get("description", "")), graw.get("concatenated"), flags, protected
        )
    _check_roles(fields, path)
    for f in fields:
        status = [status_column(f.name)] if f.role == "quasi_identifier" else []
        for extra in [c for c, _ in f.level_columns] + status:
            if extra in seen:
                raise _bad(path, f"field {f.name}: its release column {extra} is also a field")
            seen.add(extra)
    for f in fields:
        if f.group and f.group not in groups:
            raise _bad(path, f"field {f.name}: group {f.group!r} is not declared under `groups`")
        if f.group and f.type != "boolean":
            raise _bad(path, f"field {f.name}: only boolean flags can belong to a group")
    return Schema(
        name=str(doc.get("name", path.stem)),
        version=int(doc.get("version", 1)),
        description=str(doc.get("description", "")),
        fields=fields,
        groups=groups,
        source=path,
    )
