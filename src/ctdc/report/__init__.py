"""Human-readable summaries (rich tables) of ingest, harmonize and query results.

Kept apart from the library so that the API returns data and only the CLI
decides how to show it. Text that may come from outside (file and column
names, values, query results) goes into a table as a :class:`rich.text.Text`
(never parsed as rich markup, so a file named ``[link=...]`` stays a name)
after :func:`ctdc.text.escape` (so an ESC, C1 or bidi control in it is shown,
not obeyed by the terminal). Which values may be shown at all is decided
upstream (``ctdc.ingest.redact``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from ctdc.anonymize import AnonymizationReport
from ctdc.harmonize.manifest import ReleaseManifest
from ctdc.ingest import IngestResult
from ctdc.limits import MAX_SHOWN_CODE_CHARS
from ctdc.text import describe, escape


def cell(value: object) -> Text:
    """Outside text as a table cell: escaped, and never read as rich markup."""
    return Text(escape(value))


def ingest_table(results: Sequence[IngestResult]) -> Table:
    dry = any(r.dry_run for r in results)
    table = Table(title="ctdc validate (dry run: nothing written)" if dry else "ctdc ingest",
                  title_justify="left")  # fmt: skip
    cols = ("org", "file", "batch", "status", "read", "staged", "quarantined", "reasons",
            "read = staged + quarantined")  # fmt: skip
    for col in cols:
        table.add_column(
            col, justify="right" if col in ("read", "staged", "quarantined") else "left"
        )
    for r in results:
        reasons = "\n".join(f"{slug} {n}" for slug, n in r.quarantined_by_reason.items()) or "-"
        status = f"{r.status} ({r.mode})" if r.mode == "snapshot" else r.status
        table.add_row(r.org, cell(r.file), r.batch_id, status, f"{r.rows_read:,}", f"{r.staged:,}",
                      f"{r.quarantined:,}", reasons,
                      "yes" if r.balanced else "NO")  # fmt: skip
    return table


def ingest_examples(results: Sequence[IngestResult]) -> list[str]:
    """Notes (a guessed encoding), then the first offending rows of each file: where, what, fix.

    A value appears only if the example carries it (``ctdc.ingest.redact``);
    otherwise its hint does. Lines are escaped: print them with ``markup=False``.
    """
    lines = []
    for r in results:
        lines += [escape(f"{r.file}: {note}") for note in r.notes]
        for e in r.examples:
            where = ", ".join(
                [str(e["file"]), f"row {e['row']}"]
                + ([f"column {e['column']!r}"] if e["column"] else [])
            )
            if e.get("value"):
                value = f" '{e['value']}'"
            elif e.get("value_hint"):
                value = f" ({e['value_hint']})"
            else:
                value = " (empty)"
            lines.append(escape(f"{where}: {e['reason']}{value} — expected {e['expected']} "
                                f"— fix: {e['fix']}"))  # fmt: skip
        if r.invalid > len(r.examples):
            lines.append(escape(f"{r.file}: … {r.invalid - len(r.examples):,} more rows; "
                                f"see `ctdc quarantine list --org {r.org}`"))  # fmt: skip
    return lines


def quarantine_batches_table(org: str, batches: Sequence[Any]) -> Table:
    """``ctdc quarantine list``: one line per batch with its rows by reason."""
    table = Table(title=f"quarantine of {org}", title_justify="left")
    for col in ("batch", "file", "status", "written", "rows", "reasons"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for b in batches:
        reasons = "\n".join(f"{slug} {n:,}" for slug, n in b.rows_by_reason.items())
        table.add_row(b.batch_id, cell(b.source_file), b.status, b.written_at, f"{b.rows:,}",
                      reasons)  # fmt: skip
    return table


#: the accounting table's columns, ``balanced`` last
ACCOUNTING_COLUMNS = ("rows_read", "quarantined", "staged", "duplicates_merged",
                      "records_suppressed", "released", "balanced")  # fmt: skip


def harmonize_tables(manifest: ReleaseManifest) -> list[Table]:
    acc = manifest.accounting
    rows = Table(title=f"release {manifest.release_id} (k={manifest.k})", title_justify="left")
    rows.add_column("org")
    for c in ACCOUNTING_COLUMNS:
        rows.add_column(c.replace("_", " "), justify="right")
    for org, r in [*acc.per_org.items(), ("TOTAL", acc.total)]:
        rows.add_row(org, *[f"{getattr(r, c):,}" for c in ACCOUNTING_COLUMNS[:-1]],
                     "yes" if r.balanced else "NO")  # fmt: skip
    return [rows, *anonymization_tables(manifest.anonymization)]


def anonymization_tables(report: AnonymizationReport) -> list[Table]:
    """Loss per quasi-identifier, and re-identification risk before and after."""
    loss = Table(
        title=f"information loss: LM {report.loss_metric:.4f}, "
        f"{report.records_suppressed:,} records removed, "
        f"{report.records_all_suppressed:,} with every quasi-identifier suppressed",
        title_justify="left",
    )
    for col in ("quasi-identifier", "suppressed", "generalized", "LM", "records per level"):
        loss.add_column(col, justify="left" if col[0] in "qr" else "right")
    for qi in report.quasi_identifiers:
        levels = " ".join(f"{lv}:{n:,}" for lv, n in report.levels[qi].items())
        loss.add_row(qi, f"{report.cells_suppressed[qi]:,}",
                     f"{report.cells_generalized[qi]:,}", f"{report.loss_by_qi[qi]:.4f}",
                     levels)  # fmt: skip
    risk = Table(title=f"re-identification risk (k={report.k})", title_justify="left")
    risk.add_column("")
    for col in ("classes", "sample uniques", "records in classes < k", "max risk", "mean risk"):
        risk.add_column(col, justify="right")
    for name, r in (("before", report.risk_before), ("after", report.risk_after)):
        risk.add_row(name, f"{r['classes']:,}", f"{r['sample_uniques']:,}",
                     f"{r['records_below_k']:,}", f"{r['max_prosecutor_risk']:.3f}",
                     f"{r['mean_prosecutor_risk']:.4f}")  # fmt: skip
    return [loss, risk]


def _code(value: str) -> Text:
    """A source value of a vocabulary column: shown if it is code-sized, else described."""
    if len(value) <= MAX_SHOWN_CODE_CHARS:
        return cell(value)
    return Text(f"(not shown: {describe(value)})")


def scaffold_summary(scaffold: Any, written: Any) -> list[Any]:
    """``ctdc mapping init``: how the file was read, where each column went, what is left."""
    s = scaffold
    src = s.source
    how = f"{src.format}"
    if src.format in ("csv", "tsv", "json", "ndjson"):
        how += f", {src.encoding}"
    if src.format == "csv":
        how += f", delimiter {src.delimiter!r}"
    if src.format == "xlsx" and src.sheet:
        how += f", sheet {src.sheet!r}"
    out: list[Any] = [
        escape(f"read {s.file.name} ({s.rows:,} rows) as {how}")
        + (" — guessed: check `source:` in the scaffold" if s.source_notes else "")
    ]
    table = Table(title=cell(f"columns of {s.file.name}"), title_justify="left")
    for col in ("column", "placed as", "why"):
        table.add_column(col)
    for c in s.columns:
        placed = {"field": f"fields.{c.target}", "multi": f"multi -> {c.target}",
                  "age": "age.column", "birth_date": "age.birth_date",
                  "unplaced": "TODO: not placed"}.get(c.kind, c.kind)  # fmt: skip
        if c.kind == "unplaced" and "group" in c.extra:
            placed = f"TODO: multi -> {c.extra['group']}, once its labels are mapped"
        table.add_row(cell(c.column), cell(placed), cell(c.how or "-"))
    out.append(table)
    todo = s.todo_values
    if todo:
        vals = Table(title="source values that need a vocabulary entry", title_justify="left")
        for col in ("column", "value", "rows"):
            vals.add_column(col, justify="right" if col == "rows" else "left")
        for column, values in todo.items():
            for i, (value, rows) in enumerate(values):
                vals.add_row(cell(column if i == 0 else ""), _code(value), f"{rows:,}")
        out.append(vals)
    else:
        out.append("every value of the mapped columns is translated")
    if s.unplaced:
        names = ", ".join(repr(c.column) for c in s.unplaced)
        out.append(escape(f"not placed (validate stops on each with unmapped-column): {names}"))
    out.append(escape(f"wrote {written}; fill in its TODO lines, then: "
                      f"ctdc validate --org {s.org} {s.file}"))  # fmt: skip
    return out


def frame_table(frame: pd.DataFrame, max_rows: int = 200) -> Table:
    table = Table(show_lines=False)
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        table.add_column(cell(col), justify="right" if numeric else "left")
    for row in frame.head(max_rows).itertuples(index=False):
        table.add_row(*[Text("NULL") if pd.isna(v) else cell(v) for v in row])
    if len(frame) > max_rows:
        table.caption = f"{len(frame):,} rows, first {max_rows} shown (use --format csv for all)"
    return table
