"""The columns of a release as the package files describe them: read from its dictionary.

``dictionary.parquet`` (``ctdc.harmonize.dictionary``) already says, per column
of ``cases.parquet``, its SQL type, variable, level, role, meaning of NULL and
every value that can occur. The data package, the JSON Schema and the codebook
are renderings of it, so they cannot disagree with the data or with each other.
The schema adds what the dictionary leaves implicit: which value lists are
closed (a ``;``-joined label column lists its labels, not every combination)
and which columns are never NULL (the statuses).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow.parquet as pq

from ctdc.schema import Schema
from ctdc.store.release import DICTIONARY_FILE

Kind = Literal["integer", "boolean", "string"]
#: the dictionary's SQL type -> the kind every package format shares
KINDS: dict[str, Kind] = {"SMALLINT": "integer", "BOOLEAN": "boolean", "VARCHAR": "string"}


@dataclass(frozen=True)
class Column:
    """One column of ``cases.parquet``, as its dictionary row describes it."""

    name: str
    sql_type: str
    kind: Kind
    variable: str
    #: hierarchy level (0 = as recorded) for a hierarchical variable's columns, else None
    level: int | None
    role: str
    ctdc_name: str | None
    group: str | None
    description: str
    null_means: str
    #: (value, meaning), in the dictionary's order
    values: tuple[tuple[str, str], ...]
    #: ``values`` is every value the column can hold (not the labels of a label column)
    closed: bool
    #: never NULL
    required: bool

    @property
    def enum(self) -> list[str | int | bool]:
        """``values`` as typed values (a year is an int), for closed lists."""
        if self.kind == "integer":
            return [int(v) for v, _ in self.values]
        if self.kind == "boolean":
            return [v == "true" for v, _ in self.values]
        return [v for v, _ in self.values]


def read_columns(folder: Path, schema: Schema) -> list[Column]:
    """The columns of the release in ``folder``, in file order, from its dictionary.

    Raises ``ValueError`` for a SQL type no package format has a kind for
    (add it to :data:`KINDS`).
    """
    labels = {g.concatenated for g in schema.groups.values() if g.concatenated}
    statuses = set(schema.status_columns.values())
    out = []
    for row in pq.read_table(folder / DICTIONARY_FILE).to_pylist():
        name, sql_type = str(row["column"]), str(row["type"])
        if sql_type not in KINDS:
            raise ValueError(f"column {name}: no package type for the SQL type {sql_type}")
        values = tuple((str(v["value"]), str(v["meaning"])) for v in row["values"] or [])
        out.append(
            Column(
                name=name,
                sql_type=sql_type,
                kind=KINDS[sql_type],
                variable=str(row["variable"]),
                level=row["level"],
                role=str(row["role"]),
                ctdc_name=row["ctdc_name"],
                group=row["group"],
                description=str(row["description"]),
                null_means=str(row["null_means"]),
                values=values,
                closed=bool(values) and name not in labels,
                required=name in statuses,
            )
        )
    return out


def levels_of(columns: list[Column], variable: str) -> int:
    """How many columns (levels) ``variable`` has in the release."""
    return sum(1 for c in columns if c.variable == variable and c.level is not None)
