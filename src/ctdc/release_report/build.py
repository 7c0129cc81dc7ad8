"""``ctdc report``'s library: the public and the private report of the current release.

* :func:`public_report` reads only the public folder: safe tables, the public
  manifest. It is written to ``<public>/report.html`` beside ``views.sql``,
  with the public folder's file mode, so analysts get it with the release.
* :func:`private_report` adds what only the steward may see (per-organization
  intake, quarantine reasons, the risk before anonymization) and is written to
  ``<data>/reports/<release id>.html`` (0700 folder, 0600 file), never to the
  public folder.

Both are written atomically (``store.atomic``) under ``<data>/report.lock``,
which lets a writer remove the temp file a killed run left behind: in the
public folder a stray temp would fail the audit.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from pathlib import Path

from ctdc import __version__
from ctdc.errors import CtdcError
from ctdc.release_report.charts import label
from ctdc.release_report.dp_products import dp_section
from ctdc.release_report.figures import Figure, private_figures, public_figures
from ctdc.release_report.private import PrivateFacts, private_facts, reports_dir
from ctdc.release_report.render import PageMeta, Section, page
from ctdc.release_report.tables import ReleaseTables, release_tables
from ctdc.schema import Schema
from ctdc.slugs import Slug
from ctdc.store.areas import workspace_area
from ctdc.store.atomic import (
    ATOMIC_TEMP,
    atomic_temp_pattern,
    private_mkdir,
    remove_stale_temps,
    write_bytes,
)
from ctdc.store.lock import file_lock
from ctdc.store.public import REPORT_FILE, PublicArea
from ctdc.store.workspace import Workspace

#: held while a report is written, so stale temps can be removed safely
LOCK_FILE = "report.lock"
PRIVATE_MODE = 0o600


@dataclass(frozen=True)
class Report:
    """One rendered report."""

    release_id: str
    private: bool
    html: str
    figures: tuple[Figure, ...]
    tables: ReleaseTables
    """the safe tables its public figures draw"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _meta(tables: ReleaseTables, *, private: bool, generated_at: str | None) -> PageMeta:
    manifest = tables.manifest
    check = manifest.k_check
    verdict = f"{'passed' if check.passed else 'FAILED'} ({check.method})"
    return PageMeta(
        release_id=manifest.release_id, k=manifest.k, l=manifest.l,
        created_at=manifest.created_at, generated_at=generated_at or _now(),
        ctdc_version=__version__, records=label(tables.class_sizes.total.count),
        k_check=verdict, private=private,
    )  # fmt: skip


def _sections(tables: ReleaseTables, schema: Schema, facts: PrivateFacts | None,
              public_root: Path) -> list[Section]:  # fmt: skip
    public = public_figures(tables, schema)
    protection, patterns = public[:2], public[2:]
    k = tables.k
    risk = (
        f"<p>Every record is in a class of at least k = {k} records that share all its "
        f"quasi-identifiers, so the re-identification risk after anonymization is at most "
        f"1/{k} = {1 / k:.2f} per record. "
        + ("The risk before anonymization is below, from the private manifest.</p>"
           if facts is not None else
           "The risk before anonymization describes data no analyst sees and is not "
           "published.</p>")
    )  # fmt: skip
    sections = []
    if facts is not None:
        intake, reasons, before_after = private_figures(facts)
        sections.append(Section(
            "intake-section", "Intake and quarantine (private)",
            "<p>Per organization, from the workspace's ledger. These figures never go in "
            "the public report.</p>", [intake, reasons]))  # fmt: skip
        protection = [*protection, before_after]
    sections.append(Section("protection", "How the release protects people", risk, protection))
    sections.append(Section(
        "patterns", "Main patterns",
        "<p>Identified cases, as the contributing organizations recorded them: not a measure "
        "of prevalence. Each chart counts records by the level a value is mostly published "
        f"at; a category with fewer than k = {html.escape(str(k))} records is suppressed.</p>",
        patterns))  # fmt: skip
    products = dp_section(public_root)  # labelled apart: not the k-anonymous release
    return [*sections, products] if products is not None else sections


def public_report(public_root: Path, schema: Schema, *,
                  generated_at: str | None = None) -> Report:  # fmt: skip
    """The public report of ``<public_root>/current``: safe aggregates only."""
    tables = release_tables(public_root, schema)
    sections = _sections(tables, schema, None, public_root)
    text = page(_meta(tables, private=False, generated_at=generated_at), sections)
    figures = tuple(f for s in sections for f in s.figures)
    return Report(tables.release_id, False, text, figures, tables)


def private_report(ws: Workspace, schema: Schema, *, public_root: Path | None = None,
                   generated_at: str | None = None) -> Report:  # fmt: skip
    """The private report: the public one plus intake, quarantine reasons and risk before.

    The workspace's current release must be the public folder's (a crash
    between the two publishes leaves them apart until the next harmonize).
    """
    root = public_root if public_root is not None else workspace_area(ws).root
    facts = private_facts(ws)
    tables = release_tables(root, schema)
    if facts.manifest.release_id != tables.release_id:
        raise CtdcError(Slug.NO_RELEASE, f"the workspace's current release "
                        f"{facts.manifest.release_id} is not the public folder's "
                        f"{tables.release_id}", fix="run `ctdc harmonize`: it publishes "
                        "the missing public copy")  # fmt: skip
    sections = _sections(tables, schema, facts, root)
    text = page(_meta(tables, private=True, generated_at=generated_at), sections)
    figures = tuple(f for s in sections for f in s.figures)
    return Report(tables.release_id, True, text, figures, tables)


def default_path(ws: Workspace, report: Report, area: PublicArea) -> Path:
    """``<public>/report.html``, or ``<data>/reports/<release id>.html`` for a private one."""
    if report.private:
        return reports_dir(ws) / f"{report.release_id}.html"
    return area.root / REPORT_FILE


def check_out(out: Path, *, private: bool, area: PublicArea) -> None:
    """Refuse an ``--out`` that is a folder, has no folder, or puts a private report in public.

    Checked before a report is built (seconds of work) and again before it is written.
    """
    if out.is_dir():
        raise CtdcError(Slug.BAD_OPTION, f"--out {out} is a folder", fix="name a file")
    if not out.parent.is_dir():
        raise CtdcError(Slug.FILE_NOT_FOUND, "no such folder", file=out.parent)
    if private and out.parent.resolve().is_relative_to(area.root.resolve()):
        raise CtdcError(Slug.BAD_OPTION, f"--out {out} is in the public folder {area.root}",
                        fix="write a private report outside the public folder, or leave "
                        "--out out (it goes to <data>/reports/)")  # fmt: skip


def write_report(ws: Workspace, report: Report, *, out: Path | None = None,
                 area: PublicArea | None = None, wait: float = 30.0) -> Path:  # fmt: skip
    """Write ``report`` atomically to ``out`` or its default place; return the path.

    A public report gets the public folder's file mode (0644, or 0640 for a
    group), a private one 0600; a private one is refused inside the public folder.
    """
    area = area if area is not None else workspace_area(ws)
    target = out if out is not None else default_path(ws, report, area)
    if out is not None:
        check_out(out, private=report.private, area=area)
    mode = PRIVATE_MODE if report.private else area.file_mode
    with file_lock(ws.root / LOCK_FILE, wait=wait, holder="`ctdc report`"):
        if out is None and report.private:
            remove_stale_temps(private_mkdir(target.parent), ATOMIC_TEMP)
        elif out is None:
            remove_stale_temps(target.parent, atomic_temp_pattern(REPORT_FILE))
        write_bytes(target, report.html.encode("utf-8"), mode)
    return target
