"""The workspace's releases as the operator sees them: which exist, which is current.

Read from the private releases (``<data>/releases/<id>/manifest.json``), the two
``current`` links and the release log (``store.release_log``); nothing here
writes. A summary holds counts, settings and ids, never a pseudonym, a batch id
or a row of data, so ``ctdc releases list`` and ``show`` can go to a terminal,
a cron mail or a ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ctdc.errors import CtdcError
from ctdc.harmonize.manifest import ReleaseManifest
from ctdc.harmonize.publish import Release
from ctdc.slugs import Slug
from ctdc.store.areas import workspace_area
from ctdc.store.public import current_public_release
from ctdc.store.release import MANIFEST_FILE, current_release, read_manifest
from ctdc.store.release_log import read_log, rolled_back
from ctdc.store.retention import RELEASE_ID, release_ids
from ctdc.store.workspace import Workspace


def load_release(ws: Workspace, release_id: str) -> Release:
    """The private release ``release_id``; ``unknown-release`` naming the ones that exist."""
    folder = ws.releases_dir / release_id
    if not RELEASE_ID.fullmatch(release_id) or not (folder / MANIFEST_FILE).is_file():
        known = release_ids(ws.releases_dir)
        listed = ", ".join(known[-5:]) if known else "none yet"
        raise CtdcError(Slug.UNKNOWN_RELEASE, f"no release {release_id!r} in {ws.releases_dir}"
                        f" (newest: {listed})")  # fmt: skip
    try:
        return Release(folder, ReleaseManifest.from_dict(read_manifest(folder)))
    except (ValueError, KeyError, TypeError) as exc:
        raise CtdcError(
            Slug.UNKNOWN_RELEASE,
            f"the manifest of release {release_id} cannot be read: {type(exc).__name__}",
            file=folder / MANIFEST_FILE,
        ) from exc


@dataclass(frozen=True)
class ReleaseSummary:
    """One release, in the terms an operator compares releases by."""

    release_id: str
    created_at: str
    k: int
    l: int | None  # noqa: E741 -- the letter of l-diversity
    epoch: int | None
    records: int
    loss_metric: float
    cells_suppressed: int
    schema_sha256: str
    overrides: dict[str, Any]
    current: bool
    public: bool
    public_current: bool
    rolled_back: bool

    def to_dict(self) -> dict[str, Any]:
        return {"release_id": self.release_id, "created_at": self.created_at, "k": self.k,
                "l": self.l, "epoch": self.epoch, "records": self.records,
                "loss_metric": self.loss_metric, "cells_suppressed": self.cells_suppressed,
                "schema_sha256": self.schema_sha256, "overrides": self.overrides,
                "current": self.current, "public": self.public,
                "public_current": self.public_current, "rolled_back": self.rolled_back}  # fmt: skip

    @property
    def marks(self) -> str:
        """``current``, ``public``, ``rolled back``: what the list shows beside the id."""
        out = ["current"] if self.current else []
        if self.public_current and not self.current:
            out.append("public current")
        elif self.public and not self.current:
            out.append("public")
        if self.rolled_back:
            out.append("rolled back")
        return ", ".join(out)


def summarize(release: Release, *, current: bool, public: bool, public_current: bool,
              rolled_back: bool) -> ReleaseSummary:  # fmt: skip
    m = release.manifest
    series = m.series or {}
    return ReleaseSummary(
        release_id=m.release_id,
        created_at=m.created_at,
        k=m.k,
        l=m.l,
        epoch=None if series.get("epoch") is None else int(series["epoch"]),
        records=m.files.cases_rows,
        loss_metric=float(m.anonymization.loss_metric),
        cells_suppressed=int(m.anonymization.cells_suppressed_total),
        schema_sha256=m.schema.sha256,
        overrides=dict(m.policy.overrides),
        current=current,
        public=public,
        public_current=public_current,
        rolled_back=rolled_back,
    )


def list_releases(ws: Workspace) -> list[ReleaseSummary]:
    """Every release kept in the workspace, oldest first, the current one marked."""
    area = workspace_area(ws)
    current = current_release(ws)
    public_now = current_public_release(area.root)
    withdrawn = rolled_back(read_log(ws))
    out = []
    for release_id in release_ids(ws.releases_dir):
        release = load_release(ws, release_id)
        out.append(summarize(
            release,
            current=current is not None and current.name == release_id,
            public=(area.releases_dir / release_id).is_dir(),
            public_current=public_now is not None and public_now.name == release_id,
            rolled_back=release_id in withdrawn,
        ))  # fmt: skip
    return out


def show_release(ws: Workspace, release_id: str) -> tuple[ReleaseSummary, dict[str, Any]]:
    """One release's summary and the details ``show`` adds: accounting totals, the series'
    counts, the policy applied, suppression per quasi-identifier. No batch id (an export's
    hash), no organization figure beyond the totals, no pseudonym."""
    listed = {s.release_id: s for s in list_releases(ws)}
    release = load_release(ws, release_id)
    m = release.manifest
    series = {k: v for k, v in (m.series or {}).items()
              if isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip
    policy = m.policy.to_dict()
    shown = (
        "k",
        "k_floor",
        "l",
        "levels",
        "overrides",
        "series_hold_cells",
        "series_hold_days",
        "series_increment_days",
        "licence",
    )
    details = {
        "previous_release": m.changes.previous_release,
        "ctdc_version": m.ctdc_version,
        "accounting": m.accounting.total.to_dict(),
        "series": series,
        "policy": {k: policy.get(k) for k in shown},
        "cells_suppressed_by_qi": dict(m.anonymization.cells_suppressed),
        "k_check": {"passed": m.k_check.passed, "min_class_size": m.k_check.min_class_size},
        "audit": list((m.series or {}).get("audit") or []),
    }
    return listed[release_id], details
