"""``ctdc mapping init``: a first ``pipelines/<org>.yaml`` planned from a sample export.

The scaffold is a starting point for a data officer, never a finished mapping:

1. **read** the sample with the ingest readers (every value as text), in the
   format, encoding and delimiter of :func:`ctdc.onboard.source.guess_source`;
2. **place** every column (:mod:`ctdc.onboard.matching`): direct identifiers
   by their words go to ``drop:``; the others are matched fuzzily to the
   schema's field names, CTDC names and descriptions, to flag groups
   (multi-value columns) and to a few multilingual synonyms. A column matched
   to nothing is left out on purpose: ``ctdc validate`` then stops on it with
   ``unmapped-column``, since a column nobody looked at may well identify a
   person;
3. **list the values** of mapped category, boolean, country and multi-value
   columns that the mapping does not translate yet, with their counts
   (:mod:`ctdc.onboard.values`);
4. **render** the plan as commented YAML (:mod:`ctdc.onboard.render`).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

from ctdc.formats.read import read_export
from ctdc.mapping.source import SourceSpec
from ctdc.onboard.matching import (
    MATCH_THRESHOLD,
    best_group,
    identifier_reason,
    is_birth_date,
    score,
    targets,
    words,
)
from ctdc.onboard.missing import missing_tokens
from ctdc.onboard.plan import ColumnKind, ColumnPlan, Scaffold
from ctdc.onboard.render import render
from ctdc.onboard.source import guess_source
from ctdc.onboard.values import (
    category_plan,
    country_plan,
    counts,
    date_plan,
    most_rows_first,
    multi_plan,
)
from ctdc.onboard.vocabulary import vocabulary
from ctdc.org_name import check_org_name
from ctdc.schema import Schema

#: what a column matched to a target of each kind becomes
_KIND: dict[str, ColumnKind] = {"case_id": "case_id", "age": "age", "field": "field",
                                "group": "multi", "concatenated": "ignore"}  # fmt: skip


def build_scaffold(
    path: Path,
    org: str,
    schema: Schema,
    *,
    source: SourceSpec | None = None,
    source_notes: list[str] | None = None,
) -> Scaffold:
    """Read ``path`` and plan a mapping for ``org``; :attr:`Scaffold.text` is the YAML."""
    check_org_name(org)
    if source is None:
        source, source_notes = guess_source(path)
    raw = read_export(path, source.options())
    frame = raw.frame
    if not raw.errors.empty:  # rows the reader could not read well say nothing reliable
        frame = frame.drop(index=frame.index[np.unique(raw.errors["pos"].to_numpy())])
    columns = [str(c) for c in frame.columns]

    plans = {c: ColumnPlan(c, "unplaced") for c in columns}
    taken: set[str] = set()
    for c in columns:
        ws = words(c)
        if is_birth_date(ws):
            plans[c] = ColumnPlan(c, "birth_date", "age", "birth date words", 1.0)
        elif (why := identifier_reason(ws)) is not None:
            plans[c] = ColumnPlan(c, "drop", "", why, 1.0)
    candidates = []
    all_targets = targets(schema)
    for c in columns:
        if plans[c].kind != "unplaced":
            continue
        for t in all_targets:
            s, how = score(words(c), t)
            if s >= MATCH_THRESHOLD:
                candidates.append((s, c, t, how))
    candidates.sort(key=lambda x: (-x[0], columns.index(x[1]), x[2].kind, x[2].name))
    for s, c, t, how in candidates:
        key = f"{t.kind}:{t.name}"
        if plans[c].kind != "unplaced" or key in taken:
            continue
        taken.add(key)
        plans[c] = ColumnPlan(c, _KIND[t.kind], t.name, how, s)

    found_missing, missing_why = missing_tokens(frame, plans)
    missing = {"", *found_missing}
    for c in columns:
        plan = plans[c]
        found = counts(frame[c], missing)
        if plan.kind == "unplaced":
            group, share = best_group(found, schema)
            if group is not None and share >= 0.5 and f"group:{group.name}" not in taken:
                taken.add(f"group:{group.name}")
                how = f"values are labels of {group.name}"
                plans[c] = plan = ColumnPlan(c, "multi", group.name, how, share)
        _fill(plan, found, schema, len(frame))
        if plan.kind == "multi" and not any(v.status == "entry" for v in plan.values):
            plan.notes.append(f"TODO: map these labels to flags of {plan.target}, then move the "
                              "commented `multi` entry below into effect")  # fmt: skip
            plan.kind, plan.extra["group"] = "unplaced", plan.target
    _check_age(plans)
    _same_separator(list(plans.values()))

    data_source, why = _guess_data_source(org, path)
    scaffold = Scaffold(org, path, source, len(raw.frame), [plans[c] for c in columns],
                        source_notes or [], data_source, why,
                        most_rows_first(found_missing), missing_why=missing_why)  # fmt: skip
    scaffold.text = render(scaffold, schema)
    return scaffold


def _fill(plan: ColumnPlan, found: Counter[str], schema: Schema, rows: int) -> None:
    """Notes and values of one placed column, by what it became."""
    if plan.kind == "case_id":
        dup = sum(n - 1 for n in found.values() if n > 1)
        empty = rows - sum(found.values())
        plan.notes.append(f"{len(found):,} distinct ids" + (f", {dup:,} repeated" if dup else "")
                          + (f", {empty:,} empty" if empty else ""))  # fmt: skip
    elif plan.kind == "age":
        bad = sum(n for v, n in found.items() if not re.fullmatch(r"\d{1,3}", v))
        if bad:
            plan.notes.append(f"{bad:,} rows are not whole numbers of years")
    elif plan.kind == "birth_date":
        date_plan(plan, found, "birth_date_format")
    elif plan.kind == "multi":
        multi_plan(plan, found, schema.groups[plan.target])
    elif plan.kind == "field":
        f = schema[plan.target]
        if f.name == "year_of_registration":
            date_plan(plan, found, "date_format")
        elif f.type == "country":
            country_plan(plan, found)
        elif f.type in ("category", "boolean"):
            category_plan(plan, found, f)
        elif f.type == "integer":
            bad = sum(n for v, n in found.items() if not re.fullmatch(r"-?\d+", v))
            if bad:
                plan.notes.append(f"{bad:,} rows are not whole numbers")


def _same_separator(plans: list[ColumnPlan]) -> None:
    """A multi column whose cells show no separator takes the one its siblings use."""
    multi = [p for p in plans if "separator" in p.extra]
    seen = Counter(p.extra["separator"] for p in multi if p.extra["separator"] in p.separators_seen)
    if not seen:
        return
    usual = seen.most_common(1)[0][0]
    for p in multi:
        if not p.separators_seen & {p.extra["separator"], usual}:  # same labels either way
            p.extra["separator"] = usual


def _check_age(plans: dict[str, ColumnPlan]) -> None:
    """One age source: an age column wins; a birth date needs a registration date format."""
    ages = [p for p in plans.values() if p.kind == "age"]
    births = [p for p in plans.values() if p.kind == "birth_date"]
    reg = next((p for p in plans.values() if p.kind == "field"
                and p.target == "year_of_registration"), None)  # fmt: skip
    for i, p in enumerate(births):
        usable = not ages and i == 0 and "birth_date_format" in p.extra
        if usable and reg is not None and "date_format" in reg.extra:
            continue
        p.kind, p.how = "drop", f"a birth date ({p.how}), not used for the age"
        if not ages and i == 0:
            p.notes.append(
                "TODO: the age could come from this birth date, given a registration "
                "*date* with its date_format (see docs/mapping.md)"
            )


def _guess_data_source(org: str, path: Path) -> tuple[str, str]:
    """Hotline when the org id or file name says so, else Case Management (a TODO)."""
    hint = (set(words(org)) | set(words(path.stem))) & vocabulary().hotline_words
    if hint:
        return "Hotline", f"the name says {sorted(hint)[0]!r}"
    return "Case Management", "TODO: guessed; Hotline for a hotline's call records"
