"""The per-record loss bound: exact on a case worked by hand, and never above the engine.

The bound (:mod:`ctdc.anonymize.loss_bound`) is what docs/benchmarks.md weighs the
l-diversity loss goal against, so it must really be a lower bound: on random inputs
(the anonymizer's property strategy) no release of the engine may lose less, with k
only, with l, with protected flags (which the bound ignores, so it stays below).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from age_bands import AGE
from hypothesis import HealthCheck, assume, given, settings
from test_anonymize_properties import Case, cases

from ctdc.anonymize import loss_bound as module
from ctdc.anonymize import loss_lower_bound


def test_the_bound_of_a_case_worked_by_hand() -> None:
    """AGE: a leaf costs 0, "0-17" 0.25 (2 of 5 leaves), "18+" 0.5, the root 1."""
    df = pd.DataFrame({"age": ["0-8", "0-8", "9-17", "41+"], "s": ["a", "a", "b", "b"]})
    k_only = loss_lower_bound(df, ["age"], 2, hierarchies={"age": AGE})
    # the two "0-8" pair at their leaf; "9-17" needs "0-17"; "41+" is alone until the root
    assert k_only.tolist() == [0.0, 0.0, 0.25, 1.0]
    diverse = loss_lower_bound(df, ["age"], 2, hierarchies={"age": AGE}, sensitive=["s"], l=2)
    # the "0-8" pair is all "a": it needs "9-17" ("b") beside it, at "0-17"
    assert diverse.tolist() == [0.25, 0.25, 0.25, 1.0]


def test_a_release_that_is_not_k_anonymous_can_lose_less_than_the_bound() -> None:
    """The comparison is not vacuous: the input itself (LM 0) is below a positive bound."""
    df = pd.DataFrame({"age": ["0-8", "9-17", "18-25", "41+"]})
    assert loss_lower_bound(df, ["age"], 2, hierarchies={"age": AGE}).sum() > 0


def test_a_lattice_too_large_to_visit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_NODES", 2)
    df = pd.DataFrame({"age": ["0-8", "9-17"]})
    with pytest.raises(ValueError, match="the lattice has 3 nodes; the bound visits at most 2"):
        loss_lower_bound(df, ["age"], 2, hierarchies={"age": AGE})


def test_l_without_a_sensitive_column_is_refused_as_the_engine_does() -> None:
    df = pd.DataFrame({"age": ["0-8", "9-17"]})
    with pytest.raises(ValueError, match="l-diversity needs at least one sensitive column"):
        loss_lower_bound(df, ["age"], 2, hierarchies={"age": AGE}, l=2)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_no_release_of_the_engine_loses_less_than_the_bound(case: Case) -> None:
    assume(not case.refused())
    report = case.run().report
    bound = loss_lower_bound(
        case.frame, case.names, case.k, hierarchies=case.hierarchies,
        sensitive=case.sensitive, l=case.l,
    )  # fmt: skip
    cells = len(case.frame) * len(case.names)
    assert bound.shape == (len(case.frame),)
    assert np.all((bound >= 0) & (bound <= len(case.names)))
    # the report's LM is rounded to 6 places
    assert report.loss_metric * cells >= bound.sum() - 5e-7 * cells - 1e-9
