"""The workspace's release log: one JSON line per publish, rollback and prune.

The public ``release_log`` view lists the public manifests that are still in the
public folder; it cannot say that a release was rolled back or pruned, nor who
did it and why. This private log (``<data>/release-log.jsonl``, 0600) does:
``ctdc releases list`` marks rolled-back releases from it, and a steward reads it
to answer "what did analysts see on which day". It holds release ids, counts,
the operator's name and reason; never a pseudonym, a batch id or an export hash.

Appends rewrite the file whole and atomically, as the policy's history does, so
a crash leaves the old log or the new one, never a torn line. Every writer holds
the harmonize lock.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ctdc.store.atomic import write_bytes
from ctdc.store.workspace import Workspace

LOG_FILE = "release-log.jsonl"


class ReleaseAction(StrEnum):
    #: harmonize made a new release current
    PUBLISH = "publish"
    #: ``ctdc releases rollback``: ``release`` became current again, ``withdrawn`` left
    ROLLBACK = "rollback"
    #: ``ctdc releases prune`` or the retention policy at harmonize removed ``removed``
    PRUNE = "prune"


@dataclass(frozen=True)
class ReleaseEvent:
    at: str
    by: str
    action: ReleaseAction
    #: the release the event made current (publish, rollback); None for a prune
    release: str | None = None
    #: the release that was current before
    previous: str | None = None
    #: releases withdrawn by a rollback (published after its target)
    withdrawn: tuple[str, ...] = ()
    #: releases removed by a prune, and how many superseded staging files went with them
    removed: tuple[str, ...] = ()
    staging_removed: int = 0
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        doc = {"at": self.at, "by": self.by, "action": str(self.action), "release": self.release,
               "previous": self.previous, "withdrawn": list(self.withdrawn),
               "removed": list(self.removed), "staging_removed": self.staging_removed,
               "reason": self.reason}  # fmt: skip
        return {**doc, **self.extra}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ReleaseEvent:
        known = {"at", "by", "action", "release", "previous", "withdrawn", "removed",
                 "staging_removed", "reason"}  # fmt: skip
        return cls(
            at=str(doc["at"]),
            by=str(doc["by"]),
            action=ReleaseAction(doc["action"]),
            release=doc.get("release"),
            previous=doc.get("previous"),
            withdrawn=tuple(doc.get("withdrawn") or ()),
            removed=tuple(doc.get("removed") or ()),
            staging_removed=int(doc.get("staging_removed") or 0),
            reason=doc.get("reason"),
            extra={k: v for k, v in doc.items() if k not in known},
        )

    def summary(self) -> str:
        """One line for the operator."""
        why = f" ({self.reason})" if self.reason else ""
        if self.action is ReleaseAction.PUBLISH:
            what = f"published {self.release} (after {self.previous or 'none'})"
        elif self.action is ReleaseAction.ROLLBACK:
            what = (f"rolled back to {self.release} from {self.previous}, withdrawing "
                    f"{', '.join(self.withdrawn) or 'none'}")  # fmt: skip
        else:
            what = (f"pruned {', '.join(self.removed) or 'no release'} and "
                    f"{self.staging_removed} superseded staging file(s)")  # fmt: skip
        return f"{self.at} {self.by} {what}{why}"


def log_path(ws: Workspace) -> Path:
    return ws.root / LOG_FILE


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def record_event(ws: Workspace, action: ReleaseAction, *, by: str | None = None,
                 **fields: Any) -> ReleaseEvent:  # fmt: skip
    """Append one event; call it under the harmonize lock, after the step it records."""
    event = ReleaseEvent(at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                         by=by or _user(), action=action, **fields)  # fmt: skip
    path = log_path(ws)
    before = path.read_bytes() if path.exists() else b""
    text = json.dumps(event.to_dict(), sort_keys=True, ensure_ascii=False, default=str) + "\n"
    write_bytes(path, before + text.encode("utf-8"))
    return event


def read_log(ws: Workspace) -> list[ReleaseEvent]:
    """Every event, oldest first (none before the first publish that logged one)."""
    path = log_path(ws)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ReleaseEvent.from_dict(json.loads(line)) for line in lines if line]


def rolled_back(events: list[ReleaseEvent]) -> set[str]:
    """Releases a rollback withdrew and that were not made current again since."""
    out: set[str] = set()
    for event in events:
        if event.action is ReleaseAction.ROLLBACK:
            out |= set(event.withdrawn)
        if event.release is not None:
            out.discard(event.release)
    return out
