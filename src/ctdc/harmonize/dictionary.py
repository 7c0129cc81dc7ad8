"""The data dictionary of a release, generated from the schema and the hierarchies.

One row per column of the public cases file (:meth:`Schema.release_arrow_schema`),
never hand-written, so it cannot disagree with the data: its SQL type, the
variable and hierarchy level it holds, what NULL means there, and every value
that can occur with its meaning. ``ctdc`` writes it as ``dictionary.parquet``
beside the cases; the codebook and the data package are rendered from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pycountry

from ctdc.anonymize import Hierarchy
from ctdc.schema import STATUS_VALUES, Field, Schema, status_column

#: DuckDB's name of each Arrow type the release uses
SQL_TYPES = {pa.int16(): "SMALLINT", pa.string(): "VARCHAR", pa.bool_(): "BOOLEAN"}

VALUE = pa.struct([("value", pa.string()), ("meaning", pa.string())])
DICTIONARY_SCHEMA = pa.schema(
    [
        ("column", pa.string()),
        ("type", pa.string()),
        ("variable", pa.string()),
        ("level", pa.int8()),
        ("role", pa.string()),
        ("ctdc_name", pa.string()),
        ("group", pa.string()),
        ("description", pa.string()),
        ("null_means", pa.string()),
        ("values", pa.list_(VALUE)),
    ]
)


def _country(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code)
    return str(found.name) if found is not None else code


def _range(label: str) -> str:
    lo, _, hi = label.partition("-")
    if not hi:
        return f"ages {lo} and over" if lo.endswith("+") else label
    return f"{lo} to {hi}"


def _leaf_meaning(field: Field, value: str) -> str:
    if field.type == "country":
        return _country(value)
    if field.type == "integer":
        return f"the year {value}" if "year" in field.name else value
    if field.bands:  # age bands: the value is its own range of ages
        return f"aged {value.replace('+', ' or over')}"
    return value


def _level_values(field: Field, hierarchy: Hierarchy, level: int) -> list[tuple[str, str]]:
    """The labels of ``level`` (in hierarchy order) with their meaning: what they cover."""
    under: dict[str, list[str]] = {}
    for row in hierarchy.rows:
        under.setdefault(row[level], []).append(row[0])
    out = []
    for label, leaves in under.items():
        if field.type == "country":
            meaning = f"{label}: {len(leaves)} countries and territories ({', '.join(leaves)})"
        elif field.type == "integer":
            meaning = f"registered {_range(label)}" if "-" in label else f"registered in {label}"
        else:
            meaning = f"aged {label.replace('+', ' or over')} ({', '.join(leaves)})"
        out.append((label, meaning))
    return out


def _null_means(field: Field, level_name: str | None) -> str:
    if field.role != "quasi_identifier":
        return "not recorded"
    status = status_column(field.name)
    if level_name is None and not field.level_columns:
        return f"suppressed for privacy or not recorded: {status} tells which"
    return (f"published at a coarser level (a coarser column holds the value), suppressed, or "
            f"not recorded: {status} tells which")  # fmt: skip


def _row(column: str, arrow: pa.DataType, field: Field | None, **kw: Any) -> dict[str, Any]:
    return {
        "column": column,
        "type": SQL_TYPES.get(arrow, str(arrow).upper()),
        "variable": field.name if field is not None else kw.pop("variable", column),
        "level": kw.pop("level", None),
        "role": field.role if field is not None else kw.pop("role", "attribute"),
        "ctdc_name": field.ctdc_name if field is not None else None,
        "group": field.group if field is not None else kw.pop("group", None),
        **kw,
    }


def dictionary_rows(schema: Schema, hierarchies: Mapping[str, Hierarchy]) -> list[dict[str, Any]]:
    """One row per column of the public cases file, in its order."""
    arrow = schema.release_arrow_schema()
    rows: list[dict[str, Any]] = []
    owner = {c: f for f in schema.fields for c, _ in f.level_columns}
    levels = {c: n for f in schema.fields for n, (c, _) in enumerate(f.level_columns, start=1)}
    statuses = {c: q for q, c in schema.status_columns.items()}
    labels = {g.concatenated: g for g in schema.groups.values() if g.concatenated}
    for col in arrow:
        name, kind = col.name, col.type
        if name in schema.by_name:
            f = schema[name]
            hierarchy = hierarchies.get(name)
            if hierarchy is not None:
                values = [(v, _leaf_meaning(f, v)) for v in hierarchy.leaves]
            elif f.type == "boolean":
                values = [("true", "yes"), ("false", "no (recorded as not)")]
            else:
                values = [(v, _leaf_meaning(f, v)) for v in f.values]
            rows.append(_row(name, kind, f, level=0 if hierarchy is not None else None,
                             description=f.description, null_means=_null_means(f, None),
                             values=[{"value": v, "meaning": m} for v, m in values]))  # fmt: skip
        elif name in owner:
            f, level = owner[name], levels[name]
            desc = dict(f.level_columns)[name]
            values = _level_values(f, hierarchies[f.name], level)
            rows.append(_row(name, kind, f, level=level, description=desc,
                             null_means=_null_means(f, name),
                             values=[{"value": v, "meaning": m} for v, m in values]))  # fmt: skip
        elif name in statuses:
            f = schema[statuses[name]]
            rows.append(_row(name, kind, None, variable=f.name, role="status",
                             description=f"How {f.name} was published in this row.",
                             null_means="never NULL",
                             values=[{"value": v, "meaning": m}
                                     for v, m in STATUS_VALUES.items()]))  # fmt: skip
        else:
            g = labels[name]
            rows.append(_row(name, kind, None, group=g.name,
                             description=f"{g.description} Labels of the true flags, joined "
                             "by ';' in this order.",
                             null_means="no flag of the group is true (or none was recorded)",
                             values=[{"value": str(fl.label), "meaning": f"{fl.name} is true"}
                                     for fl in g.flags]))  # fmt: skip
    return rows


def dictionary_table(schema: Schema, hierarchies: Mapping[str, Hierarchy]) -> pa.Table:
    """:func:`dictionary_rows` as the Arrow table written to ``dictionary.parquet``."""
    return pa.Table.from_pylist(dictionary_rows(schema, hierarchies), schema=DICTIONARY_SCHEMA)
