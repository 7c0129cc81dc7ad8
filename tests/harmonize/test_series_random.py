"""The nightly series over random nights, unchanged nights and the publication ledger: the
same attacks as tests/harmonize/test_series.py (its docstring), split from it so that one
file does not hold a whole worker for a minute (`--dist loadscope`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from series_helpers import (
    LEVELS,
    K,
    cases,
    diff,
    export,
    k_anonymous,
    night,
)

from ctdc.errors import CtdcError
from ctdc.harmonize import harmonize
from ctdc.slugs import Slug
from ctdc.store.publication import read_ledger
from ctdc.store.workspace import init_workspace

STEP = st.one_of(
    st.tuples(st.just("append"), st.lists(st.integers(1, 90), min_size=1, max_size=25)),
    st.tuples(st.just("snapshot"), st.lists(st.integers(1, 90), min_size=3, max_size=60)),
    st.tuples(st.just("withdraw"), st.lists(st.integers(1, 90), min_size=1, max_size=3)),
)


SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


#: each example is up to four real harmonizes (~1 s each); CTDC_PROPERTIES=thorough runs 25
EXAMPLES = 25 if os.environ.get("CTDC_PROPERTIES") == "thorough" else 3


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=SLOW)  # fmt: skip
@given(steps=st.lists(STEP, min_size=1, max_size=3))
def test_random_nights_keep_every_consecutive_pair_safe(steps, schema, org, tmp_path) -> None:
    """Ingests, snapshots and withdrawals in random order, a harmonize after each: every pair
    of consecutive releases adds and removes only k-anonymous groups, re-codes no one, and
    the accounting balances."""
    from ctdc.audit import audit_release
    from ctdc.store.withdrawals import withdraw

    qis = schema.quasi_identifiers
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    ws, _ = init_workspace(folder / "data", k_floor=2)
    before = night(ws, schema, org, export(folder, "base.csv", list(range(1, 61))))
    for n, (kind, ids) in enumerate(steps):
        ids = sorted(set(ids))
        try:
            if kind == "withdraw":
                staged = set(range(1, 61)) | {i for k2, more in steps[:n] if k2 != "withdraw"
                                              for i in more}  # fmt: skip
                known = [f"{i:05d}" for i in ids if i in staged]
                if known:
                    withdraw(ws, "test-org", known, "consent")
                after = harmonize(ws, schema, k=K, levels=LEVELS)
            else:
                after = night(ws, schema, org, export(folder, f"{n}.csv", ids), mode=kind)
        except CtdcError as exc:  # a snapshot of a few records may leave nothing to publish
            assert exc.slug is Slug.TOO_FEW_RECORDS, exc.message()
            continue
        assert after.manifest.accounting.total.balanced
        if after.release_id == before.release_id:
            continue
        added, removed = diff(cases(after), cases(before)), diff(cases(before), cases(after))
        assert k_anonymous(added, qis) and k_anonymous(removed, qis), (kind, ids)
        report = audit_release(ws, schema, after.path, before.path, k=K,
                               only={"frozen rows", "differencing"})  # fmt: skip
        assert report.passed, [c.detail for c in report.failed]
        before = after


@pytest.mark.slow
def test_an_unchanged_night_reads_no_record_until_a_held_one_could_leave(
    workspace, schema, org, tmp_path, monkeypatch
) -> None:
    """Same batches, withdrawals and settings: ``unchanged`` before any merge. While a record
    is held, the day is an input too (its wait decides), so the next day runs in full."""
    from ctdc.harmonize import pipeline
    from ctdc.harmonize.pipeline import ReleaseStatus

    merges: list[int] = []
    real_merge = pipeline.merge_records

    def counting(*args, **kwargs):
        merges.append(1)
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(pipeline, "merge_records", counting)
    first = night(workspace, schema, org, export(tmp_path, "a.csv", list(range(1, 61))))
    again = harmonize(workspace, schema, k=K, levels=LEVELS)
    assert again.status is ReleaseStatus.UNCHANGED and again.release_id == first.release_id
    assert len(merges) == 1
    held = night(workspace, schema, org, export(tmp_path, "b.csv", [500]))
    assert held.manifest.series["held"] == 1 and len(merges) == 2
    assert harmonize(workspace, schema, k=K, levels=LEVELS).status is ReleaseStatus.UNCHANGED
    assert len(merges) == 2
    monkeypatch.setattr(pipeline, "today_utc", lambda: "2099-01-01")
    harmonize(workspace, schema, k=K, levels=LEVELS)
    assert len(merges) == 3


@pytest.mark.slow
def test_the_ledger_keeps_when_each_record_was_first_seen_and_published(
    workspace, schema, org, tmp_path
) -> None:
    """The delay before publication is readable from one ledger (benchmarks/series.py)."""
    first = night(workspace, schema, org, export(tmp_path, "a.csv", list(range(1, 61))))
    second = night(workspace, schema, org, export(tmp_path, "b.csv", [900]))
    ledger = read_ledger(workspace.root, second.release_id)
    assert ledger is not None
    published = ledger[ledger["state"] == "published"]
    assert published["first_seen"].notna().all() and published["published_on"].notna().all()
    assert (published["published_on"] >= published["first_seen"]).all()
    [held] = ledger.loc[ledger["state"] == "pending", "first_seen"].tolist()
    assert held == first.manifest.created_at[:10]


@pytest.mark.slow
def test_a_withheld_record_withdrawn_later_is_counted_once(
    workspace, schema, org, tmp_path
) -> None:
    """Withheld to pad a removal, then withdrawn: the accounting counts it as withdrawn."""
    from ctdc.store.withdrawals import withdraw

    night(workspace, schema, org, export(tmp_path, "a.csv", list(range(1, 61))))
    second = night(workspace, schema, org, export(tmp_path, "b.csv", list(range(2, 61))),
                   mode="snapshot")  # fmt: skip
    ledger = read_ledger(workspace.root, second.release_id)
    assert ledger is not None
    withheld = ledger.loc[ledger["state"] == "withheld", "case_pseudonym"].tolist()
    assert withheld, "the removal of record 1 was padded with class-mates"
    # find a withheld record's case id: the export ids are 00002..00060
    from ctdc.store.pseudonym import pseudonym_digests

    ids = [f"{i:05d}" for i in range(2, 61)]
    digests = pseudonym_digests(workspace.load_key(), "test-org", ids)
    by_pseudonym = dict(zip((d.hex() for d in digests), ids, strict=True))
    assert withdraw(workspace, "test-org", [by_pseudonym[withheld[0]]], "consent") == (1, 0)
    third = harmonize(workspace, schema, k=K, levels=LEVELS)
    assert third.status == "published", third.status
    acc = third.manifest.accounting.total
    assert acc.balanced and acc.withdrawn == 1 and acc.withheld == len(withheld) - 1
