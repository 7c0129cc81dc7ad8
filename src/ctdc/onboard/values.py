"""A mapped column's values: which the schema reads as they are, which need an entry, which a TODO.

Only what is sure gets an entry (a word of the language lists with one
meaning, a yes/no word, a value that differs from a schema value in
punctuation only, a label that is a flag's); everything else is a commented
line: ``# value: Suggested`` where there is a likely target (uncommented, it is
that entry), ``# value: TODO`` where there is none (uncommented, the mapping
loader refuses it), because a wrong entry would file records under the wrong
category without a single error, while a TODO quarantines them visibly. Words
for unknown go to ``missing:`` (:mod:`ctdc.onboard.missing`), and are entries to
null only where a multi-value column keeps them out of it.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter

import numpy as np
import pandas as pd

from ctdc.mapping.countries import country_lookup
from ctdc.mapping.spec import BOOLEAN_WORDS, EXCEL_SERIAL, normalize
from ctdc.mapping.transform import excel_serial_dates
from ctdc.onboard.matching import SEPARATORS, alnum, flag_keys, label_flag, split_labels
from ctdc.onboard.plan import ColumnPlan, ValueNote
from ctdc.onboard.vocabulary import vocabulary
from ctdc.schema import Field, Group

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d",
                "%d/%m/%y", "%m/%d/%y", "%Y%m%d", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S")  # fmt: skip
COUNTRY_LANGUAGES = ("en", "es", "fr", "pt", "de", "it", "nl")
#: the languages whose word lists give a value its meaning
Languages = tuple[str, ...]
#: why a word for unknown is a column's entry and not in ``missing:``
_HELD = "a word for unknown; not in `missing:`, where a multi-value column would lose it"


def counts(series: pd.Series, missing: set[str]) -> Counter[str]:
    """Rows of each distinct value of a column, stripped, tokens for "not recorded" left out."""
    text = series.fillna("").astype(str).str.strip()
    text = text[~text.isin(list(missing))]
    return Counter({str(k): int(v) for k, v in text.value_counts(sort=False).items()})


def most_rows_first(found: Counter[str]) -> list[tuple[str, int]]:
    """Values with their rows, most rows first, then by value: a stable order to write."""
    return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))


def spellings(found: Counter[str]) -> list[tuple[str, int, list[str]]]:
    """Values that a vocabulary cannot tell apart (case, accents, spaces) as one:
    (most frequent spelling, rows of all spellings, the other spellings), most rows first."""
    groups: dict[str, list[tuple[str, int]]] = {}
    for value, n in most_rows_first(found):
        groups.setdefault(normalize(value), []).append((value, n))
    out = [(g[0][0], sum(n for _, n in g), [v for v, _ in g[1:]]) for g in groups.values()]
    return sorted(out, key=lambda x: (-x[1], x[0]))


def category_plan(plan: ColumnPlan, found: Counter[str], f: Field) -> None:
    """The entries and TODOs of a category or boolean column (values the schema reads as
    they are need neither).

    A word with one meaning in every language (``Feminino``, ``Homme``) gets an
    entry. A word with several (``M``: *Masculino*, or *Mujer* in an H/M export)
    takes the one meaning that no other value of the column already has
    (``F`` present: ``M`` is Male), else it stays a TODO that names both: a
    wrong entry would file records under the wrong category without an error.
    """
    notes: list[ValueNote] = []
    meanings: dict[str, dict[str, Languages]] = {}
    for value, n, also in spellings(found):
        note, options = _category_target(value, n, f)
        note.also = also
        notes.append(note)
        if len(options) > 1:
            meanings[value] = options
    taken: dict[str, str] = {}  # schema value -> the source value that says it
    for note in notes:
        if note.status != "todo" and note.target:
            taken.setdefault(note.target, note.value)
    for note in notes:
        if note.value not in meanings:
            continue
        options = meanings[note.value]
        said = "; ".join(f"{t} ({', '.join(langs)})" for t, langs in options.items())
        free = [t for t in options if t not in taken]
        if len(free) == 1:
            others = ", ".join(f"{taken[t]!r} is {t}" for t in options if t in taken)
            note.target, note.status = free[0], "entry"
            note.why = f"{note.value!r} is {said}; {others} here"
        else:
            note.why = f"{note.value!r} is {said}: check which one this export means"
    plan.values = [v for v in notes if v.status != "default"]


def _category_target(value: str, n: int, f: Field) -> tuple[ValueNote, dict[str, Languages]]:
    """What ``f`` makes of ``value``, and the schema values it may mean (when several)."""
    vocab = vocabulary()
    key = normalize(value)
    if f.type == "boolean" and key in BOOLEAN_WORDS:
        return ValueNote(value, n, str(BOOLEAN_WORDS[key]).lower(), "default"), {}
    if f.type == "boolean" and key in vocab.yes_no:
        return ValueNote(value, n, str(vocab.yes_no[key]).lower(), "entry", "yes/no word"), {}
    schema_value = next((v for v in f.values if normalize(v) == key), None)
    if schema_value is not None:
        return ValueNote(value, n, schema_value, status="default"), {}
    if key in vocab.unknown_words:  # not in `missing:` (see ctdc.onboard.missing)
        return ValueNote(value, n, "null", "entry", _HELD), {}
    if f.type == "boolean":
        return ValueNote(value, n), {}
    options = {t: langs for t, langs in vocab.field_values.get(f.name, {}).get(key, {}).items()
               if t in f.values}  # fmt: skip
    if len(options) == 1:
        [(target, langs)] = options.items()
        return ValueNote(value, n, target, "entry", f"{target} in {', '.join(langs)}"), {}
    if options:
        return ValueNote(value, n), options
    same = [v for v in f.values if alnum(v) and alnum(v) == alnum(value)]
    if len(same) == 1:
        return ValueNote(value, n, same[0], "entry",
                         "same as the schema value but punctuation"), {}  # fmt: skip
    initial = [v for v in f.values if len(key) == 1 and normalize(v).startswith(key)]
    close = difflib.get_close_matches(key, [normalize(v) for v in f.values], n=1, cutoff=0.6)
    if len(initial) == 1:
        return ValueNote(value, n, why="suggested: its initial", suggested=initial[0]), {}
    if close:
        target = next(v for v in f.values if normalize(v) == close[0])
        return ValueNote(value, n, why="suggested: a close spelling", suggested=target), {}
    return ValueNote(value, n), {}


def country_plan(plan: ColumnPlan, found: Counter[str]) -> None:
    """Pin the country form (code or name, language) covering most rows; note the rest."""
    vocab = vocabulary()
    total = sum(found.values()) or 1
    best: tuple[float, str, str] = (-1.0, "alpha2", "en")
    for form, language in [("alpha2", "en"), ("alpha3", "en")] + [
        ("name", lang) for lang in COUNTRY_LANGUAGES
    ]:
        try:
            table = country_lookup(form, language)
        except ValueError:
            continue
        covered = sum(n for v, n in found.items() if normalize(v) in table) / total
        if covered > best[0] + 1e-9:
            best = (covered, form, language)
    covered, form, language = best
    plan.extra["country"] = form
    if form == "name" and language != "en":
        plan.extra["language"] = language
    plan.notes.append(f"{covered:.0%} of the rows are {form} country codes"
                      if form != "name" else
                      f"{covered:.0%} of the rows are country names in {language}")  # fmt: skip
    table = country_lookup(form, language)
    names = {normalize(k) for k in table}
    for value, n, also in spellings(found):
        key = normalize(value)
        if key in table:
            continue
        if key in vocab.unknown_country_codes or key in vocab.unknown_words:
            why = "a code for unknown" if key in vocab.unknown_country_codes else _HELD
            plan.values.append(ValueNote(value, n, "null", "entry", why, also))
            continue
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.85)
        if close:
            why, suggested = f"suggested: close to {close[0]!r}", table[close[0]]
            plan.values.append(ValueNote(value, n, why=why, also=also, suggested=suggested))
        else:
            plan.values.append(ValueNote(value, n, also=also))


def date_format(found: Counter[str]) -> tuple[str | tuple[str, ...] | None, str]:
    """The format parsing most rows (with spreadsheet serial days as a second format when
    they make up the rest), or None for whole years; and a note (ambiguity...)."""
    total = sum(found.values())
    if total and all(re.fullmatch(r"\d{4}", v) for v in found):
        return None, "whole years"
    values = pd.Series(list(found), dtype=object)
    weights = np.array([found[v] for v in values])
    parsed = {
        fmt: pd.to_datetime(values, format=fmt, errors="coerce").notna().to_numpy()
        for fmt in DATE_FORMATS
    }
    serial = values.str.fullmatch(r"\d{5}(\.\d+)?").fillna(False).to_numpy(dtype=bool)
    parsed[EXCEL_SERIAL] = serial & excel_serial_dates(values).notna().to_numpy()
    score = {fmt: int(weights[ok].sum()) for fmt, ok in parsed.items()}
    best = max(parsed, key=lambda f: score[f])  # first of the best: day first, serials last
    if not total or score[best] == 0:
        return None, "TODO: no date format parses these values; set date_format"
    note = f"parses {score[best]:,} of {total:,} rows"
    fmt: str | tuple[str, ...] = best
    # dates typed as text in some rows, left as serial day numbers in others: both formats
    rest = {f: int(weights[ok & ~parsed[best]].sum()) for f, ok in parsed.items()}
    second = max(parsed, key=lambda f: rest[f])
    if rest[second] and EXCEL_SERIAL in (best, second):
        fmt = tuple(sorted((best, second), key=lambda f: f == EXCEL_SERIAL))
        note += f", {rest[second]:,} more as {second}"
    twin = {"%d/%m/%Y": "%m/%d/%Y", "%d/%m/%y": "%m/%d/%y"}.get(best)
    if twin and score[twin] == score[best]:
        note += f"; TODO: ambiguous, {twin} parses them too: check which one the export uses"
    return fmt, note


def date_plan(plan: ColumnPlan, found: Counter[str], key: str) -> None:
    """Pin the date format(s) of a date column under ``key``, with the note on the choice."""
    fmt, note = date_format(found)
    if fmt:
        plan.extra[key] = fmt
    plan.notes.append(note)


def multi_plan(plan: ColumnPlan, found: Counter[str], group: Group) -> int:
    """Fill ``plan`` for a multi-value column of ``group``; return the labels matched."""
    keys = flag_keys(group)
    ranked = []
    for i, sep in enumerate(SEPARATORS):
        matched = sum(1 for label in split_labels(found, sep) if label_flag(label, keys)[0])
        # "/" also sits inside labels ("Drugs/alcohol"): only chosen when it matches more
        present = sum(n for v, n in found.items() if sep in v) if sep != "/" else -1
        ranked.append(((matched, present, -i), sep))
    sep = max(ranked)[1]
    plan.separators_seen = frozenset(x for x in SEPARATORS if any(x in v for v in found))
    plan.extra["separator"] = sep
    matched = 0
    for label, n, also in spellings(split_labels(found, sep)):
        flag, why = label_flag(label, keys)
        if flag:
            matched += 1
            plan.values.append(ValueNote(label, n, flag, "entry", why, also))
        else:
            plan.values.append(ValueNote(label, n, also=also))
    return matched
