"""The audit as harmonize's last gate: a release that any attack breaks is not published.

Runs every check of :mod:`ctdc.audit` on the verified release in its temp
folder, against the previous release of the same epoch (``--new-epoch``
re-codes on purpose, and the steward has confirmed that; the warning counts
it). The ``files`` check is left to ``ctdc audit``: it is about the public
folder, whose copy of this release ``store.public`` makes afterwards with the
promised modes. The linkage register gets numbered names, not Faker's: names
never enter the join, and a data officer's install has no Faker.
"""

from __future__ import annotations

from pathlib import Path

from ctdc.audit import AuditReport, audit_release
from ctdc.errors import CtdcError
from ctdc.schema import Schema
from ctdc.slugs import Slug
from ctdc.store.workspace import Workspace


def audit_gate(
    ws: Workspace, schema: Schema, folder: Path, release_id: str, previous: Path | None, k: int
) -> AuditReport:
    """The audit's report; raises ``audit-failed`` naming each failed check."""
    report = audit_release(ws, schema, folder, previous, k=k, skip={"files"},
                           release_id=release_id, faker=False)  # fmt: skip
    if not report.passed:
        failed = "; ".join(f"{c.name}: {c.detail}" for c in report.failed)
        raise CtdcError(Slug.AUDIT_FAILED, f"{len(report.failed)} of {len(report.checks)} "
                        f"checks failed: {failed}")  # fmt: skip
    return report
