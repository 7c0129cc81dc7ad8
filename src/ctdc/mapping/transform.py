"""Apply a mapping to one all-text chunk: typed schema columns (Arrow) plus cell errors.

Everything is vectorized over columns, and every rule that needs Python
(vocabulary normalization, country names, ``pd.to_datetime`` with a format,
``pd.to_numeric``) runs once per *distinct* value of a column, not once per
row: a column is dictionary-encoded (``pyarrow.compute.dictionary_encode``),
the rule computes one result per distinct value, and the per-row column is a
``take`` of those results by the row's dictionary index. Exports repeat their
values (codes, flags, dates, ages), so a chunk of 100,000 rows typically needs
a few hundred Python calls per column instead of 100,000. Results are the same
as row by row, since every rule is a function of the cell's trimmed text.

A value that cannot be translated becomes null in the typed column and one row
in the error frame (position, source column, field, reason slug, value,
expected), from which ingest quarantines the whole source row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctdc.errors import CtdcError
from ctdc.formats.chunk import TEXT
from ctdc.mapping.countries import country_lookup
from ctdc.mapping.helpers import is_helper
from ctdc.mapping.spec import BOOLEAN_WORDS, EXCEL_SERIAL, FieldRule, Mapping, normalize
from ctdc.row_errors import RowErrors, joined, row_errors
from ctdc.schema import Field, Schema, expected_text

if TYPE_CHECKING:
    from ctdc.formats.hints import HeaderHint

MAX_AGE = 120
ADULT_AGE = 18
INT16 = (-(2**15), 2**15 - 1)


class _NoMatch:
    def __repr__(self) -> str:
        return "<no match>"


_NOMATCH = _NoMatch()


@dataclass(frozen=True)
class Text:
    """One source column of a chunk, trimmed: its distinct values and each row's index into them.

    ``missing`` is per distinct value: the trimmed text is one of the mapping's
    "not recorded" tokens.
    """

    values: np.ndarray  # object array of str, one per distinct (untrimmed) source value
    index: np.ndarray  # per row: position in ``values``
    missing: np.ndarray  # per distinct value: bool

    @property
    def size(self) -> int:
        return len(self.values)

    def rows(self, per_value: np.ndarray) -> np.ndarray:
        """A per-distinct-value array spread to the rows."""
        return per_value[self.index]

    def row_missing(self) -> np.ndarray:
        return self.missing[self.index]


def _text(table: pa.Table, column: str, mapping: Mapping, cache: dict[str, Text]) -> Text:
    """Trimmed text of ``column`` as distinct values, and which of them mean "not recorded"."""
    if column not in cache:
        arr = table.column(column)
        if arr.null_count:
            arr = pc.fill_null(arr, "")
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        enc = pc.dictionary_encode(arr)
        # the same trim as pandas' ``str.strip()`` on Arrow-backed text
        values = np.array(pc.utf8_trim_whitespace(enc.dictionary).to_pylist(), dtype=object)
        missing = np.fromiter((v in mapping.missing for v in values), bool, len(values))
        cache[column] = Text(values, enc.indices.to_numpy(zero_copy_only=False), missing)
    return cache[column]


@dataclass
class Mapped:
    """The typed columns (schema fields, null where unknown or bad) and the cell errors."""

    n: int
    columns: dict[str, pa.Array] = field(default_factory=dict)
    errors: list[RowErrors] = field(default_factory=list)
    case_id: Text | None = None

    def error(
        self, mask: np.ndarray, column: str, fld: str, reason: str, text: Text, expected: str
    ) -> None:
        """Record one error for every row where ``mask`` holds; the value is the row's text."""
        pos = np.flatnonzero(mask)
        if not len(pos):
            return
        self.errors.append(
            row_errors(
                pos,
                column=column,
                field=fld,
                reason=reason,
                value=text.values[text.index[pos]],
                expected=expected,
            )
        )

    def error_frame(self) -> RowErrors:
        return joined(self.errors)


def _lookup(text: Text, pending: np.ndarray, table: dict[str, Any]) -> tuple[list[Any], np.ndarray]:
    """Normalized text -> ``table`` for the pending distinct values; (results, unmatched)."""
    results: list[Any] = [None] * text.size
    unmatched = np.zeros(text.size, dtype=bool)
    for j in np.flatnonzero(pending):
        value = table.get(normalize(text.values[j]), _NOMATCH)
        if value is _NOMATCH:
            unmatched[j] = True
        else:
            results[j] = value
    return results, unmatched


def _series(text: Text, which: np.ndarray) -> pd.Series:
    """The distinct values at ``which`` as the Arrow-backed text the readers produce."""
    return pd.Series(pd.array(list(text.values[which]), dtype=TEXT))


def _parse_dates(
    text: Text, pending: np.ndarray, formats: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct value: the date (NaT unless pending and valid) and whether it is bad.

    The formats are tried in order; a value takes the first that parses it.
    """
    dates = np.full(text.size, np.datetime64("NaT"), dtype="datetime64[ns]")
    left = pending.copy()
    for fmt in formats:
        which = np.flatnonzero(left)
        if not len(which):
            break
        values = _series(text, which)
        if fmt == EXCEL_SERIAL:
            parsed = excel_serial_dates(values)
        else:
            parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        ok = parsed.notna().to_numpy()
        dates[which[ok]] = parsed[ok].to_numpy(dtype="datetime64[ns]")
        left[which[ok]] = False
    return dates, left


def excel_serial_dates(values: pd.Series) -> pd.Series:
    """Spreadsheet serial day numbers (Excel's 1900 system) as dates, NaT where not one.

    Day 1 is 1900-01-01; Excel counts a 29 February 1900 that never was (day 60), so
    from day 61 on the origin is 1899-12-30. A fraction is the time of day: dropped.
    """
    days = np.floor(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan))
    ok = (days >= 1) & (days <= 2_958_465) & (days != 60)  # up to 9999-12-31
    origin = np.where(days < 60, np.datetime64("1899-12-31"), np.datetime64("1899-12-30"))
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[ns]")
    out[ok] = origin[ok] + days[ok].astype("timedelta64[D]")
    return pd.Series(out, index=values.index)


def _date_words(formats: tuple[str, ...]) -> str:
    """What the error says was expected: ``a date like %d/%m/%Y or an Excel serial day``."""
    names = ["an Excel serial day number" if f == EXCEL_SERIAL else f for f in formats]
    return "a date like " + " or ".join(names)


def _years_words(f: Field) -> str:
    """What a date outside its field's years should be: ``a date in a year from 2002 to 2026``."""
    if f.min is not None and f.max is not None:
        return f"a date in a year from {f.min} to {f.max}"
    return f"a date in {f.min} or later" if f.min is not None else f"a date in {f.max} or before"


def _numbers(text: Text, pending: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """``pd.to_numeric`` of the pending distinct values (NaN elsewhere), and their positions."""
    which = np.flatnonzero(pending)
    numbers = pd.to_numeric(_series(text, which), errors="coerce") if len(which) else None
    return numbers, which


def _typed(per_value: list[Any], text: Text, f: Field) -> pa.Array:
    return pa.array(per_value, type=f.arrow_type).take(pa.array(text.index))


def _constant(value: Any, n: int, f: Field) -> pa.Array:
    if value is None:
        return pa.nulls(n, type=f.arrow_type)
    return pa.repeat(pa.scalar(value, type=f.arrow_type), n)


def _map_field(table: pa.Table, rule: FieldRule, f: Field, mapping: Mapping, out: Mapped,
               reg_dates: dict[str, np.ndarray], cache: dict[str, Text]) -> pa.Array:  # fmt: skip
    if rule.column is None:
        return _constant(rule.value, out.n, f)
    col = rule.column
    text = _text(table, col, mapping, cache)
    result: list[Any] = [None] * text.size
    pending = ~text.missing  # distinct values still to translate
    if rule.values is not None:
        mapped, unmatched = _lookup(text, pending, rule.values)
        hit = pending & ~unmatched
        for j in np.flatnonzero(hit):
            result[j] = mapped[j]  # may be None: the vocabulary says "unknown"
        pending &= ~hit
    if f.type == "country":
        mapped, bad = _lookup(text, pending, country_lookup(rule.country or "alpha2",
                                                            rule.language))  # fmt: skip
        for j in np.flatnonzero(pending):
            result[j] = mapped[j]
        out.error(text.rows(bad), col, f.name, "unknown-country", text, expected_text(f))
    elif rule.date_format:
        dates, bad = _parse_dates(text, pending, rule.date_format)
        years = pd.DatetimeIndex(dates).year
        # a date outside the field's years is set aside here, with the date as written, rather
        # than by the contract, which sees the year alone; and it must not reach the age from
        # a birth date, whose error would then name the birth-date column (issue 13)
        early = years < f.min if f.min is not None else np.zeros(text.size, dtype=bool)
        late = years > f.max if f.max is not None else np.zeros(text.size, dtype=bool)
        outside = pending & ~bad & (np.asarray(early) | np.asarray(late))
        dates[outside] = np.datetime64("NaT")
        reg_dates[f.name] = text.rows(dates)
        for j in np.flatnonzero(pending & ~bad & ~outside):
            result[j] = int(years[j])
        out.error(text.rows(bad), col, f.name, "bad-date", text, _date_words(rule.date_format))
        out.error(text.rows(outside), col, f.name, "out-of-range", text, _years_words(f))
    elif f.type == "integer":
        numbers, which = _numbers(text, pending)
        bad = np.zeros(text.size, dtype=bool)
        if numbers is not None:
            # masked arithmetic: ``inf % 1`` is NA, neither whole nor an error (a null)
            whole = numbers.notna() & (numbers % 1 == 0)
            bad[which[(~whole).fillna(False).to_numpy(dtype=bool)]] = True
            ok = whole.fillna(False).to_numpy(dtype=bool)
            for j, x in zip(which[ok], numbers[ok], strict=True):
                result[j] = int(x)
        out.error(text.rows(bad), col, f.name, "bad-number", text, expected_text(f))
    elif f.type in ("category", "boolean"):
        table_ = BOOLEAN_WORDS if f.type == "boolean" else {normalize(v): v for v in f.values}
        mapped, bad = _lookup(text, pending, table_)
        for j in np.flatnonzero(pending):
            result[j] = mapped[j]
        out.error(text.rows(bad), col, f.name, "unknown-value", text, expected_text(f))
    else:
        for j in np.flatnonzero(pending):
            result[j] = text.values[j]
    if f.type == "integer":
        # a whole number the staged int16 cannot hold is out of any range the schema allows
        huge = np.array([v is not None and not INT16[0] <= v <= INT16[1] for v in result], bool)
        if huge.any():
            for j in np.flatnonzero(huge):
                result[j] = None
            out.error(text.rows(huge), col, f.name, "out-of-range", text, expected_text(f))
    if rule.default is not None:  # the mapping says what a missing cell means
        for j in np.flatnonzero(text.missing):
            result[j] = rule.default
    elif f.required:
        out.error(text.row_missing(), col, f.name, "missing-required", text, expected_text(f))
    return _typed(result, text, f)


def _ages(table: pa.Table, mapping: Mapping, out: Mapped, reg_dates: dict[str, np.ndarray],
          cache: dict[str, Text]) -> np.ndarray:  # fmt: skip
    """Age in whole years at registration per row (float, NaN = unknown), with its errors.

    An age from a birth date is computed only against a possible registration
    date (``reg_dates`` is NaT where :func:`_map_field` found it out of range and
    named its column), so a wrong registration date is never blamed on the
    birth-date column. A birth after a possible registration names the
    birth-date column and says which registration column it was compared with.
    """
    age = mapping.age
    assert age is not None
    expected = f"an age from 0 to {MAX_AGE}"
    if age.column:
        col = age.column
        text = _text(table, col, mapping, cache)
        numbers, which = _numbers(text, ~text.missing)
        per_value = np.full(text.size, np.nan)
        if numbers is not None:
            per_value[which] = numbers.to_numpy(dtype=float, na_value=np.nan)
        bad = ~text.missing & np.isnan(per_value)
        out.error(text.rows(bad), col, "age_band", "bad-number", text, "an age in whole years")
        years = pd.Series(text.rows(per_value))
    else:
        col = str(age.birth_date)
        text = _text(table, col, mapping, cache)
        formats = age.birth_date_format or ()
        births_v, bad = _parse_dates(text, ~text.missing, formats)
        out.error(text.rows(bad), col, "age_band", "bad-date", text, _date_words(formats))
        reg = pd.Series(reg_dates["year_of_registration"]).dt
        births = pd.Series(text.rows(births_v)).dt
        years = (reg.year - births.year) - (
            (reg.month * 100 + reg.day) < (births.month * 100 + births.day)
        ).astype(float)
        years = years.astype(float)
        reg_col = mapping.fields["year_of_registration"].column
        expected = (f"a birth date on or before the registration date (column {reg_col!r}), "
                    f"at most {MAX_AGE} years before it")  # fmt: skip
    out_of_range = ((years < 0) | (years > MAX_AGE)).to_numpy(dtype=bool)
    out.error(out_of_range, col, "age_band", "out-of-range", text, expected)
    return years.where(~out_of_range).to_numpy(dtype=float)


def _age_band(years: np.ndarray, f: Field) -> pa.Array:
    edges = [lo for lo, _ in f.bands] + [np.inf]
    bands = pd.cut(years, bins=edges, right=False, labels=list(f.values))
    return pa.array(np.asarray(bands.astype(object)), type=pa.string(), from_pandas=True)


def _majority(years: np.ndarray) -> pa.Array:
    status = np.where(years >= ADULT_AGE, "Adult", "Minor").astype(object)
    return pa.array(status, type=pa.string(), mask=np.isnan(years))


def _map_multi(table: pa.Table, mapping: Mapping, schema: Schema, out: Mapped,
               cache: dict[str, Text]) -> None:  # fmt: skip
    for rule in mapping.multi:
        text = _text(table, rule.column, mapping, cache)
        recorded = np.flatnonzero(~text.missing)
        # labels of every recorded distinct value, split and trimmed as pandas would
        split = [str(text.values[j]).split(rule.separator) for j in recorded]
        labels = pc.utf8_trim_whitespace(pa.array([p for parts in split for p in parts],
                                                  type=pa.string())).to_pylist()  # fmt: skip
        flag_of = {u: rule.values.get(normalize(u)) for u in dict.fromkeys(labels)}
        flags: list[set[str]] = [set() for _ in range(text.size)]
        bad_labels: list[list[str]] = [[] for _ in range(text.size)]
        at = 0
        for j, parts in zip(recorded, split, strict=True):
            for label in labels[at : at + len(parts)]:
                if label == "":
                    continue
                flag = flag_of[label]
                if flag is None:
                    bad_labels[j].append(label)
                else:
                    flags[j].add(flag)
            at += len(parts)
        n_bad = np.fromiter((len(b) for b in bad_labels), np.int64, text.size)
        rows_bad = np.flatnonzero(text.rows(n_bad))
        if len(rows_bad):
            per_row = text.index[rows_bad]
            pos = np.repeat(rows_bad, n_bad[per_row])
            values = [label for j in per_row for label in bad_labels[j]]
            out.errors.append(row_errors(
                pos, column=rule.column, field=rule.group, reason="unknown-value",
                value=np.array(values, dtype=object),
                expected="one of: " + ", ".join(sorted(rule.values)),
            ))  # fmt: skip
        for spec in schema.groups[rule.group].flags:
            per_value = [None if text.missing[j] else spec.name in flags[j]
                         for j in range(text.size)]  # fmt: skip
            out.columns[spec.name] = pa.array(per_value, type=pa.bool_()).take(pa.array(text.index))


def check_columns(
    names: list[str],
    mapping: Mapping,
    explain: Callable[[list[str]], HeaderHint | None] | None = None,
) -> None:
    """Every column the mapping needs is there, and every column is named in the mapping.

    One error names every such column, the missing ones first (the slug is
    ``missing-column`` then), so the mapping is fixed in one round.
    ``explain`` (``ctdc.formats.hints.header_hint`` of the file) says, when it
    can, that the header itself was misread (a wrong sheet or delimiter): the
    error then says how it was read and which ``source:`` setting to change,
    instead of listing the misread header as unmapped columns.
    """
    missing_cols = sorted(c for c in mapping.required_columns() if c not in names)
    # ctdc's own helper columns (a corrected quarantine export) are skipped, never mapped
    unmapped = [c for c in names if c not in mapping.used_columns() and not is_helper(c)]
    also = f"; also not named in the mapping: {_names(unmapped)}" if unmapped else ""
    if missing_cols:
        hint = explain(missing_cols) if explain is not None else None
        if hint is not None:
            raise CtdcError("missing-column", f"the file has no column {_names(missing_cols)}; "
                            f"{hint.detail}", column=missing_cols[0],
                            fix=f"{hint.fix} in {mapping.path}")  # fmt: skip
        raise CtdcError("missing-column", f"the file has no column {_names(missing_cols)}{also}",
                        column=missing_cols[0])  # fmt: skip
    if unmapped:
        what = "column {} is" if len(unmapped) == 1 else f"{len(unmapped)} columns {{}} are"
        raise CtdcError("unmapped-column", what.format(_names(unmapped)) + " not named in the "
                        "mapping", column=unmapped[0])  # fmt: skip


def _names(columns: list[str]) -> str:
    return ", ".join(map(repr, columns))


def apply_mapping(table: pa.Table, mapping: Mapping, schema: Schema) -> Mapped:
    """Translate one all-text chunk into the schema's typed, mappable fields.

    Duplicate case ids are not looked for here: they span chunks, so ingest
    finds them (``ctdc.ingest.dedup``) from ``Mapped.case_id``.
    """
    check_columns(table.column_names, mapping)
    n = table.num_rows
    out = Mapped(n)
    cache: dict[str, Text] = {}
    mappable = [f for f in schema.fields if f.role not in ("internal", "direct_identifier")]
    reg_dates: dict[str, np.ndarray] = {}
    for f in mappable:
        if f.name == "data_source":
            out.columns[f.name] = _constant(mapping.data_source, n, f)
        elif f.name in mapping.fields:
            try:
                out.columns[f.name] = _map_field(table, mapping.fields[f.name], f, mapping, out,
                                                 reg_dates, cache)  # fmt: skip
            except ValueError as exc:
                raise CtdcError(
                    "bad-mapping", f"fields.{f.name}: {exc}", file=mapping.path
                ) from exc
        else:
            out.columns[f.name] = pa.nulls(n, type=f.arrow_type)
    if mapping.age is not None:
        years = _ages(table, mapping, out, reg_dates, cache)
        if "age_band" not in mapping.fields:
            out.columns["age_band"] = _age_band(years, schema["age_band"])
        if "majority_status" not in mapping.fields:
            out.columns["majority_status"] = _majority(years)
    _map_multi(table, mapping, schema, out, cache)

    ids = _text(table, mapping.case_id, mapping, cache)
    out.error(ids.row_missing(), mapping.case_id, "case_id", "missing-required", ids, "a case id")
    out.case_id = ids
    return out
