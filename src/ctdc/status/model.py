"""What ``ctdc status`` reports, as frozen records with a ``to_dict`` for ``--json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class OrgStatus:
    """One organization: its committed batches and the last one (None: only rejected files)."""

    org: str
    batches: int
    last_batch: str | None = None
    last_ingested_at: str | None = None
    last_mode: str | None = None
    last_rows_read: int = 0
    last_staged: int = 0
    last_quarantined: int = 0
    days_since_last: int | None = None
    #: committed after the current release: staged, not yet in any release
    unreleased_batches: int = 0
    unreleased_rows: int = 0
    #: in the current release's series: waiting (held) or withheld for the epoch
    held: int = 0
    withheld: int = 0


@dataclass(frozen=True)
class QuarantineStatus:
    """One organization's quarantine: its size and the age of its oldest file."""

    org: str
    batches: int
    rows: int
    bytes: int
    oldest_at: str | None
    newest_at: str | None
    oldest_days: int | None
    #: temp files an interrupted ingest left (raw rows, removed by the next ingest or a purge)
    unfinished: int = 0


@dataclass(frozen=True)
class ReleaseStatus:
    """The current private release, from its full manifest."""

    release_id: str
    created_at: str
    age_days: int | None
    k: int
    l: int | None  # noqa: E741
    released: int
    held: int
    withheld: int
    batches: int
    epoch: int | None = None


@dataclass(frozen=True)
class RunStatus:
    """A command's last logged run (``logs/last/<command>.json``)."""

    command: str
    outcome: str  # ok, failed, aborted, interrupted, running
    exit_code: int | None
    slug: str | None
    started: str | None
    ended: str | None
    duration_s: float | None
    run_id: str


@dataclass(frozen=True)
class KeyStatus:
    """The key in place and its backup on record."""

    fingerprint: str | None
    problem: str | None  # the slug that refuses the key (missing-key, unsafe-key, ...)
    backed_up_at: str | None
    backup_fingerprint: str | None


@dataclass(frozen=True)
class BudgetStatus:
    """The privacy budget (``ctdc.dp.budget``): epsilon set, used in every epoch, left."""

    epoch: int
    budget: float
    used: float
    left: float
    products: int


@dataclass(frozen=True)
class StatusWarning:
    """Something to act on: ``code`` is stable (docs/operations.md), ``message`` says what."""

    code: str
    message: str
    org: str | None = None


@dataclass(frozen=True)
class Status:
    workspace: str
    as_of: str
    organizations: list[OrgStatus] = field(default_factory=list)
    quarantine: list[QuarantineStatus] = field(default_factory=list)
    release: ReleaseStatus | None = None
    runs: list[RunStatus] = field(default_factory=list)
    key: KeyStatus | None = None
    warnings: list[StatusWarning] = field(default_factory=list)
    privacy_budget: BudgetStatus | None = None

    @property
    def last_run(self) -> RunStatus | None:
        """The run that started last, whatever its command."""
        return max(self.runs, key=lambda r: r.started or "", default=None)

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        last = self.last_run
        doc["last_run"] = asdict(last) if last else None
        return doc
