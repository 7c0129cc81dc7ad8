"""The noise is OpenDP's and real: its spread matches the mechanism's scale, its 95% interval
covers the true count about 95% of the time. OpenDP cannot be seeded, so the tests draw many
values and use tolerances wide enough to pass by chance (~4.5 sd) yet fail on a mechanism
with no noise or ten times the noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ctdc.dp.aggregates import accuracy, count_measurement
from ctdc.dp.keys import KeySet, key_set
from ctdc.errors import CtdcError
from ctdc.schema import Schema

DRAWS = 2000
TRUE = 30
EPSILON = 0.5


def _draws(epsilon: float) -> tuple[np.ndarray, float]:
    """DRAWS noisy values of one count (TRUE records in cell 0 of a one-cell table), all from
    one measurement."""
    meas, scale, guaranteed = count_measurement(1, epsilon)
    assert guaranteed == pytest.approx(epsilon) and guaranteed <= epsilon
    data = [0] * TRUE
    return np.array([meas(data)[0] for _ in range(DRAWS)], dtype=float), scale


def _geometric(scale: float) -> tuple[float, float]:
    """Variance and mean absolute deviation of the discrete Laplace of ``scale``:
    P(x) proportional to a**|x|, a = exp(-1/scale)."""
    a = math.exp(-1 / scale)
    return 2 * a / (1 - a) ** 2, 2 * a / (1 - a * a)


@pytest.fixture(scope="module")
def draws() -> tuple[np.ndarray, float]:
    return _draws(EPSILON)


@pytest.mark.slow
def test_the_noise_has_the_mechanisms_spread(draws: tuple[np.ndarray, float]) -> None:
    values, scale = draws
    assert scale == pytest.approx(1 / EPSILON)  # sensitivity 1: one person, one count
    variance, mad = _geometric(scale)
    assert np.all(values == np.round(values))  # integer counts, integer noise
    assert abs(values.mean() - TRUE) < 5 * math.sqrt(variance / DRAWS)  # unbiased
    # ~5% sampling error at 2,000 draws: 25% fails scale 0 (no noise) and 10x (100x variance)
    assert values.var() == pytest.approx(variance, rel=0.25)
    assert np.abs(values - TRUE).mean() == pytest.approx(mad, rel=0.2)
    assert len(set(values)) > 10  # not a constant, nor a coin


def test_the_95_interval_covers_the_true_count_about_95_percent_of_the_time(
    draws: tuple[np.ndarray, float],
) -> None:
    values, scale = draws
    half = accuracy(scale, 0.05)
    covered = np.mean((values - half <= TRUE) & (values + half >= TRUE))
    # discrete noise: the interval is conservative, exactly P(|X| <= floor(half)) ~ 96.2%
    a = math.exp(-1 / scale)
    exact = 1 - 2 * a ** (math.floor(half) + 1) / (1 + a)
    assert exact >= 0.95
    assert 0.94 <= covered <= 0.985 and covered == pytest.approx(exact, abs=0.02)
    # a tenfold narrower interval would cover far less: the test can tell
    assert np.mean(np.abs(values - TRUE) <= half / 10) < 0.5


def test_key_set_is_the_schemas_values_not_the_datas(schema: Schema) -> None:
    keys = key_set(schema, ["gender", "data_source"])
    frame = keys.frame()
    assert keys.size == len(frame) == 5 * 2  # 4 genders and NULL, times 2 (required) sources
    assert frame["gender"].tolist()[:3] == ["Female", "Female", "Male"]  # first field slowest
    assert set(frame["data_source"]) == {"Case Management", "Hotline"}
    split = key_set(schema, ["gender"], share="is_abduction")
    assert split.size == 10 and isinstance(split, KeySet)


@pytest.mark.parametrize(
    ("by", "share", "said"),
    [
        (["nope"], None, "'nope' is not a released field or level column"),
        (["gender", "gender"], None, "named twice"),
        (["gender"], "citizenship", "not a boolean field"),
        (["gender"], "citizenship_region", "not a released field or level column"),
        (["citizenship", "country_of_exploitation", "gender"], None, "over the limit of 100,000"),
        ([], None, "names no field"),
    ],
)
def test_key_set_refusals(schema: Schema, by: list[str], share: str | None, said: str) -> None:
    with pytest.raises(CtdcError) as caught:
        key_set(schema, by, share)
    assert caught.value.slug == "bad-option" and said in str(caught.value)
