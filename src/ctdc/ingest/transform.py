"""Apply a mapping to an all-text export: typed schema columns plus cell errors.

Everything is vectorized over columns: vocabularies are normalized once per
*distinct* source value and then mapped, dates go through one
``pd.to_datetime`` call per column. A value that cannot be translated becomes
NA in the typed frame and one row in the error frame (position, source
column, field, reason slug, value, expected), from which ingest quarantines
the whole source row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ctdc.errors import CtdcError
from ctdc.ingest.countries import country_lookup
from ctdc.ingest.mapping import BOOLEAN_WORDS, FieldRule, Mapping, normalize
from ctdc.schema import Field, Schema, expected_text

ERROR_COLUMNS = ["pos", "column", "field", "reason", "value", "expected"]
MAX_AGE = 120
ADULT_AGE = 18


@dataclass
class Mapped:
    """The typed frame (schema fields, NA where unknown or bad) and its cell errors."""

    frame: pd.DataFrame
    errors: list[pd.DataFrame] = field(default_factory=list)
    case_id: pd.Series | None = None

    def error(self, mask: pd.Series, column: str, fld: str, reason: str, values: pd.Series,
              expected: str) -> None:  # fmt: skip
        """Record one error for every row where ``mask`` holds."""
        mask = mask.fillna(False).to_numpy(dtype=bool)
        if not mask.any():
            return
        pos = np.flatnonzero(mask)
        self.errors.append(
            pd.DataFrame(
                {
                    "pos": pos,
                    "column": column,
                    "field": fld,
                    "reason": reason,
                    "value": values.to_numpy(dtype=object)[pos].astype(str),
                    "expected": expected,
                }
            )
        )

    def error_frame(self) -> pd.DataFrame:
        if not self.errors:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "pos" else object)
                                 for c in ERROR_COLUMNS})  # fmt: skip
        return pd.concat(self.errors, ignore_index=True)


def _clean(raw: pd.DataFrame, column: str, mapping: Mapping) -> tuple[pd.Series, pd.Series]:
    """Trimmed text of ``column`` and the mask of cells meaning "not recorded"."""
    text = raw[column].fillna("").str.strip()
    return text, text.isin(list(mapping.missing))


def _translate(
    text: pd.Series, missing: pd.Series, table: dict[str, Any]
) -> tuple[pd.Series, pd.Series]:
    """Map normalized text through ``table``; return (values, unmatched mask).

    Normalization runs once per distinct value, not once per row.
    """
    uniques = pd.unique(text[~missing])
    lookup = {u: table.get(normalize(u), _NOMATCH) for u in uniques}
    mapped = text.map(lookup).where(~missing, None)
    unmatched = mapped.map(lambda v: v is _NOMATCH).astype(bool)
    return mapped.where(~unmatched, None), unmatched


class _NoMatch:
    def __repr__(self) -> str:
        return "<no match>"


_NOMATCH = _NoMatch()


def _parse_dates(text: pd.Series, missing: pd.Series, fmt: str) -> tuple[pd.Series, pd.Series]:
    dates = pd.to_datetime(text.where(~missing, None), format=fmt, errors="coerce")
    return dates, dates.isna() & ~missing


def _typed(values: pd.Series, f: Field) -> pd.Series:
    return pd.array(values.astype(object).where(values.notna(), None), dtype=f.pandas_dtype)


def _map_field(raw: pd.DataFrame, rule: FieldRule, f: Field, mapping: Mapping, out: Mapped,
               reg_dates: dict[str, pd.Series]) -> pd.Series:  # fmt: skip
    n = len(raw)
    if rule.column is None:
        return pd.Series(pd.array([rule.value] * n, dtype=f.pandas_dtype))
    col = rule.column
    text, missing = _clean(raw, col, mapping)
    result = pd.Series([None] * n, dtype=object)
    pending = ~missing  # cells still to translate
    if rule.values is not None:
        mapped, unmatched = _translate(text, ~pending, rule.values)
        hit = pending & ~unmatched
        result = result.where(~hit, mapped)
        pending &= ~hit
    if f.type == "country":
        table = country_lookup(rule.country or "alpha2", rule.language)
        mapped, bad = _translate(text.where(pending, ""), ~pending, table)
        result = result.where(~pending, mapped)
        out.error(bad, col, f.name, "unknown-country", text, expected_text(f))
    elif rule.date_format:
        dates, bad = _parse_dates(text.where(pending, ""), ~pending, rule.date_format)
        reg_dates[f.name] = dates
        result = result.where(~pending, dates.dt.year.astype(object))
        out.error(bad, col, f.name, "bad-date", text, f"a date like {rule.date_format}")
    elif f.type == "integer":
        numbers = pd.to_numeric(text.where(pending, None), errors="coerce")
        whole = numbers.notna() & (numbers % 1 == 0)
        result = result.where(~pending, numbers.where(whole).astype(object))
        out.error(pending & ~whole, col, f.name, "bad-number", text, expected_text(f))
    elif f.type in ("category", "boolean"):
        table = BOOLEAN_WORDS if f.type == "boolean" else {normalize(v): v for v in f.values}
        mapped, bad = _translate(text.where(pending, ""), ~pending, table)
        result = result.where(~pending, mapped)
        out.error(bad, col, f.name, "unknown-value", text, expected_text(f))
    else:
        result = result.where(~pending, text)
    if f.required:
        out.error(missing, col, f.name, "missing-required", text, expected_text(f))
    return pd.Series(pd.array(result.where(result.notna(), None), dtype=f.pandas_dtype))


def _ages(
    raw: pd.DataFrame, mapping: Mapping, out: Mapped, reg_dates: dict[str, pd.Series]
) -> pd.Series:
    """Age in whole years at registration (float, NaN = unknown), with its errors."""
    age = mapping.age
    assert age is not None
    if age.column:
        text, missing = _clean(raw, age.column, mapping)
        years = pd.to_numeric(text.where(~missing, None), errors="coerce")
        bad = ~missing & years.isna()
        out.error(bad, age.column, "age_band", "bad-number", text, "an age in whole years")
        col = age.column
    else:
        col = str(age.birth_date)
        text, missing = _clean(raw, col, mapping)
        births, bad = _parse_dates(text, missing, str(age.birth_date_format))
        out.error(bad, col, "age_band", "bad-date", text, f"a date like {age.birth_date_format}")
        reg = reg_dates["year_of_registration"]
        years = (reg.dt.year - births.dt.year) - (
            (reg.dt.month * 100 + reg.dt.day) < (births.dt.month * 100 + births.dt.day)
        ).astype(float)
        years = years.astype(float)
    out_of_range = (years < 0) | (years > MAX_AGE)
    out.error(out_of_range, col, "age_band", "out-of-range", text,
              f"an age from 0 to {MAX_AGE} (birth before registration)")  # fmt: skip
    return years.where(~out_of_range).astype(float).reset_index(drop=True)


def _age_band(years: pd.Series, f: Field) -> pd.Series:
    edges = [lo for lo, _ in f.bands] + [np.inf]
    bands = pd.cut(years, bins=edges, right=False, labels=list(f.values))
    return pd.Series(pd.array(bands.astype(object).where(bands.notna(), None), dtype="string"))


def _map_multi(raw: pd.DataFrame, mapping: Mapping, schema: Schema, out: Mapped) -> None:
    for rule in mapping.multi:
        text, missing = _clean(raw, rule.column, mapping)
        parts = text.where(~missing, None).str.split(rule.separator, regex=False).explode()
        parts = parts.dropna().str.strip()
        parts = parts[parts != ""]
        pos = parts.index.to_numpy()
        flags = parts.map({u: rule.values.get(normalize(u)) for u in pd.unique(parts)})
        bad = flags.isna().to_numpy()
        if bad.any():
            out.errors.append(pd.DataFrame({
                "pos": pos[bad], "column": rule.column, "field": rule.group,
                "reason": "unknown-value", "value": parts.to_numpy(dtype=object)[bad].astype(str),
                "expected": "one of: " + ", ".join(sorted(rule.values)),
            }))  # fmt: skip
        recorded = (~missing).to_numpy()
        for flag in schema.groups[rule.group].flags:
            hit = np.zeros(len(raw), dtype=bool)
            hit[pos[(flags == flag.name).to_numpy()]] = True
            values = np.where(recorded, hit, False)
            out.frame[flag.name] = pd.array(values, dtype="boolean")
            out.frame.loc[~recorded, flag.name] = pd.NA


def apply_mapping(raw: pd.DataFrame, mapping: Mapping, schema: Schema) -> Mapped:
    """Translate ``raw`` (all text) into the schema's typed, mappable fields."""
    raw = raw.reset_index(drop=True)
    missing_cols = sorted(c for c in mapping.required_columns() if c not in raw.columns)
    if missing_cols:
        raise CtdcError("missing-column", f"the file has no column {missing_cols[0]!r}",
                        column=missing_cols[0])  # fmt: skip
    unmapped = [c for c in raw.columns if c not in mapping.used_columns()]
    if unmapped:
        raise CtdcError("unmapped-column", f"column {unmapped[0]!r} is not named in the mapping",
                        column=unmapped[0])  # fmt: skip
    out = Mapped(frame=pd.DataFrame(index=pd.RangeIndex(len(raw))))
    mappable = [f for f in schema.fields if f.role not in ("internal", "direct_identifier")]
    reg_dates: dict[str, pd.Series] = {}
    for f in mappable:
        if f.name == "data_source":
            out.frame[f.name] = pd.array([mapping.data_source] * len(raw), dtype="string")
        elif f.name in mapping.fields:
            try:
                out.frame[f.name] = _map_field(raw, mapping.fields[f.name], f, mapping, out,
                                               reg_dates)  # fmt: skip
            except ValueError as exc:
                raise CtdcError(
                    "bad-mapping", f"fields.{f.name}: {exc}", file=mapping.path
                ) from exc
        else:
            out.frame[f.name] = pd.array([None] * len(raw), dtype=f.pandas_dtype)
    if mapping.age is not None:
        years = _ages(raw, mapping, out, reg_dates)
        if "age_band" not in mapping.fields:
            out.frame["age_band"] = _age_band(years, schema["age_band"])
        if "majority_status" not in mapping.fields:
            status = np.where(years >= ADULT_AGE, "Adult", "Minor")
            out.frame["majority_status"] = pd.array(
                pd.Series(status).where(years.notna(), None), dtype="string"
            )
    _map_multi(raw, mapping, schema, out)

    ids, missing = _clean(raw, mapping.case_id, mapping)
    out.error(missing, mapping.case_id, "case_id", "missing-required", ids, "a case id")
    dup = ids.duplicated(keep="first") & ~missing
    out.error(dup, mapping.case_id, "case_id", "duplicate-case-id", ids,
              "each case id once per export")  # fmt: skip
    out.case_id = ids
    return out
