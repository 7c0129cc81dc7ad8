"""The draft mapping as a typed plan: what each column becomes, and each value it holds.

``mapping init`` decides first and writes second: the plan is what
:mod:`ctdc.onboard.render` turns into YAML, what ``--json`` prints and what
the CLI's summary counts, so the three never disagree about a column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ctdc.mapping.source import SourceSpec

#: what a column becomes in the mapping
ColumnKind = Literal["case_id", "drop", "ignore", "field", "age", "birth_date", "multi", "unplaced"]
#: what the mapping does with a source value: nothing (the schema reads it), an entry,
#: or a commented ``# value: TODO`` line for the data officer
ValueStatus = Literal["default", "entry", "todo"]


@dataclass
class ValueNote:
    """One distinct source value and what the scaffold does with it."""

    value: str
    rows: int
    target: str | None = None  # YAML text of the entry's target (e.g. "Female", "null", "true")
    status: ValueStatus = "todo"
    why: str = ""
    also: list[str] = field(default_factory=list)  # other spellings, same entry
    #: a TODO's likely target (YAML text): written as the commented entry, so that
    #: uncommenting the line gives the entry its comment suggests
    suggested: str | None = None


@dataclass
class ColumnPlan:
    """One source column: where it goes, how sure the match is, and its values."""

    column: str
    kind: ColumnKind
    target: str = ""
    how: str = ""
    score: float = 0.0
    values: list[ValueNote] = field(default_factory=list)
    #: date_format (a format or a list), country, language, separator...
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    separators_seen: frozenset[str] = frozenset()  # multi: separators found in its cells

    @property
    def todo(self) -> list[ValueNote]:
        return [v for v in self.values if v.status == "todo"]


@dataclass
class Scaffold:
    """The plan of one export's mapping, and its YAML once rendered."""

    org: str
    file: Path
    source: SourceSpec
    rows: int
    columns: list[ColumnPlan]
    source_notes: list[str]
    data_source: str
    data_source_why: str
    missing: list[tuple[str, int]]
    text: str = ""
    #: a ``missing:`` token -> why it is one, beyond being found ("a word for unknown")
    missing_why: dict[str, str] = field(default_factory=dict)

    @property
    def unplaced(self) -> list[ColumnPlan]:
        return [c for c in self.columns if c.kind == "unplaced"]

    @property
    def todo_values(self) -> dict[str, list[tuple[str, int]]]:
        """Column -> distinct source values that still need a vocabulary entry, with counts."""
        return {c.column: [(v.value, v.rows) for v in c.todo] for c in self.columns if c.todo}

    def by_kind(self, kind: ColumnKind) -> list[str]:
        return [c.column for c in self.columns if c.kind == kind]

    def to_dict(self) -> dict[str, object]:
        return {
            "org": self.org,
            "file": str(self.file),
            "rows": self.rows,
            "source": {k: v for k, v in vars(self.source).items() if v is not None},
            "source_guesses": self.source_notes,
            "columns": [
                {
                    "column": c.column,
                    "kind": c.kind,
                    "target": c.target or None,
                    "how": c.how,
                    "score": round(c.score, 2),
                    **c.extra,
                    "notes": c.notes,
                }
                for c in self.columns
            ],
            "missing": dict(self.missing),
            "unplaced": [c.column for c in self.unplaced],
            "values_to_map": {k: dict(v) for k, v in self.todo_values.items()},
        }
