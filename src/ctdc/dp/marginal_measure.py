"""The measurements of the marginal synthesizer: every one OpenDP's, accounted in zCDP.

- **measure**: a list of marginals' counts through one OpenDP Gaussian. One record adds 1
  to one cell of each marginal (add/remove neighbours, one record per person after
  de-duplication), so the L2 sensitivity of the concatenated counts is sqrt(marginals).
- **select**: MST's Kruskal rounds. Each round is OpenDP's report-noisy-max over the
  pairs that would join two parts of the model, scored by the L1 distance between the
  pair's true counts and what the measured 1-way shares predict. Those shares are already
  noisy (post-processing), so one record moves each score by at most 1.
- **account**: OpenDP turns the run's (epsilon, delta) into a zCDP budget rho and gives
  each mechanism's rho for its scale; zCDP composes by adding rhos, also adaptively
  (Bun and Steinke 2016). :class:`Spent` refuses to go over.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ctdc.dp.marginal_codes import GROUP_COLUMN, Clique, Coded, distribution, flag_groups
from ctdc.schema import Schema

#: flag groups whose flags are measured pair by pair, all pairs: their flags exclude or
#: imply each other (sexual exploitation, forced labour, both), which no tree keeps
JOINT_GROUPS = ("type_of_exploitation",)

#: one measured marginal: its fields, noisy counts (flattened) and the noise's sd
Measured = tuple[Clique, np.ndarray, float]


def _space(metric: str) -> tuple[Any, Any]:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    domain = dp.vector_domain(dp.atom_domain(T=float, nan=False))
    return domain, getattr(dp, metric)(T=float)


@dataclass
class Spent:
    """What each part cost, in zCDP rho as OpenDP computed it (the sidecar lists it)."""

    rho_total: float
    parts: list[dict[str, Any]] = field(default_factory=list)

    def add(self, part: str, rho: float, **detail: Any) -> None:
        self.parts.append({"part": part, "rho": rho, **detail})
        if self.used > self.rho_total * (1 + 1e-9):
            raise AssertionError(f"MST would spend rho {self.used} of {self.rho_total}")

    @property
    def used(self) -> float:
        return sum(p["rho"] for p in self.parts)


def fixed_cliques(coded: Coded, schema: Schema, names: list[str]) -> list[Clique]:
    """The parts measured whatever the data says (module doc, 1)."""
    groups = flag_groups(schema, names)
    in_group = {f for flags in groups.values() for f in flags}
    cliques: list[Clique] = [(n,) for n in names if n not in in_group]
    for group, flags in groups.items():
        marker = GROUP_COLUMN.format(group=group)
        cliques.extend((marker, f) for f in flags)
        if group in JOINT_GROUPS:
            cliques.extend(itertools.combinations(flags, 2))
    return cliques


def rho_of(epsilon: float, delta: float) -> float:
    """The zCDP budget that (epsilon, delta)-DP allows, by OpenDP's own conversion (a
    Gaussian of sensitivity 1 calibrated to (epsilon, delta), and its rho)."""
    import opendp.prelude as dp

    space = _space("l2_distance")

    def approx(scale: float) -> Any:
        zcdp = dp.m.make_gaussian(*space, scale=scale)
        return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(zcdp), delta=delta)

    scale = dp.binary_search_param(approx, d_in=1.0, d_out=(epsilon, delta))
    gaussian: Any = dp.m.make_gaussian(*space, scale=scale)
    return float(gaussian.map(1.0))


def measure(coded: Coded, cliques: list[Clique], rho: float, spent: Spent,
            part: str) -> list[Measured]:  # fmt: skip
    """All of ``cliques``' counts through one OpenDP Gaussian at ``rho``: one record adds 1
    to one cell of each marginal, so the vector's L2 sensitivity is sqrt(len(cliques))."""
    import opendp.prelude as dp

    space = _space("l2_distance")
    sensitivity = math.sqrt(len(cliques))
    scale = dp.binary_search_param(lambda s: dp.m.make_gaussian(*space, scale=s),
                                   d_in=sensitivity, d_out=rho)  # fmt: skip
    mech: Any = dp.m.make_gaussian(*space, scale=scale)
    true = [coded.counts(c) for c in cliques]
    noisy = np.asarray(mech(np.concatenate(true).tolist()), dtype=float)
    spent.add(part, float(mech.map(sensitivity)), marginals=len(cliques), noise_sd=scale)
    out, at = [], 0
    for c, t in zip(cliques, true, strict=True):
        out.append((c, noisy[at : at + len(t)], scale))
        at += len(t)
    return out


def one_ways(coded: Coded, measured: list[Measured]) -> dict[str, np.ndarray]:
    """Each attribute's share of records, from the first measured marginal that holds it
    (negative noise clipped): the independence guess the selection scores against."""
    out: dict[str, np.ndarray] = {}
    for clique, noisy, _ in measured:
        table = np.clip(noisy, 0, None).reshape([len(coded.values[n]) for n in clique])
        for axis, n in enumerate(clique):
            if n not in out:
                other = tuple(a for a in range(len(clique)) if a != axis)
                out[n] = distribution(table.sum(axis=other))
    return out


def select_tree(coded: Coded, fixed: list[Clique], shares: dict[str, np.ndarray], total: float,
                rho: float, spent: Spent) -> list[Clique]:  # fmt: skip
    """Kruskal's rounds joining the fixed parts, each pair chosen by OpenDP's noisy max over
    the L1 distance between its true counts and the independence guess (sensitivity 1)."""
    import opendp.prelude as dp

    parent = {n: n for n in coded.names}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for clique in fixed:
        for n in clique[1:]:
            parent[root(n)] = root(clique[0])
    rounds = len({root(n) for n in coded.names}) - 1
    if rounds == 0:
        return []
    space = _space("linf_distance")
    rho_round = rho / rounds

    def noisy_max(scale: float) -> Any:
        return dp.m.make_noisy_max(*space, dp.zero_concentrated_divergence(), scale=scale)

    scale = dp.binary_search_param(noisy_max, d_in=1.0, d_out=rho_round)
    mech = noisy_max(scale)
    pairs = [(a, b) for i, a in enumerate(coded.names) for b in coded.names[i + 1 :]]
    score = {p: _distance(coded, p, shares, total) for p in pairs if root(p[0]) != root(p[1])}
    chosen: list[Clique] = []
    for _ in range(rounds):
        candidates = [p for p in score if root(p[0]) != root(p[1])]
        pick = candidates[int(mech([score[p] for p in candidates]))]
        spent.add("select", float(mech.map(1.0)), candidates=len(candidates))
        parent[root(pick[1])] = root(pick[0])
        chosen.append(pick)
    return chosen


def _distance(coded: Coded, pair: Clique, shares: dict[str, np.ndarray], total: float) -> float:
    """L1 distance between the pair's true counts and the independence guess from the
    measured shares: how much measuring the pair would teach the model."""
    guess = total * np.outer(shares[pair[0]], shares[pair[1]]).ravel()
    return float(np.abs(coded.counts(pair) - guess).sum())
