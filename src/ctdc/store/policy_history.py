"""The policy's history: one JSON line per change -- who, when, what (old and new), why.

A release policy is only as trustworthy as the record of who changed it, so
every change is appended here, and nothing else writes the file. Appends are
rewritten whole and atomically, so a crash leaves the old history or the new
one, never a torn line.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ctdc.store.atomic import write_bytes


class PolicyAction(StrEnum):
    #: ``ctdc init`` pinned the policy; ``changes`` is the whole policy
    INIT = "init"
    #: ``ctdc policy set``; ``changes`` maps each setting to ``[old, new]``
    SET = "set"
    #: ``ctdc policy schema`` pinned another schema; ``changes`` as for ``set``
    SCHEMA = "schema"


@dataclass(frozen=True)
class PolicyChange:
    at: str
    by: str
    action: PolicyAction
    changes: dict[str, Any]
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "at": self.at, "by": self.by, "changes": self.changes,
                "reason": self.reason}  # fmt: skip

    def summary(self) -> str:
        """One line for ``ctdc policy show``: when, who, what changed (old -> new), why."""
        if self.action is PolicyAction.INIT:
            what = "pinned"
        else:
            what = ", ".join(f"{n}: {old} -> {new}" for n, (old, new) in self.changes.items())
        reason = f" ({self.reason})" if self.reason else ""
        return f"{self.at} {self.by} {self.action}: {what}{reason}"

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> PolicyChange:
        return cls(
            at=str(doc["at"]),
            by=str(doc["by"]),
            action=PolicyAction(doc["action"]),
            changes=dict(doc["changes"]),
            reason=doc.get("reason"),
        )


def record(
    path: Path,
    action: PolicyAction,
    changes: dict[str, Any],
    by: str | None,
    reason: str | None,
) -> PolicyChange:
    """Append one change to the history at ``path``; ``by`` defaults to the login name."""
    change = PolicyChange(
        at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        by=by or getpass.getuser(),
        action=action,
        changes=changes,
        reason=reason,
    )
    before = path.read_bytes() if path.exists() else b""
    text = json.dumps(change.to_dict(), sort_keys=True, ensure_ascii=False, default=str) + "\n"
    write_bytes(path, before + text.encode("utf-8"))
    return change


def read_history(path: Path) -> list[PolicyChange]:
    """Every recorded change, oldest first (none before the policy exists)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [PolicyChange.from_dict(json.loads(line)) for line in lines if line]
