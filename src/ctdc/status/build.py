"""``workspace_status``: every reader of ``ctdc status``, then every warning rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from ctdc.errors import CtdcError
from ctdc.quarantine.retention import expiring as quarantine_expiring
from ctdc.status import readers, warnings
from ctdc.status.model import Status
from ctdc.store.policy import DEFAULT_SILENT_ORG_DAYS, Policy, load_policy
from ctdc.store.workspace import Workspace


def retention_days(policy: Policy | None) -> int | None:
    """The quarantine's retention in days, if the policy sets one (``quarantine_retention_days``,
    a setting of its own: until a policy has it, no quarantine is past retention)."""
    value = getattr(policy, "quarantine_retention_days", None)
    return int(value) if value is not None else None


def workspace_status(
    ws: Workspace, *, now: dt.datetime | None = None, stale: Mapping[str, int] | None = None
) -> Status:
    """The status of ``ws`` as of ``now`` (default: the current time, UTC); ``stale``: per
    organization, its live batches staged under an earlier version of its mapping
    (``ctdc.ingest.reprocess.stale_by_org``, which reads the mappings)."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        policy: Policy | None = load_policy(ws)
    except (CtdcError, OSError):  # a status shows what it can; `policy show` says why
        policy = None
    release, manifest = readers.release_facts(ws, now)
    orgs = readers.organizations(ws, now, manifest)
    quarantined = readers.quarantine(ws, now)
    runs = readers.last_runs(ws)
    key = readers.key_facts(ws)
    silent = policy.silent_org_days if policy else DEFAULT_SILENT_ORG_DAYS
    retention = retention_days(policy)
    expiring = (  # not yet due: those past it are `quarantine-past-retention`
        []
        if retention is None
        else [e for e in quarantine_expiring(ws, warnings.EXPIRING_WITHIN_DAYS,
                                             retention_days=retention, now=now)
              if readers.parse_time(e.purge_after) > now]
    )  # fmt: skip
    found = [
        *warnings.run_warnings(runs),
        *warnings.key_warnings(key),
        *warnings.silent_orgs(orgs, silent),
        *warnings.quarantine_past_retention(quarantined, retention),
        *warnings.quarantine_expiring(expiring, retention or 0),
        *warnings.stale_mappings(stale or {}),
        *warnings.unfinished_quarantine(quarantined),
    ]
    return Status(workspace=str(ws.root.absolute()),
                  as_of=now.isoformat(timespec="seconds"), organizations=orgs,
                  quarantine=quarantined, release=release, runs=runs, key=key,
                  warnings=found, privacy_budget=readers.privacy_budget(ws))  # fmt: skip
