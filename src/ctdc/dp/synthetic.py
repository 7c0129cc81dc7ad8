"""A differentially private synthetic ``cases`` table, fitted on the true staged records.

Two generators, chosen with ``--generator`` (docs/synthetic.md):

* ``marginal`` (the default, :mod:`ctdc.dp.marginal_model`): MST's select-measure-generate,
  every measurement OpenDP's: noisy 1-way marginals, a privately chosen tree of pairs, the
  pairs of the types of exploitation, and rows drawn from the model they define;
* ``pac-synth`` (:mod:`ctdc.dp.synthetic_pacsynth`): Microsoft's Synthetic Data Showcase
  core, the default until 2026-12-02.

What both synthesize, and why:

* the released fields of the schema (quasi-identifiers, sensitive flags,
  attributes) **as recorded** (a year, an age band, a country code), not at the
  k-anonymous release's generalized level: DP does not need generalization to
  protect people, and leaves are what analysts want to cross-tabulate. The
  level columns (``citizenship_region``...) are then computed from the
  synthesized leaf through the same hierarchies the real release uses
  (:func:`ctdc.harmonize.levels.split_levels`), so they always agree with it.
* never the pseudonym, organization id, batch id or any free-text field
  (schema type ``string``): they are not in the generator's input.
* a field the schema ``derive``-s from another (majority status from age band)
  is not synthesized but recomputed from the synthesized source, and a derived
  quasi-identifier is blanked where its synthesized source is NULL, exactly as
  the release does (:func:`ctdc.harmonize.derive.apply_derivations`).

Status columns: the synthetic table has no suppression and no
generalization, so each quasi-identifier's ``_status`` says ``as_recorded``
where the synthesized value is present and ``not_recorded`` where it is NULL.
They do not describe a real record: there is none behind a synthetic row.

The table is charged to the privacy budget (``ctdc.dp.budget``) before anything is
fitted: a refused charge spends nothing and publishes nothing.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctdc.anonymize import Hierarchy
from ctdc.dp.records import true_records
from ctdc.errors import CtdcError
from ctdc.harmonize.derive import apply_derivations, label_columns
from ctdc.harmonize.levels import split_levels
from ctdc.harmonize.release_table import to_release_table
from ctdc.harmonize.settings import field_hierarchy
from ctdc.schema import Schema
from ctdc.slugs import Slug
from ctdc.store.workspace import Workspace

#: the generators ``--generator`` takes; the first is the default
GENERATORS = ("marginal", "pac-synth")
#: most rows one run may sample (pac-synth holds them all in memory as Python lists)
MAX_ROWS = 200_000
#: an epsilon above this protects next to nothing; refused rather than published as "DP"
MAX_EPSILON = 10.0
#: delta must stay far below 1 / (number of records); this default does up to 10^5 records
DEFAULT_DELTA = 1e-6
MAX_DELTA = 1e-3


@dataclass(frozen=True)
class SynthesisParams:
    """What the steward chose: the budget of this run, how many rows to sample (None: about
    as many rows as there are records) and the generator (:data:`GENERATORS`)."""

    epsilon: float
    rows: int | None = None
    delta: float = DEFAULT_DELTA
    generator: str = GENERATORS[0]
    #: pac-synth's: combinations of up to this many values are counted (its module)
    reporting_length: int = 2

    def check(self) -> None:
        """Refuse a budget or a size that cannot be honoured: ``bad-option`` (exit 2)."""
        eps, delta = self.epsilon, self.delta
        if not (math.isfinite(eps) and 0 < eps <= MAX_EPSILON):
            raise CtdcError(Slug.BAD_OPTION, f"--epsilon {eps}: give a number above 0 and at "
                            f"most {MAX_EPSILON:g} (smaller is more private; 1 is common)",
                            fix="e.g. `ctdc synthesize --epsilon 1 --rows 1000`")  # fmt: skip
        if not (math.isfinite(delta) and 0 < delta <= MAX_DELTA):
            raise CtdcError(Slug.BAD_OPTION, f"--delta {delta}: give a number above 0 and at "
                            f"most {MAX_DELTA:g}, far below 1 / (number of records)",
                            fix=f"leave it out for the default {DEFAULT_DELTA:g}")  # fmt: skip
        if self.rows is not None and not 0 < self.rows <= MAX_ROWS:
            raise CtdcError(Slug.BAD_OPTION, f"--rows {self.rows}: give a whole number from 1 "
                            f"to {MAX_ROWS:,}", fix="e.g. --rows 1000")  # fmt: skip
        if self.generator not in GENERATORS:
            raise CtdcError(Slug.BAD_OPTION, f"--generator {self.generator!r}: give one of "
                            f"{', '.join(GENERATORS)}", fix="leave it out for the default, "
                            f"{GENERATORS[0]}")  # fmt: skip
        if not 1 <= self.reporting_length <= 5:
            raise CtdcError(Slug.BAD_OPTION, f"reporting length {self.reporting_length}: 1 to 5")


@dataclass(frozen=True)
class SyntheticResult:
    """The synthetic table and what produced it (nothing of a real record)."""

    cases: pa.Table
    #: the generator's name, version and parameters, for the public sidecar
    generator: dict[str, Any]
    hierarchies: dict[str, Hierarchy] = field(default_factory=dict)


def _charge_budget(ws: Workspace, params: SynthesisParams) -> None:
    """Charge the table to the epoch's privacy budget (``budget-exceeded`` when it would
    go over), before the fit: a refused charge spends nothing and publishes nothing."""
    from ctdc.dp.budget import charge

    rows = "about one row per record" if params.rows is None else f"{params.rows:,} rows"
    charge(ws, product=f"synthetic cases ({rows}, {params.generator})", epsilon=params.epsilon,
           delta=params.delta)  # fmt: skip


def synthesized_fields(schema: Schema) -> list[str]:
    """The released fields the generator sees: no free text, no field recomputed from another."""
    return [n for n in schema.released if schema[n].type != "string" and schema[n].derive is None]


def hierarchies_of(schema: Schema) -> dict[str, Hierarchy]:
    """The hierarchy of every released field that has one (level columns, dictionary)."""
    return {n: field_hierarchy(schema[n]) for n in schema.released if schema[n].hierarchy}


def synthetic_table(sampled: pd.DataFrame, schema: Schema,
                    hierarchies: Mapping[str, Hierarchy]) -> pa.Table:  # fmt: skip
    """The sampled fields as the public cases file: derived fields, level columns, statuses
    and flag labels computed as the release computes them, cast to its Arrow schema and
    sorted by content (the sampling order says nothing, but sorting costs nothing)."""
    release = pd.DataFrame(index=sampled.index)
    for n in schema.released:
        missing = pd.array([None] * len(sampled), dtype=schema[n].pandas_dtype)
        release[n] = sampled[n] if n in sampled.columns else missing
    release = apply_derivations(release, schema, {})  # leaves: the schema's own table
    for q, status in schema.status_columns.items():
        present = release[q].notna().to_numpy()
        release[status] = pd.array(np.where(present, "as_recorded", "not_recorded"),
                                   dtype="string")  # fmt: skip
    labels = label_columns(release, schema)
    release = split_levels(release, schema, hierarchies)
    for name, col in labels.items():
        release[name] = col
    cases = to_release_table(release, schema.release_arrow_schema())
    order = pc.sort_indices(cases, sort_keys=[(n, "ascending") for n in cases.column_names])
    return cases.take(order)


def synthesize(ws: Workspace, schema: Schema, params: SynthesisParams) -> SyntheticResult:
    """The synthetic table of ``params.rows`` rows (None: about as many as there are
    records), fitted on the true staged records by ``params.generator``.

    Raises ``bad-option`` for a budget, size or generator out of bounds,
    ``no-staged-data`` when nothing is staged; the budget is charged
    (:func:`_charge_budget`) after the data is found and before anything is fitted.
    """
    params.check()
    names = synthesized_fields(schema)
    truth = true_records(ws, list(schema.released))
    _charge_budget(ws, params)
    sampled, generator = generate(truth, schema, names, params)
    hierarchies = hierarchies_of(schema)
    cases = synthetic_table(sampled, schema, hierarchies)
    return SyntheticResult(cases, {**generator, "synthesized_fields": names}, hierarchies)


def generate(truth: pd.DataFrame, schema: Schema, names: list[str],
             params: SynthesisParams) -> tuple[pd.DataFrame, dict[str, Any]]:  # fmt: skip
    """The chosen generator's rows (typed columns ``names``) and its sidecar entry."""
    if params.generator == "pac-synth":
        from ctdc.dp import synthetic_pacsynth

        return synthetic_pacsynth.generate(truth, schema, names, params)
    from ctdc.dp import marginal_model

    rng = np.random.default_rng(secrets.randbits(128))  # sampling: never a fixed seed
    sampled, parameters = marginal_model.synthesize_frame(
        truth, schema, names, params.epsilon, params.delta, params.rows, rng)  # fmt: skip
    versions = f"ctdc {metadata.version('ctdc')}, opendp {metadata.version('opendp')}"
    return sampled, {"name": "marginal model", "version": versions,
                     "method": marginal_model.METHOD, "parameters": parameters}  # fmt: skip
