"""How to read one export, per format: the few settings each reader takes, typed and frozen.

Each reader takes its own options and nothing else, so a reader cannot
depend on how an organization's mapping spells them (``pipelines/<org>.yaml``
builds these from its ``source:`` block) and ``ctdc mapping init`` can read a
sample before any mapping exists. A format without settings still has a type,
so that :data:`FormatOptions` names exactly the formats there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal


@dataclass(frozen=True)
class CsvOptions:
    """Delimited text; ``name`` is what messages call the file (a TSV is a CSV read with tabs)."""

    encoding: str = "utf-8"
    delimiter: str = ","
    name: Literal["csv", "tsv"] = "csv"


@dataclass(frozen=True)
class JsonOptions:
    """A JSON array of records or, with ``lines``, NDJSON (one record per line)."""

    encoding: str = "utf-8"
    lines: bool = False

    @property
    def name(self) -> str:
        return "ndjson" if self.lines else "json"


@dataclass(frozen=True)
class XlsxOptions:
    """A workbook sheet (the first one when ``sheet`` is None).

    ``header_row`` is the spreadsheet row of the header; ``header_rows`` how
    many rows from there make it up (merged group labels above the column
    names, joined with " / ").
    """

    sheet: str | None = None
    header_row: int = 1
    header_rows: int = 1

    name: ClassVar[str] = "xlsx"


@dataclass(frozen=True)
class ParquetOptions:
    """Parquet carries its own schema: nothing to set."""

    name: ClassVar[str] = "parquet"


FormatOptions = CsvOptions | JsonOptions | XlsxOptions | ParquetOptions
