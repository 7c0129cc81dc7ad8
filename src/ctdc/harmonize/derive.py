"""Derived fields follow the *published* value of their source, never the recorded one.

A field computed from a quasi-identifier (majority status from age band) would
otherwise undo the anonymizer: ``SELECT age_band, majority_status, count(*)``
split the records whose age band was suppressed into adults and minors. Two
rules, both checked by the schema loader:

* a field with ``derive`` is recomputed from the published source: a published
  label (a leaf or a coarser band) gets the derived value all the leaves under it
  share, and NULL when they disagree or the source is NULL;
* a derived field that is a quasi-identifier itself keeps its value where its
  source is published and is blanked where the source is NULL. Every record of
  an equivalence class shares both values, so whole classes move together and
  merge into classes of at least k: k (and l) still hold, which the independent
  check over the written release confirms.

The label column of a flag group (``means_of_control_concatenated``:
``Debt bondage;Threats``) is derived the same way, from the released flags,
so it is never stored apart and can never disagree with them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ctdc.anonymize import Hierarchy
from ctdc.schema import Field, Schema, status_column


def derived_labels(field: Field, hierarchy: Hierarchy | None) -> dict[str, str]:
    """Published source label -> derived value, for every label whose leaves agree."""
    assert field.derive is not None
    if hierarchy is None:  # published as recorded or suppressed: the labels are the leaves
        return dict(field.derive)
    leaves_under: dict[str, set[str]] = {}
    for row in hierarchy.rows:
        for label in row[:-1]:  # the root is published as NULL
            leaves_under.setdefault(label, set()).add(row[0])
    out: dict[str, str] = {}
    for label, leaves in leaves_under.items():
        values = {field.derive.get(leaf) for leaf in leaves}
        if len(values) == 1 and None not in values:
            out[label] = values.pop()  # type: ignore[assignment]
    return out


def apply_derivations(
    release: pd.DataFrame, schema: Schema, hierarchies: Mapping[str, Hierarchy]
) -> pd.DataFrame:
    """Recompute or blank every derived field of ``release`` from its published source."""
    for f in schema.fields:
        if f.derived_from is None or f.name not in release.columns:
            continue
        source = release[f.derived_from]
        if f.derive is not None:
            table = derived_labels(f, hierarchies.get(f.derived_from))
            release[f.name] = pd.array(source.map(table), dtype=release[f.name].dtype)
        else:
            blanked = source.isna() & release[f.name].notna()
            release[f.name] = release[f.name].where(source.notna())
            status = status_column(f.name)
            if status in release.columns:  # withheld for privacy: whole classes, so k holds
                release[status] = release[status].mask(blanked, "suppressed")
    return release


def label_columns(frame: pd.DataFrame, schema: Schema) -> dict[str, pd.Series]:
    """One ``;``-joined label column per flag group, derived from the flags (never stored apart).

    NA when no flag of the group is true: the flags themselves keep the
    difference between "recorded: none" (false) and "not recorded" (NA).
    """
    out: dict[str, pd.Series] = {}
    for group in schema.groups.values():
        if not group.concatenated:
            continue
        joined = np.full(len(frame), "", dtype=object)
        for flag in group.flags:
            hit = frame[flag.name].fillna(False).to_numpy(dtype=bool)
            sep = np.where(joined == "", "", ";")
            joined = np.where(hit, joined + sep + str(flag.label), joined)
        out[group.concatenated] = pd.Series(
            # numpy's stubs refuse None as a value, which an object array holds fine
            pd.array(np.where(joined == "", None, joined), dtype="string"),  # type: ignore[call-overload]
            index=frame.index,
        )
    return out
