"""A marginal-based DP synthesizer, measured beside pac-synth (``make bench-mbi``).

Select, measure, generate (McKenna et al., the recipe of NIST-MST and AIM), with no
mechanism written here:

- **select:** every 1-way and 2-way marginal of the main variables (:data:`dp_utility.MAIN`),
  a fixed workload chosen without looking at the data, so selection spends no budget;
- **measure:** all their counts at once with OpenDP's Gaussian mechanism, calibrated by
  OpenDP to (epsilon, 1e-6)-DP. One record added or removed changes one cell of each
  marginal by 1, so the L2 sensitivity of the whole vector is sqrt(marginals);
- **generate:** ``mbi`` (Private-PGM) fits a graphical model to the noisy marginals by
  mirror descent and draws rows from it.

A pair that never occurs is measured as noise around 0, and the model gives it almost
no mass: the impossible pairs that pac-synth fabricates (docs/synthetic.md) cannot
appear at the rate pac-synth draws them. This runs in its own venv
(``benchmarks/.venv-mbi``: mbi needs JAX), on the coded truth that ``dp_utility.py``
prepared; it imports nothing from ctdc. A spike for the choice of generator; ``ctdc
synthesize``'s marginal model (:mod:`ctdc.dp.marginal_model`) came out of it, without mbi.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np

DELTA = 1e-6
ITERS = 2000


def fit(folder: str, epsilon: float, rows: int) -> dict:
    """Measure, fit and sample; save the rows' codes as ``synthetic-mbi-<eps>.npy``."""
    import jax

    jax.config.update("jax_enable_x64", True)  # mbi's advice past ~100k records
    import opendp.prelude as dp
    from mbi import Domain, LinearMeasurement
    from mbi.estimation import MirrorDescent

    dp.enable_features("contrib")
    domains = json.loads((Path(folder) / "domains.json").read_text())
    truth = np.load(Path(folder) / "codes.npz")["truth"]
    names, sizes = list(domains), [len(v) for v in domains.values()]
    cliques = [(n,) for n in names] + list(itertools.combinations(names, 2))

    def counts(clique: tuple[str, ...]) -> np.ndarray:
        idx = [names.index(n) for n in clique]
        shape = [sizes[i] for i in idx]
        cells = np.ravel_multi_index(truth[:, idx].T, shape)
        return np.bincount(cells, minlength=math.prod(shape)).astype(float)

    true = [counts(c) for c in cliques]
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float)

    def gaussian(scale: float) -> dp.Measurement:
        zcdp = dp.m.make_gaussian(*space, scale=scale)
        return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(zcdp), delta=DELTA)

    sensitivity = math.sqrt(len(cliques))
    scale = dp.binary_search_param(gaussian, d_in=sensitivity, d_out=(epsilon, DELTA))
    noisy = np.asarray(gaussian(scale)(np.concatenate(true).tolist()))
    measurements, at = [], 0
    for clique, t in zip(cliques, true, strict=True):
        measurements.append(LinearMeasurement(noisy[at : at + len(t)], clique, stddev=scale))
        at += len(t)
    model = MirrorDescent().estimate(Domain(names, sizes), measurements, iters=ITERS)
    synth = model.synthetic_data(rows=rows)
    codes = np.stack([np.asarray(synth.data[n]) for n in names], axis=1).astype(np.int64)
    np.save(Path(folder) / f"synthetic-mbi-{epsilon:g}.npy", codes)
    return {"rows": len(codes), "marginals": len(cliques), "noise_scale": round(scale, 2)}
