"""The pac-synth generator (``ctdc synthesize --generator pac-synth``): Microsoft's Synthetic
Data Showcase core, ``DpAggregateSeededSynthesizer``.

It counts every combination of up to ``reporting_length`` attribute values in the true
records, adds Gaussian noise calibrated to (epsilon, delta), drops noisy counts under its
thresholds and samples records that reproduce the noisy counts. The guarantee is
pac-synth's; nothing here adds noise. It was the default until 2026-12-02; the marginal
model (:mod:`ctdc.dp.marginal_model`) replaced it for the defects measured in
docs/synthetic.md: fabricated pairs, values lost to its threshold, a fit that did not
finish on 392,000 records.

* flags are given to pac-synth sparsely: TRUE as an attribute, FALSE as pac-synth's
  "empty" value, which it does not count, and NULL once per flag group: an organization
  that does not record a group (types of labour, means of control...) leaves all its
  flags NULL, so a group whose flags are all NULL is one attribute (``null`` in the
  column ``<group>__not_recorded``) and its flags are empty. A NULL flag in a group that
  is otherwise recorded keeps a ``null`` of its own. Every attribute a record carries
  raises pac-synth's sensitivity, hence its noise and the threshold under which it drops
  a value: one ``null`` per flag took the 99th percentile of attributes per record from
  about 23 to 48 on the demo, and with it every TRUE flag below ~600 records
  (docs/synthetic.md). The three states survive the round trip.
* rows are drawn by :mod:`ctdc.dp.synthetic_sample`: full passes of pac-synth's sampler,
  cut to its noisy record count, then a uniform draw of ``--rows`` (asking pac-synth for
  fewer rows than records biases every flag towards TRUE).
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ctdc.dp.synthetic_sample import sample_rows
from ctdc.errors import CtdcError
from ctdc.schema import Schema
from ctdc.slugs import Slug

if TYPE_CHECKING:
    from ctdc.dp.synthetic import SynthesisParams

NAME = "pac-synth"
SYNTHESIZER = "DpAggregateSeededSynthesizer"
#: combinations of up to this many attribute values are counted: 2, not pac-synth's 3, as on
#: ~1,200 records with ~60 columns 3 lost every year and country at epsilon 1 (2 kept some),
#: and a 3-way fit of ~50,000 such records had not finished after 5 minutes (docs/synthetic.md)
REPORTING_LENGTH = 2  # the default of SynthesisParams.reporting_length
#: share of epsilon pac-synth spends on a noisy count of the records (ctdc cuts each full
#: sampling pass to it, :mod:`ctdc.dp.synthetic_sample`). pac-synth's default 0.005 gives
#: that count a Laplace noise of scale 200 at epsilon 1, and pac-synth panics when the
#: count comes out negative: on 156 records it did so about every other run. At 0.1 the
#: scale is 10.
RECORDS_EPSILON_PROPORTION = 0.1
#: how flags reach pac-synth (FALSE is its uncounted empty value)
_TRUE, _NULL, _EMPTY = "1", "null", ""
#: the column that says, once for all its flags, that a flag group was not recorded
_GROUP_NULL = "{group}__not_recorded"


def whole_groups(schema: Schema, names: list[str]) -> dict[str, list[str]]:
    """The flag groups all of whose flags are in ``names``: their NULL goes to pac-synth once
    per group (module doc); a group only partly synthesized keeps one ``null`` per flag."""
    chosen = set(names)
    return {g: [f.name for f in group.flags] for g, group in schema.groups.items()
            if all(f.name in chosen for f in group.flags)}  # fmt: skip


def encode(frame: pd.DataFrame, schema: Schema, names: list[str]) -> pd.DataFrame:
    """The records as pac-synth's text attributes (see the module doc for flags)."""
    out: dict[str, pd.Series] = {}
    for group, flags in whole_groups(schema, names).items():
        none = frame[flags].isna().all(axis=1)
        out[_GROUP_NULL.format(group=group)] = pd.Series(
            np.where(none, _NULL, _EMPTY), index=frame.index, dtype=object)  # fmt: skip
        for n in flags:
            out[n] = _flag_text(frame[n], none)
    for n in names:
        if n in out:
            continue
        col = frame[n]
        if schema[n].type == "boolean":
            out[n] = _flag_text(col, pd.Series(False, index=frame.index))
        else:
            out[n] = col.astype("string").fillna(_EMPTY).astype(object)
    return pd.DataFrame(out)[[*names, *(c for c in out if c not in names)]]


def _flag_text(col: pd.Series, group_null: pd.Series) -> pd.Series:
    """One flag as text: TRUE ``1``, FALSE empty, NULL ``null`` unless its group says so."""
    own_null = col.isna().to_numpy() & ~group_null.to_numpy()
    text = np.where(own_null, _NULL, np.where(col.fillna(False).to_numpy(bool), _TRUE, _EMPTY))
    return pd.Series(text, index=col.index, dtype=object)


def decode(raw: list[list[str]], schema: Schema, names: list[str]) -> pd.DataFrame:
    """pac-synth's sampled rows back to typed columns (empty -> NULL, or FALSE for a flag;
    every flag of a group NULL where the group's ``__not_recorded`` column says ``null`` and
    none of its flags is TRUE)."""
    header, body = raw[0], raw[1:]
    text = pd.DataFrame(body, columns=header, dtype=object)
    empty = pd.Series([_EMPTY] * len(text), index=text.index, dtype=object)
    group_null: dict[str, pd.Series] = {}
    for group, flags in whole_groups(schema, names).items():
        marker = text.get(_GROUP_NULL.format(group=group), empty)
        # a TRUE wins over the marker: pac-synth may put both in one row (a fabricated pair,
        # noise on a true count of 0), and dropping the TRUE would lose a counted value
        true = pd.concat([text.get(n, empty) == _TRUE for n in flags], axis=1).any(axis=1)
        group_null |= dict.fromkeys(flags, (marker == _NULL) & ~true)
    out: dict[str, Any] = {}
    for n in names:
        col = text[n] if n in text.columns else empty
        f = schema[n]
        if f.type == "boolean":
            flag = col.map({_TRUE: True, _EMPTY: False, _NULL: None})
            if n in group_null:
                flag = flag.where(~group_null[n], None)
            out[n] = pd.array(flag, dtype="boolean")
        elif f.type == "integer":
            num = pd.to_numeric(col.replace(_EMPTY, None), errors="raise")
            out[n] = pd.array(num, dtype="Int16")
        else:
            out[n] = pd.array(col.replace(_EMPTY, None), dtype="string")
    return pd.DataFrame(out)


def _parameters(params: SynthesisParams) -> Any:
    """pac-synth's parameters: this run's epsilon, delta and reporting length, the rest its
    defaults (recorded in the sidecar as pac-synth itself serializes them).

    Known defect of the defaults, measured and not fixed (docs/synthetic.md): pac-synth
    reports a pair that does not exist when its noise comes out above zero, and its sampler
    can then draw it without limit (sexual exploitation and forced labour, never both TRUE,
    both TRUE in up to 31% of the rows). ``use_synthetic_counts`` and the fabrication modes
    curb it but bias the one-way shares low by up to 9 to 15 points once the pass is cut to
    the record count (docs/benchmarks.md), which the flag-share test rejects; the trade-off
    is open.
    """
    import pacsynth

    return (
        pacsynth.DpAggregateSeededParametersBuilder()
        .reporting_length(params.reporting_length)
        .epsilon(params.epsilon)
        .delta(params.delta)
        .empty_value(_EMPTY)
        .number_of_records_epsilon_proportion(RECORDS_EPSILON_PROPORTION)
        .build()
    )


def fit_and_sample(
    encoded: pd.DataFrame, params: SynthesisParams, rng: np.random.Generator | None = None
) -> tuple[list[list[str]], Any]:
    """pac-synth's fit on ``encoded`` and ``params.rows`` rows drawn from it without the
    early-stop bias (:func:`ctdc.dp.synthetic_sample.sample_rows`); its parameters.

    Raises ``too-few-records`` when pac-synth gives up (a negative noisy record count) or
    keeps no value at all; neither is retried, which would condition the noise on the data.
    """
    try:
        import pacsynth
    except ImportError as exc:
        raise CtdcError(Slug.MISSING_EXTRA, "pac-synth is not installed",
                        fix="pip install pac-synth") from exc  # fmt: skip
    parameters = _parameters(params)
    dataset = pacsynth.Dataset(pacsynth.Dataset.data_frame_to_raw_data(encoded))
    synth = pacsynth.DpAggregateSeededSynthesizer(parameters)
    try:
        synth.fit(dataset)
        rows = sample_rows(synth, params.rows, records=len(encoded), epsilon=params.epsilon,
                           rng=rng)  # fmt: skip
        return rows, parameters
    except BaseException as exc:  # a Rust panic is a BaseException (pyo3's PanicException)
        if type(exc).__name__ != "PanicException":
            raise
        # never retried: trying again until the noise suits would condition it on the data
        raise CtdcError(Slug.TOO_FEW_RECORDS, f"pac-synth gave up on {len(encoded)} records "
                        f"at epsilon {params.epsilon:g} (its noisy record count came out "
                        "negative); nothing was published, the attempt's budget is spent",
                        fix="stage more records, or synthesize with a larger --epsilon"
                        ) from None  # fmt: skip


def _public_parameters(text: str) -> dict[str, Any]:
    """pac-synth's serialized parameters, as a JSON object (they hold no data, only settings)."""
    import json

    doc = json.loads(text)
    return doc if isinstance(doc, dict) else {"parameters": doc}


def generate(truth: pd.DataFrame, schema: Schema, names: list[str],
             params: SynthesisParams) -> tuple[pd.DataFrame, dict[str, Any]]:  # fmt: skip
    """pac-synth's rows as typed columns, and its entry for the public sidecar."""
    raw, parameters = fit_and_sample(encode(truth, schema, names), params)
    generator = {
        "name": NAME,
        "synthesizer": SYNTHESIZER,
        "version": metadata.version(NAME),
        "parameters": _public_parameters(parameters.to_json_str()),
        "flag_encoding": {
            "true": _TRUE,
            "null": _NULL,
            "false": "empty (not counted)",
            "group_not_recorded": f"{_NULL} in {_GROUP_NULL}",
        },
        "sampling": "full passes of pac-synth's sampler, each cut to its noisy record count, "
        "then a uniform draw of the rows asked for, without replacement",
    }
    return decode(raw, schema, names), generator
