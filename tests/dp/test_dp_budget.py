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
