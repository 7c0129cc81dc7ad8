"""The privacy-budget ledger as a library (``ctdc.dp.budget``), as another DP product
(synthetic data) will call it: charge, remaining, refusal, and what an entry records."""

from __future__ import annotations

import json
import math

import pytest

from ctdc.dp.budget import budget_path, budget_state, charge, read_budget, remaining
from ctdc.errors import CtdcError
from ctdc.store.policy import change_policy
from ctdc.store.workspace import Workspace


def test_charge_until_the_budget_is_spent(workspace: Workspace) -> None:
    assert remaining(workspace) == 4.0  # the default, before any release: epoch 1
    first = charge(workspace, product="synthetic cases", epsilon=1.5, delta=1e-6, by="steward")
    assert (first.epoch, first.release_id, first.by) == (1, None, "steward")
    assert charge(workspace, product="counts by gender", epsilon=0.1, delta=0.0).epsilon == 0.1
    charge(workspace, product="counts by gender", epsilon=0.2, delta=0.0)
    assert remaining(workspace) == pytest.approx(2.2)
    before = budget_path(workspace).read_bytes()
    with pytest.raises(CtdcError) as caught:
        charge(workspace, product="counts by age_band", epsilon=2.3, delta=0.0)
    assert caught.value.slug == "budget-exceeded" and caught.value.exit_code == 1
    assert "used 1.8 of its budget 4 (2.2 left)" in str(caught.value)
    assert budget_path(workspace).read_bytes() == before  # a refusal writes nothing
    charge(workspace, product="the rest", epsilon=2.2, delta=0.0)  # exactly what is left
    assert remaining(workspace) == 0 and budget_state(workspace).products == 4
    lines = budget_path(workspace).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["product"] for line in lines] == [e.product for e in
                                                               read_budget(workspace)]  # fmt: skip
    assert set(json.loads(lines[0])) == {"product", "epsilon", "delta", "at", "by",
                                         "release_id", "epoch"}  # fmt: skip


def _new_epoch(ws: Workspace, release_id: str, epoch: int) -> None:
    """Point ``current`` at a release of ``epoch`` (its manifest is all the ledger reads)."""
    folder = ws.releases_dir / release_id
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"release_id": release_id,
                                                      "series": {"epoch": epoch}}))  # fmt: skip
    ws.current.unlink(missing_ok=True)
    ws.current.symlink_to(folder.relative_to(ws.root))


def test_a_new_epoch_does_not_renew_the_budget(workspace: Workspace) -> None:
    """The attack: spend the budget, start a new epoch over the same staged people, spend it
    again. Each entry keeps its epoch, and every one counts."""
    _new_epoch(workspace, "20260101T000000Z-aaaaaaaa", 1)
    charge(workspace, product="synthetic cases", epsilon=4.0, delta=1e-6)
    _new_epoch(workspace, "20260201T000000Z-bbbbbbbb", 2)
    state = budget_state(workspace)
    assert (state.epoch, state.used, state.left) == (2, 4.0, 0.0)
    with pytest.raises(CtdcError) as caught:
        charge(workspace, product="counts by gender", epsilon=0.5, delta=0.0)
    assert caught.value.slug == "budget-exceeded" and "used 4 of its budget 4" in str(caught.value)
    change_policy(workspace, {"dp_epsilon_budget": 4.5}, by="steward", reason="on the record")
    assert charge(workspace, product="counts by gender", epsilon=0.5, delta=0.0).epoch == 2
    assert [e.epoch for e in read_budget(workspace)] == [1, 2]


def test_the_steward_sets_the_budget(workspace: Workspace) -> None:
    charge(workspace, product="a", epsilon=1.0, delta=0.0)
    change_policy(workspace, {"dp_epsilon_budget": 1.0}, by="steward", reason="tighter")
    assert remaining(workspace) == 0
    with pytest.raises(CtdcError, match="budget-exceeded"):
        charge(workspace, product="b", epsilon=0.01, delta=0.0)


@pytest.mark.parametrize(("epsilon", "delta"),
                         [(0.0, 0.0), (-1.0, 0.0), (math.inf, 0.0), (math.nan, 0.0), (1.0, 1.0),
                          (1.0, -0.1)])  # fmt: skip
def test_a_meaningless_cost_is_refused(workspace: Workspace, epsilon: float, delta: float) -> None:
    with pytest.raises(CtdcError) as caught:
        charge(workspace, product="x", epsilon=epsilon, delta=delta)
    assert caught.value.slug == "bad-option" and caught.value.exit_code == 2
    assert not budget_path(workspace).exists()
