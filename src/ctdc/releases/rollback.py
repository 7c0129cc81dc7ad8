"""``ctdc releases rollback ID``: make an older release current again, for good.

What it does, under the harmonize lock, each step atomic:

1. refuses a target that holds a record withdrawn since (``ctdc withdraw``): a
   withdrawal is never undone, not even for a night (``rollback-refused``);
2. writes the rollback's state (``store.rollback_state``): the records that the
   releases published after the target (the *withdrawn* releases) showed in a form
   the target does not have, or withheld. They were public: the next harmonize keeps
   them out of the target's epoch, so nobody holding a withdrawn release and the next
   one can intersect two forms of a record (docs/privacy.md, "Rollback");
3. points the private ``current`` at the target, so the next harmonize builds on it:
   its series ledger, its epoch, its inputs (a night with nothing new since the
   target publishes nothing);
4. makes the target the public folder's current release again (its public copy is
   made again from the private one if retention removed it), rewrites the catalog,
   and removes the public copies of the withdrawn releases;
5. writes the rollback to the release log, with who and why.

A crash after step 2 leaves the state naming a target that is not current: the
next harmonize ignores it. A crash between 3 and 4 leaves the public folder one
release off; the next harmonize, even with nothing new, makes its public copy
current (as after a crash in a publish).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ctdc.errors import CtdcError
from ctdc.harmonize.publish import Release, clear_stale_temps, previous_release, to_public
from ctdc.harmonize.series import PSEUDONYM, State
from ctdc.releases.registry import load_release
from ctdc.slugs import Slug
from ctdc.store.areas import workspace_area
from ctdc.store.atomic import swap_current
from ctdc.store.lock import exclusive_lock
from ctdc.store.policy import load_policy, pinned_schema
from ctdc.store.publication import read_ledger
from ctdc.store.release_log import ReleaseAction, record_event
from ctdc.store.retention import release_ids, remove_public_copy
from ctdc.store.rollback_state import clear_state, merged, read_state, write_state
from ctdc.store.withdrawals import read_withdrawals
from ctdc.store.workspace import Workspace


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback did: counts and ids only."""

    release_id: str
    previous: str
    withdrawn: tuple[str, ...]
    #: records the next harmonize keeps out of the epoch (docs/privacy.md, "Rollback")
    kept_out: int
    public_path: Path
    #: a sentence for the operator when the policy no longer matches the target's settings
    note: str | None = None
    changed: bool = True

    def to_dict(self) -> dict[str, object]:
        return {"release_id": self.release_id, "previous": self.previous,
                "withdrawn": list(self.withdrawn), "kept_out": self.kept_out,
                "public_path": str(self.public_path), "note": self.note,
                "changed": self.changed}  # fmt: skip


def _published(ledger: pd.DataFrame | None) -> pd.DataFrame:
    if ledger is None:
        return pd.DataFrame({PSEUDONYM: pd.Series([], dtype=str), "content": []})
    return ledger.loc[ledger["state"] == State.PUBLISHED, [PSEUDONYM, "content"]]


def records_to_keep_out(ws: Workspace, target: str, withdrawn: list[str]) -> set[str]:
    """Pseudonyms a withdrawn release published in a form the target did not publish for
    them (not published by the target, or published with other content: a correction),
    or withheld. A record the target published with the same content keeps the target's
    form: that row is public already, so it tells nothing new."""
    before = _published(read_ledger(ws.root, target)).rename(columns={"content": "then"})
    before["then"] = before["then"].astype("Int64")  # exact: content hashes are int64
    out: set[str] = set()
    for release_id in withdrawn:
        ledger = read_ledger(ws.root, release_id)
        if ledger is None:
            continue
        shown = _published(ledger).merge(before, on=PSEUDONYM, how="left")
        other = (shown["then"] != shown["content"].astype("Int64")).fillna(True)
        out |= set(shown.loc[other.to_numpy(dtype=bool), PSEUDONYM])
        out |= set(ledger.loc[ledger["state"] == State.WITHHELD, PSEUDONYM])
    return out


def check_no_withdrawn(ws: Workspace, target: Release) -> None:
    """``rollback-refused`` when the target publishes a record withdrawn since (a count,
    never which)."""
    withdrawn = read_withdrawals(ws)
    if not withdrawn:
        return
    ledger = read_ledger(ws.root, target.path.name)
    if ledger is None:
        raise CtdcError(Slug.ROLLBACK_REFUSED, f"release {target.path.name} has no "
                        "publication ledger, so it cannot be checked against the withdrawals "
                        "made since")  # fmt: skip
    back = int(_published(ledger)[PSEUDONYM].isin(withdrawn).sum())
    if back:
        raise CtdcError(Slug.ROLLBACK_REFUSED, f"release {target.path.name} holds {back} "
                        "record(s) withdrawn since it was published")  # fmt: skip


def _note(ws: Workspace, target: Release) -> str | None:
    policy, m = load_policy(ws), target.manifest
    if m.k == policy.k and m.l == policy.l and not m.policy.overrides:
        return None
    return (
        f"release {m.release_id} was made with k={m.k}, l={m.l or 'off'}"
        + (f" and one-run overrides {m.policy.overrides}" if m.policy.overrides else "")
        + f"; the policy now says k={policy.k}, l={policy.l or 'off'}: the next harmonize "
        "continues its epoch only with the same settings (else it needs --new-epoch)"
    )


def rollback(ws: Workspace, release_id: str, *, reason: str | None = None,
             by: str | None = None, wait: float = 0.0) -> RollbackResult:  # fmt: skip
    """Make ``release_id`` the current release again (see the module docstring)."""
    with exclusive_lock(ws.lock_path, wait=wait):
        target = load_release(ws, release_id)
        now = previous_release(ws)
        if now is None:
            raise CtdcError(Slug.NO_RELEASE, f"no release is current in {ws.root}")
        area = workspace_area(ws)
        if now.path.name == release_id:
            return RollbackResult(release_id, release_id, (), 0, area.releases_dir / release_id,
                                  changed=False)  # fmt: skip
        check_no_withdrawn(ws, target)
        clear_stale_temps(ws, area)
        ids = release_ids(ws.releases_dir)
        withdrawn = ids[ids.index(release_id) + 1 :]  # published after the target
        state = merged(release_id, records_to_keep_out(ws, release_id, withdrawn), read_state(ws))
        if state.pseudonyms:
            write_state(ws, state)
        else:  # nothing to keep out: the next night compares its inputs with the target's
            clear_state(ws)
        swap_current(ws.root, release_id)
        policy = load_policy(ws)
        public, _ = to_public(area, target.path, target.manifest, policy.keep_public,
                              schema=pinned_schema(ws))  # fmt: skip
        for gone in withdrawn:
            remove_public_copy(area, gone)
        record_event(ws, ReleaseAction.ROLLBACK, by=by, release=release_id,
                     previous=now.path.name, withdrawn=tuple(withdrawn), reason=reason,
                     extra={"kept_out": len(state.pseudonyms)})  # fmt: skip
    return RollbackResult(release_id, now.path.name, tuple(withdrawn), len(state.pseudonyms),
                          public, _note(ws, target))  # fmt: skip
