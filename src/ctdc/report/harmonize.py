"""``ctdc harmonize``: a release's row accounting, information loss and re-identification risk."""

from __future__ import annotations

from rich.table import Table

from ctdc.anonymize import AnonymizationReport
from ctdc.harmonize.manifest import ReleaseManifest

#: the accounting table's columns, ``balanced`` last: every term of both balances
#: (read = staged + quarantined; staged = duplicates merged + suppressed + held + withheld +
#: withdrawn + released), so that an operator can add up what the table shows
ACCOUNTING_COLUMNS = ("rows_read", "quarantined", "staged", "duplicates_merged",
                      "records_suppressed", "held", "withheld", "withdrawn", "released",
                      "balanced")  # fmt: skip


def harmonize_tables(manifest: ReleaseManifest) -> list[Table]:
    """The accounting per organization and overall, then the anonymization tables."""
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
