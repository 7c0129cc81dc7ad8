"""``ctdc quarantine export``: the quarantined rows as a CSV to send back for correction.

One line per quarantined source row, in the organization's *own* column
names and values (the raw row as read), followed by what is wrong with it:
``reason``, ``column``, ``value``, ``expected`` and ``fix`` (several errors of
one row are joined with `` | ``). Where the organization exports CSV, the file
uses its pinned encoding and delimiter so that it opens like their own
exports; otherwise UTF-8 with a BOM (for Excel) and commas.

Formula injection: a cell starting with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return, as OWASP also lists) would run as a formula when the
file is opened in a spreadsheet, so it is prefixed with ``'``. The raw rows
came from outside and may be hostile; the person opening this file should
not pay for it. For the same reason, control characters (C0 but tab, line
feed and carriage return, which the CSV quotes; DEL; ESC; C1 controls
U+0080-U+009F), bidi controls (U+202E and its family) and the Unicode line
separators are written as visible ``\\xNN``/``\\uNNNN`` (``ctdc.text.escape``),
in cells and in column names: a spreadsheet or a terminal showing the file
then shows them instead of obeying them.
"""

from __future__ import annotations

import codecs
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ctdc.errors import CATALOGUE
from ctdc.quarantine.store import read_quarantine
from ctdc.store.atomic import write_bytes
from ctdc.store.workspace import Workspace
from ctdc.text import escape

if TYPE_CHECKING:
    from ctdc.mapping.source import SourceSpec

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_RE = r"^[=+\-@\t\r]"
#: characters a CSV cell keeps as they are (quoted by the writer)
CSV_KEEP = "\t\n\r"
JOIN = " | "
ISSUE_COLUMNS = ["reason", "column", "value", "expected", "fix"]
WHERE_COLUMNS = ["source_file", "source_row"]


@dataclass(frozen=True)
class ExportResult:
    path: str
    rows: int


def neutralize(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix formula-like cells (and header names) with ``'``; escape control characters."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        text = frame[column].astype("string").fillna("")
        text = text.map(lambda v: escape(v, keep=CSV_KEEP), na_action="ignore").astype("string")
        risky = text.str.contains(_FORMULA_RE, regex=True).to_numpy(dtype=bool)
        name = escape(column, keep=CSV_KEEP)
        name = f"'{name}" if name.startswith(FORMULA_START) else name
        out[name] = text.where(~risky, "'" + text)
    return out


def _issues(q: pd.DataFrame) -> pd.DataFrame:
    """One row per (batch, source row): its errors joined, with the catalogue's fix."""
    q = q.assign(fix=q["reason"].map(lambda r: CATALOGUE[r].fix if r in CATALOGUE else ""))
    keys = ["batch_id", *WHERE_COLUMNS]
    joined = q.groupby(keys, sort=False)[ISSUE_COLUMNS].agg(JOIN.join)
    fixes = q.drop_duplicates([*keys, "fix"]).groupby(keys, sort=False)["fix"].agg(JOIN.join)
    raw = q.groupby(keys, sort=False)["raw"].first()
    return joined.assign(fix=fixes, raw=raw).reset_index()


def quarantine_frame(ws: Workspace, org: str) -> pd.DataFrame:
    """The export's content (before neutralization): where, own columns, what is wrong."""
    q = read_quarantine(ws, org)
    if q.empty:
        return pd.DataFrame(columns=[*WHERE_COLUMNS, *ISSUE_COLUMNS])
    issues = _issues(q)
    own = pd.DataFrame.from_records([json.loads(r) for r in issues["raw"]], index=issues.index)
    own = own.astype("string").fillna("")
    clash = set(own.columns) & {*WHERE_COLUMNS, *ISSUE_COLUMNS}
    ours = {c: f"ctdc_{c}" if clash else c for c in [*WHERE_COLUMNS, *ISSUE_COLUMNS]}
    return pd.concat(
        [
            issues[WHERE_COLUMNS].rename(columns=ours).astype("string"),
            own,
            issues[ISSUE_COLUMNS].rename(columns=ours),
        ],
        axis=1,
    )


def export_dialect(source: SourceSpec | None) -> tuple[str, str]:
    """(encoding, delimiter): the organization's own CSV dialect, else UTF-8 with BOM and commas.

    UTF-8 gets a BOM so that Excel, where the file will most likely be opened,
    does not misread accented names; ctdc's own readers skip it.
    """
    if source is None or source.format not in ("csv", "tsv"):
        return "utf-8-sig", ","
    utf8 = codecs.lookup(source.encoding).name == "utf-8"
    return ("utf-8-sig" if utf8 else source.encoding), source.delimiter


def export_csv(
    ws: Workspace, org: str, out: Path | None, *, encoding: str = "utf-8-sig", delimiter: str = ","
) -> ExportResult:
    """Write the org's quarantine as a neutralized CSV (0600: it holds raw rows).

    ``out`` None writes to standard output.
    """
    frame = quarantine_frame(ws, org)
    text = neutralize(frame).to_csv(index=False, sep=delimiter, lineterminator="\r\n")
    data = text.encode(encoding, errors="replace")
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return ExportResult("-", len(frame))
    write_bytes(out, data, mode=0o600)
    return ExportResult(str(out), len(frame))
