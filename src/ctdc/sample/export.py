"""An organization's export before it is written: its columns, defects and bytes.

Each organization's renderer (``ctdc.sample.orgs``) builds one :class:`Export`:
ordered source columns of Python cell values, the ways a bad row can be
planted in it (``defects``), and its format. Serialization lives here so that
every format is written byte-for-byte deterministically: the same seed gives
the same file, XLSX included (its zip entries and core properties carry a
fixed time, not the clock).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: XLSX core properties and zip entry times: fixed, so the same seed gives the same bytes
FIXED_TIME = dt.datetime(2025, 1, 1, 0, 0, 0)

Defect = Callable[["Export", int, np.random.Generator], str]
"""Plants one defect in row ``pos`` of an export; returns the source column it broke."""


@dataclass
class Export:
    """One organization's export before serialization."""

    org: str
    filename: str
    format: str  # csv | xlsx | json
    columns: dict[str, np.ndarray]  # source column -> object array of cell values
    case_id: str
    identifiers: tuple[str, ...]  # text identifier columns (markers go there)
    defects: dict[str, tuple[Defect, ...]] = field(default_factory=dict)
    encoding: str = "utf-8"
    delimiter: str = ","
    lineterminator: str = "\n"
    sheet: str = "Sheet1"

    @property
    def first_row(self) -> int:
        """Row number of the first record as a data officer sees it (header = row 1)."""
        return 1 if self.format == "json" else 2

    def __len__(self) -> int:
        return len(self.columns[self.case_id])

    def to_bytes(self) -> bytes:
        if self.format == "csv":
            return self._csv()
        if self.format == "xlsx":
            return self._xlsx()
        return self._json()

    def _csv(self) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=self.delimiter, lineterminator=self.lineterminator)
        writer.writerow(self.columns)
        cols = [["" if v is None else str(v) for v in c] for c in self.columns.values()]
        writer.writerows(zip(*cols, strict=True))
        return buf.getvalue().encode(self.encoding)  # strict: a stray character is a bug

    def _xlsx(self) -> bytes:
        from openpyxl import Workbook
        from openpyxl.writer.excel import ExcelWriter

        wb = Workbook(write_only=True)
        wb.properties.created = wb.properties.modified = FIXED_TIME
        wb.properties.creator = f"{self.org} case-management system"
        ws = wb.create_sheet(self.sheet)
        ws.append(list(self.columns))
        for row in zip(*self.columns.values(), strict=True):
            ws.append(list(row))
        raw = io.BytesIO()
        # ExcelWriter directly: openpyxl's save_workbook stamps "modified" with the clock
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            ExcelWriter(wb, archive).write_data()
        return _fixed_zip_times(raw.getvalue())

    def _json(self) -> bytes:
        names = list(self.columns)
        records = (
            json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False)
            for row in zip(*self.columns.values(), strict=True)
        )
        return ("[\n" + ",\n".join(records) + "\n]\n").encode("utf-8")


def _fixed_zip_times(data: bytes) -> bytes:
    """Re-pack a zip with every entry dated ``FIXED_TIME`` (zipfile stamps the clock)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()
