"""The DP utility benchmark's metrics (benchmarks/dp_metrics.py) on hand-made inputs: the
numbers in docs/benchmarks.md are only as good as these functions."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "dp_metrics.py"
_SPEC = importlib.util.spec_from_file_location("dp_metrics", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
M = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(M)


def test_tvd_of_known_distributions() -> None:
    assert M.tvd(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(0.5)
    assert M.tvd(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(1.0)
    # normalised: a product of another size with the same shape is exact
    assert M.tvd(np.array([10.0, 30.0, 60.0]), np.array([1.0, 3.0, 6.0])) == pytest.approx(0.0)
    # (0.2, 0.3, 0.5) against (0.5, 0.3, 0.2): half of 0.3 + 0 + 0.3
    assert M.tvd(np.array([2.0, 3.0, 5.0]), np.array([5.0, 3.0, 2.0])) == pytest.approx(0.3)


def test_tvd_clamps_negative_dp_counts_and_scores_an_empty_product_as_disjoint() -> None:
    assert M.tvd(np.array([0.0, 1.0, 1.0]), np.array([-3.0, 5.0, 5.0])) == pytest.approx(0.0)
    assert M.tvd(np.array([1.0, 1.0]), np.array([-1.0, 0.0])) == 1.0


def test_rare_preserved_and_invented_on_a_hand_made_table() -> None:
    truth = np.array([0, 1, 5, 9, 10, 0, 3])
    product = np.array([2, 1, 0, 3, 10, 0, -1])  # a DP count may be negative: not present
    rare, kept, present, invented = M.rare_stats(truth, product, k=10)
    assert (rare, kept) == (4, 2)  # cells 1, 2, 3, 6 are rare; 1 and 3 are kept
    assert (present, invented) == (4, 1)  # cells 0, 1, 3, 4 are present; 0 is not true


def test_code_frame_puts_null_and_out_of_domain_values_in_unknown() -> None:
    domains = {"gender": ["Female", "Male", M.UNKNOWN], "flag": ["true", "false", M.UNKNOWN]}
    frame = pd.DataFrame({
        "gender": pd.array(["Male", None, "Other", "Female"], dtype="string"),
        "flag": pd.array([True, False, None, True], dtype="boolean"),
    })  # fmt: skip
    codes = M.code_frame(frame, domains)
    assert codes.tolist() == [[1, 0], [2, 1], [2, 2], [0, 0]]
    # a flag read from Arrow as Python objects codes the same
    objects = frame.assign(flag=pd.Series([True, False, None, True], dtype=object))
    assert M.code_frame(objects, domains).tolist() == codes.tolist()
    counts = M.marginal_counts(codes, [3, 3])
    assert counts.reshape(3, 3).tolist() == [[1, 0, 0], [1, 0, 0], [0, 1, 1]]


def test_marginals_are_every_set_of_the_given_orders() -> None:
    sets = M.marginals(["a", "b", "c", "d"], [1, 2, 3])
    assert len(sets) == 4 + 6 + 4
    assert sets[0] == ("a",) and sets[-1] == ("b", "c", "d")


def test_share_by_and_question_error() -> None:
    # axes: region (A, B, unknown) x period (P, unknown) x flag (true, false, unknown)
    sizes, unknown = [3, 2, 3], [2, 1, 2]
    truth = np.zeros(sizes)
    truth[0, 0] = [3, 7, 5]  # A/P: 30% of the known flags
    truth[1, 0] = [1, 1, 0]  # B/P: 50%, only 2 known records
    truth[2, 0] = [9, 0, 0]  # unknown region: not a cell of the question
    product = np.zeros(sizes)
    product[0, 0] = [2, 6, 0]  # A/P: 25%
    t = M.share_by(truth.ravel(), sizes, unknown, 0, 1)
    p = M.share_by(product.ravel(), sizes, unknown, 0, 1)
    assert t.ravel().tolist() == pytest.approx([0.3, 0.5])
    assert math.isnan(p[1, 0])  # B/P: no answer
    known = np.array([[10.0], [2.0]])
    # only A/P has the 10 records asked for; the product answers it 0.05 off
    assert M.question_error(t, p, known, 10) == pytest.approx((0.05, 1.0))
    # with a floor of 1, B/P is asked too and not answered
    assert M.question_error(t, p, known, 1) == pytest.approx((0.05, 0.5))


def test_distribution_within_rows_sum_to_one() -> None:
    grid = np.array([[2.0, 6.0, 9.0], [0.0, 0.0, 1.0], [5.0, 5.0, 0.0]])  # last row/col unknown
    dist = M.distribution_within(grid.ravel(), [3, 3], [2, 2])
    assert dist[0].tolist() == pytest.approx([0.25, 0.75])
    assert np.isnan(dist[1]).all()
