"""``ctdc ingest``/``validate`` summaries and the ``ctdc quarantine list`` table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.table import Table

from ctdc.ingest import IngestResult
from ctdc.quarantine.store import BatchSummary
from ctdc.report.cells import cell
from ctdc.store.ledger import BatchMode
from ctdc.text import escape


def ingest_table(results: Sequence[IngestResult]) -> Table:
    """One line per file: where its rows went, and whether they add up."""
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
        status = f"{r.status} ({r.mode})" if r.mode == BatchMode.SNAPSHOT else r.status
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
        lines += [escape(_cell_line(e)) for e in r.examples]
        more = r.invalid - len(r.examples)
        if more > 0 and r.dry_run:  # nothing was quarantined: there is no list to point to
            lines.append(escape(f"{r.file}: … {more:,} more rows not shown (validate prints "
                                f"the first {len(r.examples):,}); fix these, validate "
                                "again"))  # fmt: skip
        elif more > 0:
            lines.append(escape(f"{r.file}: … {more:,} more rows; see `ctdc quarantine list "
                                f"--org {r.org} --rows`"))  # fmt: skip
    return lines


def quarantine_batches_table(org: str, batches: Sequence[BatchSummary]) -> Table:
    """``ctdc quarantine list``: one line per batch with its rows by reason, open and closed."""
    table = Table(title=f"quarantine of {org}", title_justify="left")
    for col in ("batch", "file", "status", "written", "rows", "open", "reasons"):
        table.add_column(col, justify="right" if col in ("rows", "open") else "left")
    for b in batches:
        reasons = "\n".join(f"{slug} {n:,}" for slug, n in b.rows_by_reason.items())
        table.add_row(b.batch_id, cell(b.source_file), b.status, b.written_at, f"{b.rows:,}",
                      f"{b.rows - b.resolved:,}", reasons)  # fmt: skip
    return table


def quarantine_row_lines(rows: Sequence[dict[str, object]]) -> list[str]:
    """``ctdc quarantine list --rows``: one line per open offending cell, values as redacted
    (``ctdc.ingest.redact``). Escaped: print them with ``markup=False``."""
    return [escape(f"{e['quarantine_id']}  {_cell_line(e)}") for e in rows]


def _cell_line(e: Mapping[str, object]) -> str:
    """One offending cell: where, why, its value as redacted, what was expected, the fix."""
    where = ", ".join([str(e["file"]), f"row {e['row']}"]
                      + ([f"column {e['column']!r}"] if e["column"] else []))  # fmt: skip
    if e.get("value"):
        value = f" '{e['value']}'"
    elif e.get("value_hint"):
        value = f" ({e['value_hint']})"
    else:
        value = " (empty)"
    return f"{where}: {e['reason']}{value} — expected {e['expected']} — fix: {e['fix']}"
