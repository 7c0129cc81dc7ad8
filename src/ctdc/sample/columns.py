"""Column builders the organizations' renderers share: codes to labels, ids, dates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ctdc.sample.world import EXPLOITATION, Cases, FlagGroup


def pick(values: tuple[Any, ...], idx: np.ndarray, unknown: Any = "") -> np.ndarray:
    """``values[idx]`` as an object array, ``unknown`` where ``idx`` is -1."""
    table = np.array([*values, unknown], dtype=object)
    return table[np.where(idx < 0, len(values), idx)]


def exploitation_flags(cases: Cases) -> FlagGroup:
    """The one-hot type of exploitation as a flag group (not recorded when unknown)."""
    n = len(cases)
    values = np.zeros((n, len(EXPLOITATION)), dtype=bool)
    known = cases.exploitation >= 0
    values[np.flatnonzero(known), cases.exploitation[known]] = True
    return FlagGroup(EXPLOITATION, values, known)


def sequential_ids(n: int, rng: np.random.Generator, start: int) -> np.ndarray:
    """Increasing case numbers with small gaps (deleted or merged cases)."""
    return start + np.cumsum(rng.integers(1, 4, size=n))


def dates(days: np.ndarray, fmt: str) -> np.ndarray:
    """``days`` (datetime64) as text in ``fmt``, an object array."""
    return np.asarray(pd.DatetimeIndex(days).strftime(fmt), dtype=object)
