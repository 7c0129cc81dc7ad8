"""The synthetic table itself: the release's shape, values in their domains, level columns that
follow the synthesized value, and no more copies of rare real records than chance gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conftest import copy_of_sample
from ctdc.dp.records import true_records
from ctdc.dp.synthetic import SynthesisParams, synthesize
from ctdc.harmonize.levels import level_labels
from ctdc.schema import Schema, load_schema, status_column

ROOT = Path(__file__).resolve().parents[2]
ROWS = 400


@pytest.fixture(scope="module")
def synthesized(shared_sample: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[pa.Table, pd.DataFrame, Schema]:  # fmt: skip
    """One synthetic table of a copy of the shared sample: synthesize() publishes nothing,
    but it charges the copy's privacy budget (the shared sample is read only)."""
    ws, schema = copy_of_sample(shared_sample, tmp_path_factory.mktemp("synth") / "copy")
    result = synthesize(ws, schema, SynthesisParams(epsilon=1.0, rows=ROWS))
    return result.cases, true_records(ws, list(schema.released)), schema


def test_release_columns_types_and_row_count(synthesized: tuple) -> None:
    cases, _, schema = synthesized
    assert cases.schema.remove_metadata() == schema.release_arrow_schema()
    assert cases.num_rows == ROWS
    assert not {"org_id", "case_pseudonym", "batch_id"} & set(cases.column_names)


def test_values_stay_inside_each_field_domain(synthesized: tuple) -> None:
    cases, _, schema = synthesized
    frame = cases.to_pandas()
    for name in schema.released:
        f, col = schema[name], frame[name].dropna()
        if f.type in ("category", "country"):
            assert set(col) <= set(f.allowed), name
        elif f.type == "integer":
            # the schema's bounds: the marginal model may draw any year of the public domain
            assert col.between(f.min, f.max).all(), name
    # the checks above are not vacuous: some values were synthesized. (How many is utility,
    # not correctness, and random, so no share of one field is asserted here;
    # test_marginal_model.py bounds the flags' shares.)
    checked = [n for n in schema.released if schema[n].type in ("category", "country", "integer")]
    assert sum(int(frame[n].notna().sum()) for n in checked) > 0


def test_level_columns_statuses_and_labels_follow_the_value(synthesized: tuple) -> None:
    from ctdc.harmonize.settings import field_hierarchy

    cases, _, schema = synthesized
    frame = cases.to_pandas()
    for f in schema.fields:
        if not f.level_columns:
            continue
        tables = level_labels(field_hierarchy(f))
        leaf = frame[f.name].astype("string")
        for (column, _), table in zip(f.level_columns, tables[1:], strict=True):
            expected = leaf.map(table)
            assert (frame[column].isna() == leaf.isna()).all(), column
            assert (frame[column].dropna() == expected.dropna()).all(), column
    for q in schema.quasi_identifiers:
        status = frame[status_column(q)]
        assert set(status[frame[q].notna()]) <= {"as_recorded"}, q
        assert set(status[frame[q].isna()]) <= {"not_recorded"}, q
    derived = schema["majority_status"]
    assert derived.derive is not None
    expected = frame["age_band"].map(derived.derive)
    assert (frame["majority_status"].fillna("-") == expected.fillna("-")).all()
    joined = np.full(len(frame), "", dtype=object)
    for fl in schema.groups["means_of_control"].flags:
        hit = frame[fl.name].fillna(False).to_numpy(dtype=bool)
        joined = np.where(hit, np.where(joined == "", "", joined + ";") + str(fl.label), joined)
    labels = frame["means_of_control_concatenated"].astype(object).fillna("").to_numpy()
    assert (labels == joined).all()


def _rare_copy_share(rows: pd.DataFrame, unique: set[tuple]) -> float:
    keys = rows.astype("string").fillna("<NULL>").itertuples(index=False, name=None)
    return float(np.mean([key in unique for key in keys]))


def test_rare_real_combinations_are_copied_no_more_than_chance(synthesized: tuple) -> None:
    """Share of synthetic rows whose full QI tuple is the tuple of a real record that is
    unique in the real data, against rows drawn independently from the real marginals (a
    generator that knows nothing of the joint distribution)."""
    cases, truth, schema = synthesized
    qis = schema.quasi_identifiers
    real = truth[qis].astype("string").fillna("<NULL>")
    counts = real.value_counts()
    unique = set(counts[counts == 1].index)
    assert len(unique) > 50  # there are rare combinations to copy
    synthetic = _rare_copy_share(cases.to_pandas()[qis], unique)
    rng = np.random.default_rng(7)
    draws = 20 * ROWS
    independent = pd.DataFrame(
        {q: real[q].to_numpy()[rng.integers(0, len(real), draws)] for q in qis}
    )
    chance = _rare_copy_share(independent, unique)
    print(f"rare copies: synthetic {synthetic:.4f}, independent marginals {chance:.4f}")
    # one or two rows of 400 by chance, never a systematic copy of the rare records
    assert synthetic <= max(3 * chance, 5 / ROWS)


def test_flags_keep_true_false_and_not_recorded_through_pac_synth_encoding() -> None:
    """pac-synth does not count empty values: FALSE goes in empty, the NULL of a whole flag
    group once in its ``__not_recorded`` column (a group partly synthesized: a ``null`` per
    flag), and all three states (and NULL categories and years) come back as they went in."""
    from ctdc.dp.synthetic_pacsynth import decode, encode

    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    sex = [f.name for f in schema.groups["type_of_sex"].flags]
    names = ["year_of_registration", "gender", "is_abduction", "is_forced_labour", *sex]
    three = pd.array([True, False, None], dtype="boolean")
    frame = pd.DataFrame({
        "year_of_registration": pd.array([2019, None, 2020], dtype="Int16"),
        "gender": pd.array([None, "Male", "Female"], dtype="string"),
        "is_abduction": three,  # the recruitment group's only flag: whole
        "is_forced_labour": three,  # one of type_of_exploitation's: partial
        **{n: pd.array([i == 0, False, None], dtype="boolean") for i, n in enumerate(sex)},
    })  # fmt: skip
    encoded = encode(frame, schema, names)
    assert encoded["is_abduction"].tolist() == ["1", "", ""]
    assert encoded["recruitment__not_recorded"].tolist() == ["", "", "null"]
    assert encoded["is_forced_labour"].tolist() == ["1", "", "null"]
    assert "type_of_exploitation__not_recorded" not in encoded
    assert encoded["type_of_sex__not_recorded"].tolist() == ["", "", "null"]
    assert (encoded[sex[1:]] != "null").all().all()
    raw = [list(encoded.columns), *encoded.to_numpy().tolist()]
    pd.testing.assert_frame_equal(decode(raw, schema, names), frame)
    # a TRUE that pac-synth put in a row whose group it also said was not recorded is kept
    raw[3][list(encoded.columns).index(sex[0])] = "1"
    decoded = decode(raw, schema, names)
    assert decoded[sex[0]].tolist()[2] is True and decoded[sex[1]].tolist()[2] is False
