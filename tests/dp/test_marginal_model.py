"""The marginal model (``ctdc synthesize``'s default generator): its noise has the scale it
reports, its parts add up to the budget, its selection finds a real dependency, a pair that
never occurs comes back only at the noise's rate, and its codes stay in the public domains.

Fitted on real staged records (a copy of the shared sample's truth, no budget charged:
``synthesize_frame`` is the library call under the command) or on hand-made codes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctdc.dp import marginal_measure as mm
from ctdc.dp.marginal_codes import Coded, compress, encode, expand, public_values
from ctdc.dp.marginal_model import synthesize_frame
from ctdc.dp.records import true_records
from ctdc.dp.synthetic import synthesized_fields
from ctdc.errors import CtdcError
from ctdc.schema import load_schema
from ctdc.store.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def truth(shared_sample: Path) -> pd.DataFrame:
    """The shared sample's true records, 10 times over (~12,000: the pair test's bound is
    then a few percent), read only."""
    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    once = true_records(Workspace(shared_sample / "data"), list(schema.released))
    return pd.concat([once] * 10, ignore_index=True)


def _coded(columns: dict[str, np.ndarray], sizes: dict[str, int]) -> Coded:
    values = {n: [*range(sizes[n] - 1), None] for n in columns}
    return Coded(list(columns), values, np.stack(list(columns.values()), axis=1), {})


def test_the_noise_has_the_scale_opendp_reports() -> None:
    """40 one-way marginals of 250 cells measured at once: the 10,000 residuals have mean 0
    and the standard deviation the part records (and OpenDP calibrated to its rho)."""
    rng = np.random.default_rng(3)
    cols = {f"c{i}": rng.integers(0, 249, 500) for i in range(40)}
    coded = _coded(cols, dict.fromkeys(cols, 250))
    cliques = [(n,) for n in cols]
    spent = mm.Spent(rho_total=0.5)
    measured = mm.measure(coded, cliques, 0.5, spent, "fixed")
    residual = np.concatenate([noisy - coded.counts(c) for c, noisy, _ in measured])
    sd = spent.parts[0]["noise_sd"]
    assert sd == pytest.approx(math.sqrt(len(cliques) / (2 * 0.5)), rel=0.01)  # rho = m/(2 sd^2)
    assert spent.parts[0]["rho"] == pytest.approx(0.5, rel=1e-3)
    assert abs(residual.mean()) < 4 * sd / math.sqrt(residual.size)
    assert residual.std() == pytest.approx(sd, rel=0.05)  # 10,000 draws: sd's own error ~0.7%


def test_the_parts_add_up_to_the_budget_and_no_more() -> None:
    """The fixed part, every selection round and the selected pairs together spend the rho
    that OpenDP allows for (epsilon, delta); a part past it is refused."""
    rho = mm.rho_of(1.0, 1e-6)
    import opendp.prelude as dp

    space = mm._space("l2_distance")
    # back to (epsilon, delta): a Gaussian of that rho is (1, 1e-6)-DP by OpenDP's conversion
    scale = math.sqrt(1 / (2 * rho))
    approx = dp.c.make_zCDP_to_approxDP(dp.m.make_gaussian(*space, scale=scale))
    assert approx.map(1.0).epsilon(1e-6) == pytest.approx(1.0, rel=1e-3)
    spent = mm.Spent(rho)
    spent.add("fixed", rho * 0.6)
    with pytest.raises(AssertionError, match="would spend"):
        spent.add("tree", rho * 0.5)


@pytest.mark.slow  # a fit on ~12,000 records
def test_a_fit_spends_exactly_its_budget_and_says_so(truth: pd.DataFrame) -> None:
    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    names = synthesized_fields(schema)
    _, params = synthesize_frame(truth, schema, names, 1.0, 1e-6, 200, np.random.default_rng(1))
    total = sum(p["rho"] for p in params["spent"])
    assert total == pytest.approx(params["rho"], rel=1e-6)
    assert params["rho"] == pytest.approx(mm.rho_of(1.0, 1e-6))
    parts = [p["part"] for p in params["spent"]]
    rounds = parts.count("select")
    assert parts == ["fixed", *["select"] * rounds, "tree"] and rounds == len(
        params["selected_pairs"]
    )
    # the tree joins the 8 fields that are not flags and the 6 flag groups: 13 pairs
    assert rounds == 13


def test_selection_finds_a_planted_dependency() -> None:
    """Two fields that are copies of each other, among independent ones: the first noisy
    max picks that pair (its score is ~N, every other ~sqrt(N))."""
    rng = np.random.default_rng(5)
    a = rng.integers(0, 4, 20_000)
    cols = {"a": a, "b": a.copy(), **{f"x{i}": rng.integers(0, 4, 20_000) for i in range(4)}}
    coded = _coded(cols, dict.fromkeys(cols, 5))
    fixed = [(n,) for n in cols]
    spent = mm.Spent(rho_total=0.3)
    measured = mm.measure(coded, fixed, 0.1, spent, "fixed")
    total = float(np.clip(measured[0][1], 0, None).sum())
    tree = mm.select_tree(coded, fixed, mm.one_ways(coded, measured), total, 0.1, spent)
    assert tree[0] == ("a", "b") and len(tree) == len(cols) - 1


@pytest.mark.slow  # a fit on ~12,000 records
def test_a_pair_that_never_occurs_comes_back_only_at_the_noise_rate(truth: pd.DataFrame) -> None:
    """Sexual exploitation and forced labour are never both TRUE in the sample (the group's
    ``is_sex_and_labour`` says both). Measured as a pair, that empty cell gets only the noise
    clipped at 0: under 5 noise sd of rows (pac-synth drew it in 8.5-31% of the rows on
    1,200 of these records)."""
    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    names = synthesized_fields(schema)
    both = truth["is_sexual_exploit"].fillna(False) & truth["is_forced_labour"].fillna(False)
    assert not both.any()
    for seed in (1, 2):
        synthetic, params = synthesize_frame(truth, schema, names, 1.0, 1e-6, None,
                                             np.random.default_rng(seed))  # fmt: skip
        sd = params["spent"][0]["noise_sd"]
        drawn = synthetic["is_sexual_exploit"].fillna(False) & synthetic["is_forced_labour"].fillna(
            False
        )
        print(f"both TRUE: {drawn.mean():.4f} of {len(synthetic)}, bound {5 * sd / len(truth):.4f}")
        assert drawn.sum() <= 5 * sd
        # and the flags' own shares are kept (within 5 noise sd plus sampling)
        for flag in ("is_sexual_exploit", "is_forced_labour"):
            real, synth = truth[flag].mean(), synthetic[flag].mean()
            assert abs(real - synth) <= (5 * sd + 4 * math.sqrt(len(truth))) / len(truth), flag


@pytest.mark.slow  # a fit on ~12,000 records
def test_unrecorded_groups_come_back_null_together(truth: pd.DataFrame) -> None:
    """A flag group is NULL as a whole where the model says it was not recorded, at about
    the true share. A lone NULL flag in a recorded group (none in the truth) comes only from
    the noise on that empty cell of each (group not recorded, flag) pair: at most one noise
    sd of rows per flag (clipped at 0, its mean is 0.4 sd; docs/synthetic.md)."""
    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    names = synthesized_fields(schema)
    synthetic, params = synthesize_frame(truth, schema, names, 1.0, 1e-6, None,
                                         np.random.default_rng(3))  # fmt: skip
    sd = params["spent"][0]["noise_sd"]
    for group, g in schema.groups.items():
        flags = [f.name for f in g.flags]
        real = truth[flags].isna().all(axis=1).mean()
        synth_null = synthetic[flags].isna()
        whole, partial = synth_null.all(axis=1), synth_null.any(axis=1) & ~synth_null.all(axis=1)
        assert abs(whole.mean() - real) <= (5 * sd + 4 * math.sqrt(len(truth))) / len(truth), group
        assert partial.sum() <= len(flags) * sd, group


def test_merged_values_come_back_as_values_of_the_public_domain() -> None:
    """Compression keeps values whose noisy count clears the threshold, merges the rest into
    one code (the last) and never merges NULL; expanding draws a merged code back as one of
    the merged values, in proportion to their noisy counts (never one with a count of 0 or less)."""
    coded = _coded({"c": np.array([0, 1, 2, 3, 4, 5, 9])}, {"c": 10})
    noisy = np.array([50.0, 3.0, 40.0, -2.0, 4.0, 0.5, 0.0, 0.0, 0.0, 7.0])  # last: NULL
    small = compress(coded, "c", noisy, threshold=10.0)
    assert small.values["c"] == [0, 2, None, "(merged)"]
    assert small.codes[:, 0].tolist() == [0, 3, 1, 3, 3, 3, 2]
    drawn = expand(small, "c", np.array([3] * 2000 + [0, 1, 2]), np.random.default_rng(0))
    assert drawn[-3:].tolist() == [0, 2, 9]  # kept values and NULL (index 9) map back
    assert set(drawn[:2000]) == {1, 4, 5}  # counts 3, 4, 0.5: 3 (-2) and 6-8 (0) never
    assert np.bincount(drawn[:2000], minlength=6)[4] > np.bincount(drawn[:2000], minlength=6)[5]


def test_a_staged_value_outside_the_schema_is_refused_not_made_null() -> None:
    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    frame = pd.DataFrame({"gender": pd.array(["Female", "Martian", None], dtype="string")})
    with pytest.raises(CtdcError) as err:
        encode(frame, schema, ["gender"])
    assert err.value.slug == "schema-violation" and "1 staged values of 'gender'" in str(err.value)
    # a required field has no NULL in its domain: a synthetic row never lacks its year
    assert None not in public_values(schema, "year_of_registration")
    frame = pd.DataFrame({"year_of_registration": pd.array([2019, None], dtype="Int16")})
    with pytest.raises(CtdcError, match="NULL in a required field") as err:
        encode(frame, schema, ["year_of_registration"])
