"""``ctdc quarantine export``: the open quarantined rows, to send back for correction.

One line per open quarantined source row (``quarantine.resolve``: rows a
corrected row already closed are left out), in the organization's *own*
column names and values (the raw row as read), between ctdc's helper columns
(``ctdc.mapping.helpers``): first ``ctdc_quarantine_id`` (which row this is,
read back by ingest to close it), ``ctdc_source_file`` and
``ctdc_source_row``, then after the organization's columns what is wrong with
it: ``ctdc_reason``, ``ctdc_column``, ``ctdc_value``, ``ctdc_expected`` and
``ctdc_fix`` (several errors of one row are joined with `` | ``). The mapping
layer skips exactly those names, so the corrected file is ingested with the
organization's usual mapping. It is written in the organization's own format
(``quarantine.formats``): a CSV in its pinned encoding and delimiter, a
workbook, JSON, NDJSON or Parquet; a CSV in UTF-8 with a BOM (for Excel) and
commas when the organization has no mapping.

Formula injection: a cell starting with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return, as OWASP also lists) would run as a formula when the
file is opened in a spreadsheet, so it is prefixed with ``'``; ingest takes
the ``'`` off again in a file that carries quarantine ids
(``ingest.stream.unneutralize``). The raw rows came from outside and may be
hostile; the person opening this file should not pay for it. For the same
reason, control characters (C0 but tab, line
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

from ctdc.errors import CATALOGUE, CtdcError
from ctdc.mapping.helpers import HELPER_COLUMNS, ISSUES, QUARANTINE_ID, WHERE, is_helper
from ctdc.quarantine.formats import TEXT_FORMATS, export_format, render
from ctdc.quarantine.resolve import closed_mask, read_resolutions, row_ids
from ctdc.quarantine.store import read_quarantine
from ctdc.slugs import Slug
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
#: the quarantine's own names of what the export calls ``ctdc_<name>``
ISSUE_COLUMNS = ["reason", "column", "value", "expected", "fix"]
WHERE_COLUMNS = ["source_file", "source_row"]


@dataclass(frozen=True)
class ExportResult:
    path: str
    rows: int


def neutralize(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix formula-like cells (and header names) with ``'``; escape control characters.

    A missing cell stays missing (NA): a CSV writes it empty, JSON as null.
    """
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        text = frame[column].astype("string")
        text = text.map(lambda v: escape(v, keep=CSV_KEEP), na_action="ignore").astype("string")
        risky = text.str.contains(_FORMULA_RE, regex=True).fillna(False).to_numpy(dtype=bool)
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


def open_rows(ws: Workspace, org: str) -> pd.DataFrame:
    """The quarantine entries of ``org`` whose row no corrected row has closed yet."""
    q = read_quarantine(ws, org)
    if q.empty:
        return q
    return q[~closed_mask(q, read_resolutions(ws, org))].reset_index(drop=True)


def quarantine_frame(ws: Workspace, org: str) -> pd.DataFrame:
    """The export's content (before neutralization): helper columns around the org's own.

    Missing cells of the raw row stay NA (a JSON export writes them as null).
    Helper columns in a raw row (a corrected export that failed again) are
    the earlier round's: the row's own new ones replace them.
    """
    helpers = list(HELPER_COLUMNS)
    q = open_rows(ws, org)
    if q.empty:
        return pd.DataFrame(columns=helpers)
    issues = _issues(q)
    own = pd.DataFrame.from_records([json.loads(r) for r in issues["raw"]], index=issues.index)
    own = own.drop(columns=[c for c in own.columns if is_helper(c)]).astype("string")
    ours = dict(zip([*WHERE_COLUMNS, *ISSUE_COLUMNS], [*WHERE, *ISSUES], strict=True))
    ids = row_ids(issues).rename(QUARANTINE_ID)
    return pd.concat(
        [
            ids,
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


def export_quarantine(ws: Workspace, org: str, out: Path | None,
                      source: SourceSpec | None) -> ExportResult:  # fmt: skip
    """Write the org's open quarantined rows in its own format (0600: they are raw rows).

    ``source`` is the ``source:`` block of the organization's mapping (None:
    a UTF-8 CSV). ``out`` None writes to standard output, for text formats only.
    """
    fmt = export_format(source)
    if out is None and fmt not in TEXT_FORMATS:
        raise CtdcError(Slug.BAD_OPTION, f"{org} exports {fmt}, which is not written to "
                        "standard output", fix=f"pass --out {org}-quarantine.{fmt}")  # fmt: skip
    encoding, delimiter = export_dialect(source)
    frame = quarantine_frame(ws, org)
    data = render(neutralize(frame), source, encoding=encoding, delimiter=delimiter)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return ExportResult("-", len(frame))
    write_bytes(out, data, mode=0o600)
    return ExportResult(str(out), len(frame))
