"""The release series: a published record keeps its released form; new ones join in increments.

Publishing a fresh anonymization of everything every night leaks. The
difference of two nights isolates a newly added victim, and a record recoded
differently on two nights can be narrowed to the most specific value of each
(docs/privacy.md, "The series"). So within an *epoch* (one schema, k, l,
levels and set of protected flags):

- the private **publication ledger** (``<data>/series/<release id>.parquet``,
  written before its release becomes current, so that the current release's
  ledger always exists; no release folder holds a pseudonym) holds every
  staged record's state:
  ``published`` with its exact released form, ``pending``, or ``withheld``;
- a **published** record appears in every later release as exactly the same
  row, until it leaves: it is withdrawn, its organization's snapshot no longer
  holds it, or it is corrected (its content changed: a withdrawal plus a new
  pending record);
- the rows that leave must themselves be k-anonymous. Per released form, fewer
  than k leaving records are padded with class-mates (the lowest pseudonyms,
  which nobody outside can predict) that are **withheld** for the rest of the
  epoch. A form that would keep fewer than k records, or a protected flag
  TRUE in every record kept or removed, leaves whole. A withdrawal is never
  delayed;
- the **pending** pool is anonymized on its own (strict k, l and protected
  flags among the added rows alone), so the union stays k-anonymous. Records
  the engine cannot place, and classes that would lose too many cells while
  none of their records has waited ``max_wait_days``, stay pending.

The first release of an epoch publishes everything the engine can place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ctdc.schema import Schema, status_column
from ctdc.store.atomic import private_mkdir, write_parquet
from ctdc.store.publication import nullable

PSEUDONYM = "case_pseudonym"
ORG = "org_id"


class State(StrEnum):
    PUBLISHED = "published"
    PENDING = "pending"
    #: left the release to pad a withdrawal; never published again in this epoch
    WITHHELD = "withheld"


#: the shape of a released row; a ledger of another shape cannot be frozen into this one
#: (2: one status per quasi-identifier, "not recorded" and "suppressed" apart for k)
RELEASE_FORMAT = 2


@dataclass(frozen=True)
class SeriesPolicy:
    """When pending records are published: the workspace policy's ``series_hold_cells``,
    ``series_hold_days`` and ``series_increment_days`` (docs/privacy.md, "The series": how
    they are chosen)."""

    #: an increment class losing more than this many QI cells per record on average waits ...
    max_suppressed_cells: float = 3.0
    #: ... unless one of its records has waited this long
    max_wait_days: int = 30
    #: new records join the release at most once every this many days (1: every night)
    increment_days: int = 1


def increment_due(frozen: pd.DataFrame, policy: SeriesPolicy, today: str) -> bool:
    """Whether new records may join today: ``increment_days`` since the last night that
    published any (the newest ``published_on`` of the rows that stay). Larger, rarer
    increments lose less, since each must be k-anonymous on its own (docs/privacy.md)."""
    if policy.increment_days <= 1 or frozen.empty:
        return True
    last = pd.to_datetime(frozen["published_on"]).max()
    return pd.isna(last) or (pd.Timestamp(today) - last).days >= policy.increment_days


def epoch_digest(schema_sha256: str, k: int, l: int | None, levels: dict[str, int | None],  # noqa: E741
                 protected: list[str]) -> str:  # fmt: skip
    """What an epoch holds fixed: a change of any of it needs ``--new-epoch``."""
    doc = [RELEASE_FORMAT, schema_sha256, k, l, sorted(levels.items()), sorted(protected)]
    return hashlib.sha256(json.dumps(doc).encode()).hexdigest()


def content_hash(frame: pd.DataFrame, schema: Schema) -> np.ndarray:
    """A hash of each staged record's fields (not its batch): a change is a correction."""
    cols = [c for c in schema.staged if c not in ("batch_id", PSEUDONYM) and c in frame]
    return pd.util.hash_pandas_object(frame[cols], index=False).to_numpy().astype(np.int64)


def released_schema(schema: Schema, levels: dict[str, int | None]) -> pa.Schema:
    """A released row's Arrow types (fields and statuses; no level or label columns, which
    are functions of them), as the ledger stores it."""
    return schema.row_arrow_schema(levels)


def normalize(frame: pd.DataFrame, schema: Schema, levels: dict[str, int | None]) -> pd.DataFrame:
    """Released columns in their release types (a frozen row and a new one compare and
    concatenate alike), plus the organization and pseudonym."""
    from ctdc.harmonize.release_table import to_release_table

    table = to_release_table(frame, released_schema(schema, levels))
    out = table.to_pandas(types_mapper=nullable)
    out[ORG] = frame[ORG].to_numpy()
    out[PSEUDONYM] = frame[PSEUDONYM].to_numpy()
    return out


def ledger_schema(schema: Schema, levels: dict[str, int | None]) -> pa.Schema:
    """The ledger's columns: the released form (NULL for a record not published) and state."""
    return pa.schema([*released_schema(schema, levels), pa.field(ORG, pa.string()),
                      pa.field(PSEUDONYM, pa.string()), pa.field("content", pa.int64()),
                      pa.field("state", pa.string()), pa.field("first_seen", pa.string()),
                      pa.field("published_on", pa.string())])  # fmt: skip


def write_ledger(path: Path, ledger: pd.DataFrame, schema: Schema,
                 levels: dict[str, int | None], metadata: dict[bytes, bytes]) -> None:  # fmt: skip
    """Write the ledger (0600, in the private workspace), with the key's fingerprint in its
    metadata so that a key rotation re-keys its pseudonyms with the staging."""
    arrow = ledger_schema(schema, levels)
    table = pa.Table.from_pandas(ledger[arrow.names], schema=arrow, preserve_index=False)
    private_mkdir(path.parent)
    write_parquet(path, table.replace_schema_metadata(metadata))


@dataclass(frozen=True)
class Plan:
    """This run's split of the live records (see the module docstring)."""

    #: published rows that stay, normalized (released columns, org, pseudonym)
    frozen: pd.DataFrame
    #: live records to anonymize now (merged columns), with when each was first seen
    pending: pd.DataFrame
    first_seen: pd.Series
    #: pseudonyms withheld for the epoch (earlier and now), still staged
    withheld: pd.Series
    #: live records withdrawn (never released again), by organization
    withdrawn_orgs: pd.Series
    left: int  # published records that left (withdrawn, snapshot, corrected)
    padded: int  # of them: class-mates withheld so that the removal is k-anonymous
    corrected: int
    #: the released rows that leave this run (released columns): an increment row equal
    #: to one of them would cancel it out of what a diff of the two releases shows
    removed: pd.DataFrame | None = None


def plan(
    merged: pd.DataFrame,
    ledger: pd.DataFrame | None,
    schema: Schema,
    k: int,
    protected: list[str],
    withdrawn: set[str],
    today: str,
    keep_out: frozenset[str] = frozenset(),
) -> Plan:
    """Split the live records into frozen, pending and withheld; pad what leaves to k.

    ``keep_out``: records a rollback keeps out of the rest of the epoch
    (``store.rollback_state``): a published one leaves like a withdrawal (padded to k),
    and none is pending again, so none gets another form than the one already public.
    """
    content = pd.Series(content_hash(merged, schema), index=merged.index)
    gone = merged[PSEUDONYM].isin(withdrawn)
    live = merged[~gone]
    if ledger is None or ledger.empty:
        empty = pd.DataFrame(
            columns=[*schema.release_row, ORG, PSEUDONYM, "content", "first_seen", "published_on"]
        )
        return Plan(empty, live, pd.Series(today, index=live.index), pd.Series([], dtype=str),
                    merged.loc[gone, ORG], 0, 0, 0)  # fmt: skip
    state = ledger.set_index(PSEUDONYM)
    now = pd.Series(content[~gone].to_numpy(), index=live[PSEUDONYM].to_numpy())
    published = state[state["state"] == State.PUBLISHED]
    still = published.index.isin(now.index)
    same = still & (published["content"].to_numpy() == now.reindex(published.index).to_numpy())
    corrected = int((still & ~same).sum())
    same &= ~published.index.isin(list(keep_out))
    stays = _pad(published.reset_index(), same, schema.release_keys, k, protected)
    kept = published[stays]
    withheld_before = state.index[state["state"] == State.WITHHELD]
    newly = published.index[same & ~stays]
    # a withdrawn record is counted as withdrawn, even when it was withheld before
    kept_out = keep_out & set(live[PSEUDONYM])
    withheld = pd.Series(sorted((set(withheld_before) | set(newly) | kept_out) - withdrawn),
                         dtype=str)  # fmt: skip
    # pending: live, not frozen, not withheld (corrections come back as new records)
    out = set(kept.index) | set(withheld)
    pending = live[~live[PSEUDONYM].isin(out)]
    seen = state["first_seen"].where(state["state"] == State.PENDING)
    first = pending[PSEUDONYM].map(seen).fillna(today)
    frozen = kept.reset_index()[
        [*schema.release_row, ORG, PSEUDONYM, "content", "first_seen", "published_on"]
    ]
    removed = published[~stays].reset_index()[schema.release_row]
    return Plan(frozen, pending, first, withheld, merged.loc[gone, ORG],
                left=int((~same).sum()), padded=int((same & ~stays).sum()),
                corrected=corrected, removed=removed)  # fmt: skip


def _pad(
    published: pd.DataFrame, same: np.ndarray, qis: list[str], k: int, protected: list[str]
) -> np.ndarray:
    """Which published rows stay: those unchanged, minus the padding that makes every form's
    removal k-anonymous (at least k leave, or none) and keeps k or none in the form, with no
    protected flag TRUE in every row kept or every row removed."""
    forms = published.groupby(qis, dropna=False, sort=False).ngroup().to_numpy()
    size = np.bincount(forms)
    leaving = np.bincount(forms, weights=~same).astype(np.int64)
    order = np.lexsort((published[PSEUDONYM].to_numpy(), forms))
    rank = np.empty(len(forms), dtype=np.int64)  # rank of a staying row in its form
    ranks_sorted = pd.Series(same[order]).groupby(forms[order]).cumsum().to_numpy() - 1
    rank[order] = ranks_sorted
    pad = np.where(leaving > 0, np.maximum(k - leaving, 0), 0)
    whole = (leaving > 0) & (size - leaving - pad < k)
    stays = same & ~whole[forms] & (rank >= pad[forms])
    # a QI flag is one value per form: those are judged per demographic group instead
    sensitive = [f for f in protected if f in published and f not in qis]
    stays &= ~_certain_either_side(forms, stays, [not_true(published, f) for f in sensitive])
    qi_flags = [f for f in protected if f in qis and f in published]
    if qi_flags:
        groups = demographic_groups(published, qis, protected)
        stays &= ~_certain_either_side(groups, stays,
                                       [not_true(published, f) for f in qi_flags])  # fmt: skip
    return stays


def not_true(frame: pd.DataFrame, flag: str) -> np.ndarray:
    """Where ``flag`` is FALSE or NULL: a row that leaves an adversary unsure."""
    return ~frame[flag].fillna(False).to_numpy(dtype=bool)


def _certain_either_side(
    groups: np.ndarray, stays: np.ndarray, witnesses: list[np.ndarray]
) -> np.ndarray:
    """Per row: its group loses rows, and what the group keeps or what it loses has no
    witness (a row not TRUE) of some protected flag. Such a group leaves whole: it is made
    of whole forms (so the removal stays k-anonymous) and held a witness before."""
    if not witnesses or stays.all():
        return np.zeros(len(stays), dtype=bool)
    n = int(groups.max()) + 1
    touched = np.bincount(groups, weights=~stays, minlength=n) > 0
    kept = np.bincount(groups, weights=stays, minlength=n) > 0
    bad = np.zeros(n, dtype=bool)
    for witness in witnesses:
        kept_ok = np.bincount(groups, weights=stays & witness, minlength=n) > 0
        gone_ok = np.bincount(groups, weights=~stays & witness, minlength=n) > 0
        bad |= touched & kept & ~(kept_ok & gone_ok)
    return bad[groups]


def demographics(qis: list[str], protected: list[str]) -> list[str]:
    """The quasi-identifiers a protected QI flag is judged over (docs/privacy.md), with their
    statuses when ``qis`` has them: not the flags, nor the flags' statuses."""
    flags = set(protected) | {status_column(p) for p in protected}
    return [q for q in qis if q not in flags]


def demographic_groups(frame: pd.DataFrame, qis: list[str], protected: list[str]) -> np.ndarray:
    """Each row's group of equal published demographics (one group when there are none)."""
    demo = demographics(qis, protected)
    if not demo:
        return np.zeros(len(frame), dtype=np.int64)
    return frame.groupby(demo, dropna=False, sort=False).ngroup().to_numpy()


def whole_groups_wait(
    rows: pd.DataFrame, wait: np.ndarray, qis: list[str], protected: list[str]
) -> np.ndarray:
    """``wait`` widened to whole demographic groups of the increment: the engine made each
    group hold a row not TRUE on every protected QI flag, and holding back only part of a
    group could take that row away."""
    if not wait.any() or not [f for f in protected if f in qis]:
        return wait
    groups = demographic_groups(rows, qis, protected)
    return (np.bincount(groups, weights=wait) > 0)[groups]


def hold_back(
    increment: pd.DataFrame,
    pending: pd.DataFrame,
    first_seen: pd.Series,
    qis: list[str],
    policy: SeriesPolicy,
    today: str,
) -> np.ndarray:
    """Which increment rows wait: whole classes that lose more than the policy's cells per
    record while none of their records has waited ``max_wait_days``."""
    if increment.empty:
        return np.zeros(0, dtype=bool)
    staged = pending.set_index(PSEUDONYM).reindex(increment[PSEUDONYM])
    lost = np.zeros(len(increment))
    for q in (q for q in qis if q in staged.columns):  # the fields, not their statuses
        lost += increment[q].isna().to_numpy() & staged[q].notna().to_numpy()
    seen = pd.to_datetime(first_seen.set_axis(pending[PSEUDONYM].to_numpy())
                          .reindex(increment[PSEUDONYM]).to_numpy())  # fmt: skip
    waited = (pd.Timestamp(today) - seen).days.to_numpy()
    cls = increment.groupby(qis, dropna=False, sort=False).ngroup().to_numpy()
    n = np.bincount(cls)
    mean_lost = np.bincount(cls, weights=lost) / n
    oldest = pd.Series(waited).groupby(cls).max().reindex(range(len(n))).to_numpy()
    wait = (mean_lost > policy.max_suppressed_cells) & (oldest < policy.max_wait_days)
    return wait[cls]


def cancelling(added: pd.DataFrame, removed: pd.DataFrame | None, qis: list[str],
               released: list[str], k: int, protected: list[str]) -> np.ndarray:  # fmt: skip
    """Which added rows wait so that a diff of the two releases shows only safe groups.

    What ``new EXCEPT ALL old`` shows is the added rows minus the removed rows equal to
    them (and the other way round). Per released form, the rows shown on either side
    must number 0 or at least k, and hold a row not TRUE on each protected flag that is
    not a QI; per group of equal demographics, a row not TRUE on each protected QI flag.
    An equal row cancelling out can break all three. The added rows of such a form or
    group wait instead: the removal then shows whole, as padded.
    """
    if removed is None or removed.empty or added.empty:
        return np.zeros(len(added), dtype=bool)
    both = pd.concat([added[released], removed[released]], ignore_index=True)
    form = both.groupby(qis, dropna=False, sort=False).ngroup().to_numpy()
    row = both.groupby(released, dropna=False, sort=False).ngroup().to_numpy()
    n_rows, n_forms = int(row.max()) + 1, int(form.max()) + 1
    is_added = np.arange(len(both)) < len(added)
    a = np.bincount(row, weights=is_added, minlength=n_rows)
    r = np.bincount(row, weights=~is_added, minlength=n_rows)
    first = pd.Series(np.arange(len(both))).groupby(row).first().to_numpy()
    row_form = form[first]
    if not ((a > 0) & (r > 0)).any():
        return np.zeros(len(added), dtype=bool)  # nothing cancels: padding already holds
    bad = np.zeros(n_forms, dtype=bool)
    flags = [f for f in protected if f in released and f not in qis]
    qi_flags = [f for f in protected if f in qis]
    demo = demographic_groups(both, qis, protected)
    row_demo = demo[first]
    n_demo = int(demo.max()) + 1
    bad_demo = np.zeros(n_demo, dtype=bool)
    for shown in (np.maximum(a - r, 0), np.maximum(r - a, 0)):
        count = np.bincount(row_form, weights=shown, minlength=n_forms)
        bad |= (count > 0) & (count < k)
        for flag in flags:
            witness = np.bincount(row_form, weights=shown * not_true(both, flag)[first],
                                  minlength=n_forms)  # fmt: skip
            bad |= (count > 0) & (witness == 0)
        in_demo = np.bincount(row_demo, weights=shown, minlength=n_demo)
        for flag in qi_flags:  # judged over the demographics (docs/privacy.md)
            witness = np.bincount(row_demo, weights=shown * not_true(both, flag)[first],
                                  minlength=n_demo)  # fmt: skip
            bad_demo |= (in_demo > 0) & (witness == 0)
    cancels = (a > 0) & (r > 0)
    touched = np.bincount(row_form, weights=cancels, minlength=n_forms) > 0
    touched_demo = np.bincount(row_demo, weights=cancels, minlength=n_demo) > 0
    mine = slice(0, len(added))
    return (bad & touched)[form[mine]] | (bad_demo & touched_demo)[demo[mine]]


def today_utc() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()
