"""Defect builders: the ways a renderer says a bad row can be planted in its export.

A defect writes one bad value into one row and names the source column it
broke, so ``planted.json`` can tell the data officer where ingest must
quarantine the row and why.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ctdc.sample.export import Defect, Export


def put(column: str, *values: Any) -> Defect:
    """A defect that writes one of ``values`` into ``column``."""

    def plant(ex: Export, pos: int, rng: np.random.Generator) -> str:
        ex.columns[column][pos] = values[int(rng.integers(len(values)))]
        return column

    return plant


def add_label(column: str, label: str, sep: str | None) -> Defect:
    """A defect that adds a label outside the vocabulary to a multi-value cell."""

    def plant(ex: Export, pos: int, rng: np.random.Generator) -> str:
        cell = ex.columns[column][pos]
        if sep is None:  # a JSON list
            ex.columns[column][pos] = [*(cell or []), label]
        else:
            ex.columns[column][pos] = f"{cell}{sep}{label}" if cell else label
        return column

    return plant
