"""``ctdc releases prune --keep N``: the retention rule of ``store.retention``, applied once.

Under the harmonize lock, so no run reads a release while it goes; logged in the
release log with who and why. The policy's ``keep_releases`` applies the same
rule at every harmonize.
"""

from __future__ import annotations

from ctdc.errors import CtdcError
from ctdc.harmonize.publish import clear_stale_temps
from ctdc.slugs import Slug
from ctdc.store.areas import workspace_area
from ctdc.store.lock import exclusive_lock
from ctdc.store.release_log import ReleaseAction, record_event
from ctdc.store.retention import Pruned, prune_releases
from ctdc.store.workspace import Workspace


def prune(ws: Workspace, keep: int, *, reason: str | None = None, by: str | None = None,
          wait: float = 0.0) -> Pruned:  # fmt: skip
    """Keep the current release and the ``keep - 1`` newest others; remove the rest (folder,
    ledger, public copy) and the superseded staging no kept release was built from."""
    if keep < 1:
        raise CtdcError(Slug.BAD_OPTION, f"--keep must be at least 1 (the current release "
                        f"always stays), got {keep}")  # fmt: skip
    with exclusive_lock(ws.lock_path, wait=wait):
        area = workspace_area(ws)
        clear_stale_temps(ws, area)
        pruned = prune_releases(ws, area, keep)
        if pruned.releases or pruned.staging:
            record_event(ws, ReleaseAction.PRUNE, by=by, removed=pruned.releases,
                         staging_removed=pruned.staging,
                         reason=reason or f"ctdc releases prune --keep {keep}")  # fmt: skip
    return pruned
