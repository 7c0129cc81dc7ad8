"""The series' rhythm (``series_increment_days``): new records join the release at most
once every so many days, in one larger increment; a withdrawal never waits for it.

Why: each increment must be k-anonymous on its own, so many small ones lose more than a
few large ones (benchmarks/series.py, a simulated year: docs/benchmarks.md)."""

from __future__ import annotations

import pytest
from series_helpers import LEVELS, K, cases, diff, export, k_anonymous, night

from ctdc.harmonize import harmonize
from ctdc.store.policy import change_policy


@pytest.mark.slow
def test_new_records_wait_for_the_rhythm_and_a_withdrawal_does_not(
    workspace, schema, org, tmp_path, monkeypatch
) -> None:
    import ctdc.harmonize.pipeline as pipeline
    import ctdc.harmonize.series_run as series_run

    day = {"today": "2026-03-01"}
    monkeypatch.setattr(series_run, "today_utc", lambda: day["today"])
    monkeypatch.setattr(pipeline, "today_utc", lambda: day["today"])
    change_policy(workspace, {"series_increment_days": 7}, by="test", reason="rhythm")
    qis = schema.quasi_identifiers
    first = night(workspace, schema, org, export(tmp_path, "a.csv", list(range(1, 61))))
    assert first.manifest.series["held"] == 0  # the first release of an epoch takes all

    day["today"] = "2026-03-03"  # 2 days after the last increment: 30 new records wait
    second = night(workspace, schema, org, export(tmp_path, "b.csv", list(range(61, 91))))
    assert second.manifest.series["held"] == 30 and second.manifest.series["added"] == 0
    assert diff(cases(second), cases(first)).empty and diff(cases(first), cases(second)).empty

    day["today"] = "2026-03-04"  # the organization's snapshot drops cases 1 and 2
    third = night(workspace, schema, org, export(tmp_path, "c.csv", list(range(3, 91))),
                  mode="snapshot")  # fmt: skip
    removed = diff(cases(second), cases(third))
    assert third.manifest.series["left"] == 2 and len(removed) >= 2  # not delayed
    assert k_anonymous(removed, qis) and diff(cases(third), cases(second)).empty
    assert third.manifest.series["held"] == 30

    day["today"] = "2026-03-08"  # 7 days after the first increment: the pool joins at once
    fourth = harmonize(workspace, schema, k=K, levels=LEVELS)
    series = fourth.manifest.series
    assert series["added"] + series["held"] == 30 and series["added"] >= 2 * K
    added = diff(cases(fourth), cases(third))
    assert len(added) == series["added"] and k_anonymous(added, qis)
    assert diff(cases(third), cases(fourth)).empty  # frozen rows stay
    assert fourth.manifest.accounting.total.balanced
