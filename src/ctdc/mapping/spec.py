"""What an organization's mapping says (docs/mapping.md): typed, frozen, already checked.

``pipelines/<org>.yaml`` becomes a :class:`Mapping` only through
:func:`ctdc.mapping.load.load_mapping`; everything after it (the transform,
the chunk loop, the redaction of summaries) reads these types, never YAML.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctdc.mapping.source import SourceSpec

FORMATS = ("csv", "tsv", "xlsx", "json", "ndjson", "parquet")
TEXT_FORMATS = ("csv", "tsv", "json", "ndjson")
COUNTRY_FORMS = ("name", "alpha2", "alpha3")
#: the date "format" of spreadsheet serial day numbers (Excel's 1900 system: 45123 is
#: 2023-07-15), as an XLSX export holds dates in cells not formatted as dates
EXCEL_SERIAL = "excel"

#: the default yes/no vocabulary of boolean fields (keys already normalized)
BOOLEAN_WORDS: dict[str, bool] = {
    "1": True, "0": False, "true": True, "false": False, "yes": True, "no": False,
    "y": True, "n": False, "si": True, "t": True, "f": False,
}  # fmt: skip


def normalize(text: str) -> str:
    """Vocabulary key: case-, accent- and space-insensitive (``" Sí "`` -> ``"si"``)."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


@dataclass(frozen=True)
class FieldRule:
    field: str
    column: str | None = None
    value: Any = None
    values: dict[str, Any] | None = None  # normalized source text -> schema value
    date_format: tuple[str, ...] | None = None  # tried in order; see date_formats()
    country: str | None = None
    language: str = "en"
    default: Any = None  # schema value for rows where the column is missing (not recorded)


@dataclass(frozen=True)
class AgeRule:
    column: str | None = None
    birth_date: str | None = None
    birth_date_format: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MultiRule:
    column: str
    separator: str
    values: dict[str, str]  # normalized label -> flag field
    group: str


@dataclass(frozen=True)
class Mapping:
    org: str
    data_source: str
    source: SourceSpec
    case_id: str
    path: Path
    sha256: str
    description: str = ""
    drop: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    missing: frozenset[str] = frozenset({""})
    age: AgeRule | None = None
    fields: dict[str, FieldRule] = field(default_factory=dict)
    multi: tuple[MultiRule, ...] = ()

    def used_columns(self) -> set[str]:
        """Every source column the mapping names, for the unmapped-column check."""
        cols = {self.case_id, *self.drop, *self.ignore}
        cols |= {r.column for r in self.fields.values() if r.column}
        cols |= {m.column for m in self.multi}
        if self.age:
            cols |= {c for c in (self.age.column, self.age.birth_date) if c}
        return cols

    def required_columns(self) -> set[str]:
        """Columns that must exist in the export (dropped ones may be absent)."""
        return self.used_columns() - set(self.drop) - set(self.ignore)
