"""A marginal-based DP synthesizer (MST's select-measure-generate), the default generator.

The recipe is McKenna, Miklau and Sheldon's MST (the 2018 NIST challenge's winner, one of
the generators smartnoise-synth ships): measure the 1-way marginals, select a tree of
pairs with the exponential mechanism, measure those pairs, and draw rows from the model
they define. Every measurement is OpenDP's (:mod:`ctdc.dp.marginal_measure`); what this
module does with the noisy counts is post-processing, which spends no budget.

The model is fixed in part by the schema, in part chosen privately:

1. **fixed**, a third of the budget: the 1-way marginal of every field that is not a
   flag; for every flag group the pair (group not recorded, flag) of each flag, so a group
   an organization does not record comes out NULL as a whole; and every pair of the types
   of exploitation, whose flags exclude each other;
2. **selected**, a third: the pairs that join those parts into one tree, each chosen by a
   noisy max over the pairs whose true counts are furthest from independence;
3. **the selected pairs**, measured with the last third.

Large domains (countries, years) are compressed after step 1: values whose noisy count is
under 3 noise sd are merged into one code (MST's compression), so the pairs of step 3
spend their noise on values that exist; a merged code is drawn back as one of its values.

**Generate.** The types of exploitation get one joint table, fitted to their measured pairs
by iterative proportional fitting (IPF); everything else is a tree. Rows are drawn root
first, each field (or the joint block) from its measured pair conditioned on the value
already drawn for its neighbour. A cell measured as zero or less gets no mass, so a pair
that never occurs (sexual exploitation with forced labour) appears only at the rate of the
noise on an empty cell. Nothing is thresholded, and the cost does not grow with the
records beyond counting them (docs/synthetic.md).

Why not mbi (Private-PGM), MST's own estimator: measured on the demo it spent 45-65 CPU
seconds per run compiling JAX programs (267 of them, whatever the iterations) and brings
~900 MB of JAX; this model's graph is a tree plus one small block, where ancestral sampling
and IPF are exact enough and take about a second.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ctdc.dp import marginal_measure as mm
from ctdc.dp.marginal_codes import (
    GROUP_COLUMN,
    Clique,
    Coded,
    compress,
    decode,
    distribution,
    encode,
    flag_groups,
)
from ctdc.schema import Schema

#: what the sidecar says the generator is
METHOD = (
    "MST-style select-measure-generate (McKenna et al. 2021): OpenDP Gaussian on the "
    "fixed and selected marginals, OpenDP report-noisy-max for the selection, IPF and "
    "ancestral sampling on the noisy marginals"
)
#: shares of rho: fixed parts, selection, selected pairs (MST's thirds)
SHARES = (1 / 3, 1 / 3, 1 / 3)
#: domains larger than this are compressed after the 1-way measurement
COMPRESS_ABOVE = 8
#: values under this many noise sd are merged (MST's 3)
COMPRESS_SD = 3.0
#: IPF sweeps over the joint block's pairs
IPF_SWEEPS = 50


@dataclass(frozen=True)
class Step:
    """Draw ``children`` (one flattened table) given the value already drawn for ``parent``:
    ``table[p]`` is the distribution of the children's joint code when the parent is ``p``."""

    parent: str
    children: Clique
    table: np.ndarray


def _conditional(joint: np.ndarray) -> np.ndarray:
    """Rows of ``joint`` (parent x children) as distributions; an empty row (the parent
    value never measured with these children) falls back to the children's margin."""
    joint = np.clip(joint, 0, None)
    margin = distribution(joint.sum(axis=0))
    rows = joint.sum(axis=1, keepdims=True)
    return np.where(rows > 0, joint / np.where(rows > 0, rows, 1), margin)


def _draw(table: np.ndarray, parent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One child code per row, from ``table[parent]``: inverse CDF over all rows at once."""
    n_parent, m = table.shape
    cdf = np.cumsum(table, axis=1)
    cdf /= cdf[:, -1:]
    flat = (cdf + np.arange(n_parent)[:, None]).ravel()
    at = np.searchsorted(flat, parent + rng.random(len(parent)), side="right")
    return np.minimum(at - parent * m, m - 1)


def ipf(coded: Coded, block: Clique, pairs: list[mm.Measured], total: float) -> np.ndarray:
    """The block's joint table fitted to its measured pairs (negative noise clipped), by
    iterative proportional fitting from uniform."""
    shape = [len(coded.values[n]) for n in block]
    joint = np.full(shape, total / math.prod(shape))
    targets = []
    for clique, noisy, _ in pairs:
        axes = [block.index(n) for n in clique]
        t = np.clip(noisy, 0, None).reshape([shape[a] for a in axes]).transpose(np.argsort(axes))
        other = tuple(a for a in range(len(shape)) if a not in axes)
        targets.append((other, t * (total / t.sum()) if t.sum() > 0 else t))
    for _ in range(IPF_SWEEPS):
        for other, t in targets:
            margin = joint.sum(axis=other)
            joint *= np.expand_dims(np.divide(t, margin, out=np.zeros_like(t), where=margin > 0),
                                    other)  # fmt: skip
    return joint


def plan(coded: Coded, blocks: list[Clique], measured: list[mm.Measured], total: float
         ) -> tuple[str, np.ndarray, list[Step]]:  # fmt: skip
    """The root, its distribution and the steps that draw every other field (module doc)."""
    block_of = {n: b for b in blocks for n in b}
    joint = {b: ipf(coded, b, [m for m in measured if set(m[0]) <= set(b)], total)
             for b in blocks}  # fmt: skip
    edges: dict[str, list[tuple[str, str, np.ndarray]]] = {}
    one_way: dict[str, np.ndarray] = {}
    for clique, noisy, _ in measured:
        if len(clique) == 1:
            one_way[clique[0]] = noisy
            continue
        a, b = clique
        if a in block_of and block_of[a] == block_of.get(b):
            continue
        table = noisy.reshape(len(coded.values[a]), len(coded.values[b]))
        edges.setdefault(a, []).append((a, b, table))
        edges.setdefault(b, []).append((b, a, table.T))
    root = next(n for n in coded.names if n in one_way)
    steps: list[Step] = []
    done = {root}
    queue = deque([root])
    while queue:
        u = queue.popleft()
        for _, w, table in edges.get(u, []):
            if w in done:
                continue
            steps.append(Step(u, (w,), _conditional(table)))
            done.add(w)
            queue.append(w)
            if w in block_of:  # the rest of the block, given w
                block = block_of[w]
                rest = tuple(n for n in block if n != w)
                moved = np.moveaxis(joint[block], block.index(w), 0)
                steps.append(Step(w, rest, _conditional(moved.reshape(len(moved), -1))))
                done.update(rest)
                queue.extend(rest)
    missing = set(coded.names) - done
    if missing:  # cannot happen with a spanning tree; a wrong model is never sampled
        raise AssertionError(f"the model does not reach {sorted(missing)}")
    return root, distribution(one_way[root]), steps


def sample(coded: Coded, root: str, root_p: np.ndarray, steps: list[Step], rows: int,
           rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """``rows`` codes, root first, then each step given its parent's drawn codes."""
    drawn = {root: rng.choice(len(root_p), size=rows, p=root_p)}
    for step in steps:
        flat = _draw(step.table, drawn[step.parent], rng)
        shape = [len(coded.values[n]) for n in step.children]
        for n, col in zip(step.children, np.unravel_index(flat, shape), strict=True):
            drawn[n] = col.astype(np.int64)
    return np.stack([drawn[n] for n in coded.names], axis=1)


def _compressed(coded: Coded, measured: list[mm.Measured]) -> tuple[Coded, list[mm.Measured]]:
    """Large domains compressed (module doc) and their 1-way measurements summed to match."""
    out = []
    for clique, noisy, sd in measured:
        name = clique[0]
        if len(clique) == 1 and len(coded.values[name]) > COMPRESS_ABOVE:
            before = coded
            coded = compress(coded, name, noisy, COMPRESS_SD * sd)
            if name in coded.merged and name not in before.merged:
                mapping = coded.merged[name][1].mapping
                noisy = np.bincount(mapping, weights=noisy, minlength=len(coded.values[name]))
        out.append((clique, noisy, sd))
    return coded, out


def synthesize_frame(frame: pd.DataFrame, schema: Schema, names: list[str], epsilon: float,
                     delta: float, rows: int | None, rng: np.random.Generator
                     ) -> tuple[pd.DataFrame, dict[str, Any]]:  # fmt: skip
    """The synthetic records (typed as ``frame``'s ``names``) and the parameters for the
    sidecar: settings and the rho each part spent, no count of a real record."""
    coded = encode(frame, schema, names)
    spent = mm.Spent(mm.rho_of(epsilon, delta))
    rho_fixed, rho_select, rho_tree = (spent.rho_total * s for s in SHARES)
    fixed = mm.fixed_cliques(coded, schema, names)
    coded, measured = _compressed(coded, mm.measure(coded, fixed, rho_fixed, spent, "fixed"))
    total = float(np.median([np.clip(m[1], 0, None).sum() for m in measured]))
    shares = mm.one_ways(coded, measured)
    tree = mm.select_tree(coded, fixed, shares, total, rho_select, spent)
    if tree:
        measured += mm.measure(coded, tree, rho_tree, spent, "tree")
    groups = flag_groups(schema, names)
    blocks = [(GROUP_COLUMN.format(group=g), *groups[g]) for g in mm.JOINT_GROUPS if g in groups]
    root, root_p, steps = plan(coded, blocks, measured, total)
    n = rows if rows is not None else max(1, round(total))
    synthetic = decode(sample(coded, root, root_p, steps, n, rng), coded, schema, names, rng)
    parameters = {
        "epsilon": epsilon,
        "delta": delta,
        "rho": spent.rho_total,
        "rho_shares": dict(zip(("fixed", "select", "tree"), SHARES, strict=True)),
        "fixed_marginals": [list(c) for c in fixed],
        "selected_pairs": [list(c) for c in tree],
        "compressed": {
            n: {"kept": len(merged.kept), "merged": len(merged.members)}
            for n, (_, merged) in coded.merged.items()
        },
        "compress_below_sd": COMPRESS_SD,
        "spent": spent.parts,
        "estimator": f"IPF ({IPF_SWEEPS} sweeps) on {[list(b) for b in blocks]}, "
        "ancestral sampling along the tree",
    }
    return synthetic, parameters
