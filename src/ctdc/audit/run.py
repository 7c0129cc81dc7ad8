"""``audit_release``: every check against one release (and the one before it), as the steward.

Harmonize will call this before it publishes (the lead engineer wires that
in), and ``ctdc audit`` calls it on what is already public. It only reads:
the release, the previous release, the live staging and the ledger. Each
check is a small function of the same :class:`~ctdc.audit.sources.Sources`;
one that raises is reported as failed with the exception's type (never its
text, which could quote a value), so one broken check never hides the others.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from ctdc.audit.disclosure import attribute_disclosure, derived_fields, differencing
from ctdc.audit.files import files, markers_and_bytes, private_strings
from ctdc.audit.model import AuditReport, CheckResult, fail, ok, plural
from ctdc.audit.order import row_order
from ctdc.audit.reidentify import linkage, prosecutor
from ctdc.audit.sources import Sources, open_sources
from ctdc.schema import Schema
from ctdc.store.areas import workspace_area
from ctdc.store.public import PublicArea, current_public_release
from ctdc.store.publication import ledger_path
from ctdc.store.workspace import Workspace

FROZEN_ROWS = "frozen rows"


def frozen_rows(ws: Workspace, src: Sources, release_id: str | None = None) -> CheckResult:
    """The release is its publication ledger's published rows, and no record changed form.

    From the private ledgers (``ctdc.store.publication``) of this release and the
    previous one: the release's rows, over the released fields, are exactly the
    ledger's published rows (a row the ledger does not know, or one missing, fails);
    and every record published in both has the same released row in both (the
    intersection attack of a re-coded record finds nothing).
    """
    ledger = ledger_path(ws.root, release_id or src.release.name)
    if not ledger.is_file():
        return CheckResult(FROZEN_ROWS, True, "no publication ledger for this release "
                           "(published before the series)", skipped=True)  # fmt: skip
    names = [c for c in src.schema.released if c in src.columns]
    cols = ", ".join(f'"{c}"' for c in names)
    src.con.execute(f"CREATE TEMP VIEW ledger_now AS SELECT * FROM read_parquet("
                    f"{_literal(ledger)}) WHERE state = 'published'")  # fmt: skip
    diff = "SELECT count(*) FROM (SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b})"
    extra, missing = (
        src.con.execute(diff.format(cols=cols, a=a, b=b)).fetchall()[0][0]
        for a, b in (("cases", "ledger_now"), ("ledger_now", "cases"))
    )
    problems = []
    if extra or missing:
        problems.append(
            f"{plural(extra, 'row')} not in the ledger and "
            f"{plural(missing, 'published record')} missing from the release"
        )
    before = ledger_path(ws.root, src.previous.name) if src.previous is not None else None
    if before is not None and before.is_file():
        same = " AND ".join(f'a."{c}" IS NOT DISTINCT FROM b."{c}"' for c in names)
        recoded = src.con.execute(
            f"SELECT count(*) FROM ledger_now a JOIN (SELECT * FROM read_parquet("
            f"{_literal(before)}) WHERE state = 'published') b USING (case_pseudonym) "
            f"WHERE a.content = b.content AND NOT ({same})"
        ).fetchall()[0][0]
        if recoded:
            problems.append(f"{plural(recoded, 'published record')} changed form since the "
                            "previous release")  # fmt: skip
    if problems:
        return fail(FROZEN_ROWS, "; ".join(problems))
    return ok(FROZEN_ROWS, "the release is its ledger's published rows; no record changed form")


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def previous_public_release(area: PublicArea, release: Path) -> Path | None:
    """The public release before ``release``: ids begin with their UTC time, so name order."""
    if not area.releases_dir.is_dir():
        return None
    older = sorted(
        p
        for p in area.releases_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name < release.name
    )
    return older[-1] if older else None


def default_release(area: PublicArea) -> Path | None:
    return current_public_release(area.root)


def audit_release(
    ws: Workspace,
    schema: Schema,
    release: Path,
    previous: Path | None = None,
    *,
    k: int,
    markers: Sequence[str] = (),
    public: PublicArea | None = None,
    only: Collection[str] | None = None,
    skip: Collection[str] = (),
    release_id: str | None = None,
    faker: bool = True,
) -> AuditReport:
    """Run every check on ``release`` (a folder with ``cases.parquet``), ``previous`` if given.

    ``public`` is the public folder whose files and bytes are checked; by
    default the workspace's. A release outside it is audited as a folder of
    its own: its three files, their modes and bytes. ``only`` runs just the
    named checks (a test of one check, or a quick re-run of a failed one), ``skip``
    leaves named ones out. ``release_id`` names the release whose ledger the frozen rows
    check reads when ``release`` is not yet in its final folder (harmonize's gate), and
    ``faker=False`` gives the linkage register numbered names instead of Faker's.
    """
    area = public if public is not None else workspace_area(ws)
    inside = release.resolve().is_relative_to(area.root.resolve())
    scanned = area.root if inside else release
    src = open_sources(ws, schema, release, previous, k)
    try:
        checks: list[tuple[str, Callable[[], CheckResult | None]]] = [
            ("prosecutor", lambda: prosecutor(src)),
            ("linkage", lambda: linkage(src, faker=faker)),
            ("differencing", lambda: differencing(src)),
            ("attribute disclosure", lambda: attribute_disclosure(src)),
            ("derived fields", lambda: derived_fields(src)),
            (
                "markers and bytes",
                lambda: markers_and_bytes(
                    src, scanned, private_strings(src, ws.stored_fingerprint(), markers)
                ),
            ),
            ("row order", lambda: row_order(src)),
            ("files", lambda: files(area if inside else None, release, area.mode)),
            (FROZEN_ROWS, lambda: frozen_rows(ws, src, release_id)),
        ]
        chosen = [(n, c) for n, c in checks if (only is None or n in only) and n not in skip]
        results = [r for r in (_run(name, check) for name, check in chosen) if r is not None]
    finally:
        src.con.close()
    name = release_id or release.name
    return AuditReport(name, previous.name if previous else None, k, tuple(results))


def _run(name: str, check: Callable[[], CheckResult | None]) -> CheckResult | None:
    try:
        return check()
    except Exception as exc:
        return fail(name, f"the check could not run ({type(exc).__name__})")
