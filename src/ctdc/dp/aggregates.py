"""DP counts (and shares) of the true staged records, with OpenDP's discrete Laplace noise.

``dp_counts(ws, schema, by, epsilon, share=...)`` counts the live staged
records, merged and de-duplicated as harmonize does (``harmonize.merge``: one
record per case pseudonym, the latest batch winning; withdrawn records left out, as
in every release), in every cell of the
public key set (``keys.py``), and adds noise from OpenDP's measurement
constructors: ``make_count_by_categories`` (which bounds the sensitivity: one
record added or removed changes one count by 1) chained with
``then_laplace``, which on integer counts is the discrete Laplace
(geometric) mechanism. Nothing here draws a random number by itself.

The data are the *true* records, not the k-anonymous release: DP needs no
suppression and suppression would bias the counts. What protects them is the
noise, so the measurement is built, the budget charged (``budget.py``) and
only then the noise drawn; a refused charge draws none.

Each cell carries a 95% interval, ``count_low``..``count_high``, from OpenDP's
``discrete_laplacian_scale_to_accuracy``: the noisy count is within that many
of the true one with probability at least 95% for each cell on its own.
With ``share`` the table counts each cell's TRUE and not-TRUE records apart
(the same records split once more, so still one count per person); the count
is their sum, its interval the sum of the two at 97.5% each (at least 95%
together), and the share TRUE/(TRUE + not TRUE), with the interval from the
ends of the two, clipped to [0, 1]. Everything after the noise is
post-processing and costs no privacy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from ctdc.dp.budget import BudgetEntry, charge, check_cost
from ctdc.dp.keys import KeySet, key_set, source_fields, with_level_columns
from ctdc.dp.records import true_records
from ctdc.schema import Schema
from ctdc.store.workspace import Workspace

MECHANISM = "discrete Laplace (OpenDP make_count_by_categories >> then_laplace)"
CONFIDENCE = 0.95


@dataclass(frozen=True)
class DpTable:
    """A published DP table: its cells and what an analyst needs to read them."""

    by: tuple[str, ...]
    share: str | None
    epsilon: float
    delta: float
    scale: float
    release_id: str | None
    epoch: int
    created_at: str
    #: one row per cell of the key set: the ``by`` columns, ``count``, ``count_low``,
    #: ``count_high`` (and ``share``, ``share_low``, ``share_high``)
    frame: pd.DataFrame

    @property
    def product(self) -> str:
        return product_name(self.by, self.share)

    def about(self) -> dict[str, object]:
        """The sidecar: the mechanism and its parameters, the release and epoch it came from."""
        return {"product": self.product, "by": list(self.by), "share": self.share,
                "mechanism": MECHANISM, "epsilon": self.epsilon, "delta": self.delta,
                "scale": self.scale, "confidence": CONFIDENCE, "cells": len(self.frame),
                "release_id": self.release_id, "epoch": self.epoch,
                "created_at": self.created_at}  # fmt: skip

    def to_json(self) -> dict[str, object]:
        records = self.frame.astype(object).where(self.frame.notna(), None)
        return {**self.about(), "records": records.to_dict(orient="records")}


def product_name(by: tuple[str, ...] | list[str], share: str | None) -> str:
    """What the budget ledger and the sidecar call a table (field names only: public)."""
    return f"counts by {', '.join(by)}" + (f", share of {share}" if share else "")


def _opendp() -> SimpleNamespace:
    """The OpenDP functions used here, with its ``contrib`` features on (both constructors
    are contrib). Imported module by module, not through ``opendp.prelude``, which also
    loads its scikit-learn extras (~0.7 s of a command's start)."""
    from opendp.accuracy import discrete_laplacian_scale_to_accuracy
    from opendp.domains import atom_domain, vector_domain
    from opendp.measurements import then_laplace
    from opendp.metrics import symmetric_distance
    from opendp.mod import binary_search_param, enable_features
    from opendp.transformations import make_count_by_categories

    enable_features("contrib")
    return SimpleNamespace(
        accuracy=discrete_laplacian_scale_to_accuracy,
        atom_domain=atom_domain,
        vector_domain=vector_domain,
        then_laplace=then_laplace,
        symmetric_distance=symmetric_distance,
        binary_search_param=binary_search_param,
        make_count_by_categories=make_count_by_categories,
    )


def count_measurement(cells: int, epsilon: float) -> tuple[Any, float, float]:
    """OpenDP's measurement over a vector of cell numbers (one per person), calibrated to
    ``epsilon``; returns (measurement, its scale, the epsilon it guarantees for d_in=1)."""
    dp = _opendp()
    space = dp.vector_domain(dp.atom_domain(T="i64")), dp.symmetric_distance()

    def build(scale: float) -> Any:
        counts = dp.make_count_by_categories(*space, categories=list(range(cells)),
                                             null_category=False, TOA="i64")  # fmt: skip
        return counts >> dp.then_laplace(scale)

    scale = 1.0 / epsilon
    meas = build(scale)
    if meas.map(1) > epsilon:  # rounding: let OpenDP search the smallest scale that holds
        scale = dp.binary_search_param(build, d_in=1, d_out=epsilon)
        meas = build(scale)
    return meas, float(scale), float(meas.map(1))


def accuracy(scale: float, alpha: float) -> float:
    """OpenDP's half-width: |noise| <= it with probability at least 1 - alpha."""
    return float(_opendp().accuracy(scale=scale, alpha=alpha))


def dp_counts(ws: Workspace, schema: Schema, by: list[str], epsilon: float, *,
              share: str | None = None, who: str | None = None) -> DpTable:  # fmt: skip
    """Charge the budget, then count ``by`` (and ``share``) with noise; see the module doc.

    Raises ``bad-option`` (epsilon, fields, key set too large), ``no-staged-data``,
    ``budget-exceeded`` (nothing drawn, nothing charged).
    """
    check_cost(epsilon, 0.0)
    keys = key_set(schema, by, share)
    meas, scale, guaranteed = count_measurement(keys.size, epsilon)
    names = [*by, *([share] if share else [])]
    records = with_level_columns(true_records(ws, source_fields(schema, names)), schema, by)
    if share:  # TRUE, or not (FALSE and NULL): the last axis of the key set
        records = records.assign(**{share: records[share].fillna(False).astype(bool)})
    codes = keys.codes(records)
    entry = charge(ws, product=product_name(by, share), epsilon=guaranteed, delta=0.0, by=who)
    noisy = np.asarray(meas(codes[codes >= 0].tolist()), dtype=np.int64)
    return _table(keys, noisy, scale, entry, tuple(by), share)


def _table(keys: KeySet, noisy: np.ndarray, scale: float, entry: BudgetEntry,
           by: tuple[str, ...], share: str | None) -> DpTable:  # fmt: skip
    """The published frame: post-processing of the noisy counts only."""
    cells = keys.frame()
    if share is None:
        half = accuracy(scale, 1 - CONFIDENCE)
        frame = cells.assign(count=noisy, count_low=np.maximum(noisy - half, 0.0),
                             count_high=noisy + half)  # fmt: skip
    else:
        pairs = noisy.reshape(-1, 2)  # the share's axis is last: (TRUE, not TRUE) per cell
        true, other = pairs[:, 0], pairs[:, 1]
        half = accuracy(scale, (1 - CONFIDENCE) / 2)
        count = true + other
        # the ends of each part's interval (a true count is never negative)
        t_lo, t_hi = np.maximum(true - half, 0.0), np.maximum(true + half, 0.0)
        o_lo, o_hi = np.maximum(other - half, 0.0), np.maximum(other + half, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(count > 0, np.clip(true / count, 0, 1), np.nan)
            low = np.where(t_lo + o_hi > 0, t_lo / (t_lo + o_hi), 0.0)
            high = np.where(t_hi + o_lo > 0, t_hi / (t_hi + o_lo), 1.0)
        frame = cells[cells[share]].drop(columns=share).reset_index(drop=True)
        frame = frame.assign(count=count, count_low=np.maximum(count - 2 * half, 0.0),
                             count_high=count + 2 * half, share=ratio, share_low=low,
                             share_high=high)  # fmt: skip
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return DpTable(by, share, entry.epsilon, entry.delta, scale, entry.release_id, entry.epoch,
                   created, frame)  # fmt: skip
