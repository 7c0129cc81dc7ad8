"""The word lists of ``mapping init``, one data file per language, merged once on first use.

The lists (``words/<language>.yaml``, plus ``words/codes.yaml`` for the codes
that belong to no language) are data, not code, so that a data officer or a
translator adds a language, or a word, without touching Python, and so that a
reviewer reads them as lists. Every language file has the same sections
(:data:`SECTIONS`); a missing or unknown section is refused here, so a new
language cannot silently lack, say, its identifier words. They are read with
ctdc's own YAML reader, where every plain value stays text (``-99``, ``null``,
``No`` are tokens here, not numbers or booleans), and cached: a process reads
them at most once.

Merging is a union, except where languages disagree: a yes/no word that is
yes in one language and no in another is a data error, while a value that
means different schema values in different exports (``M``: *Masculino*, or
*Mujer* in an H/M export) keeps every meaning, with the languages that give
it, so that ``mapping init`` can tell a sure entry from one to resolve.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from ctdc.mapping.spec import normalize
from ctdc.yamlio import TextLoader, load_yaml_text

Phrase = tuple[str, ...]

#: the sections every ``words/<language>.yaml`` has, and nothing else
SECTIONS = ("stopwords", "identifiers", "birth_dates", "names", "hotline_words",
            "unknown_words", "yes_no", "values")  # fmt: skip
#: the file of codes that are no language's words
CODES = "codes.yaml"


@dataclass(frozen=True)
class Vocabulary:
    """Every word list, typed, merged over the languages and normalized as compared."""

    #: the languages merged (the file names without ``.yaml``)
    languages: tuple[str, ...]
    #: small words left out of column and field names
    stopwords: frozenset[str]
    #: words that make a column a direct identifier
    identifier_words: frozenset[str]
    #: word sequences that make a column a direct identifier
    identifier_phrases: tuple[Phrase, ...]
    #: word sequences naming a birth date: the age is computed from it, then it is dropped
    birth_date_phrases: tuple[Phrase, ...]
    #: target -> names exports give it, where the schema's words are far from them
    synonyms: Mapping[str, tuple[str, ...]]
    #: tokens that exports use for "not recorded"
    missing_tokens: tuple[str, ...]
    #: normalized words for "unknown": listed under ``missing:`` where found
    unknown_words: frozenset[str]
    #: country codes for "unknown" in exports (not ISO)
    unknown_country_codes: frozenset[str]
    #: normalized yes/no words beyond the mapping loader's boolean words
    yes_no: Mapping[str, bool]
    #: words in an org id or file name that make the export a hotline's
    hotline_words: frozenset[str]
    #: field -> normalized source value -> schema value -> the languages that say so
    field_values: Mapping[str, Mapping[str, Mapping[str, tuple[str, ...]]]]


def _read(name: str) -> dict[str, Any]:
    text = files("ctdc.onboard").joinpath("words", name).read_text(encoding="utf-8")
    data = load_yaml_text(text, TextLoader)
    if not isinstance(data, dict):
        raise ValueError(f"ctdc/onboard/words/{name}: expected a mapping of word lists")
    return data


def language_files() -> dict[str, dict[str, Any]]:
    """Language -> its word lists, as read from ``words/<language>.yaml``, sections checked."""
    out = {}
    for entry in sorted(files("ctdc.onboard").joinpath("words").iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml") or entry.name == CODES:
            continue
        data = _read(entry.name)
        if sorted(data) != sorted(SECTIONS):
            raise ValueError(f"ctdc/onboard/words/{entry.name}: sections {sorted(data)}, "
                             f"expected {sorted(SECTIONS)}")  # fmt: skip
        out[entry.name.removesuffix(".yaml")] = data
    return out


def _texts(values: list[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _merge_yes_no(langs: dict[str, dict[str, Any]]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for lang, data in langs.items():
        for word, value in data["yes_no"].items():
            key, truth = normalize(word), str(value).lower() == "true"
            if out.setdefault(key, truth) != truth:
                raise ValueError(f"ctdc/onboard/words/{lang}.yaml: yes_no {word!r} is "
                                 f"{truth} here and {not truth} in another language")  # fmt: skip
    return out


#: field -> normalized source value -> schema value -> the languages that say so
FieldValues = dict[str, dict[str, dict[str, tuple[str, ...]]]]


def _merge_values(langs: dict[str, dict[str, Any]]) -> FieldValues:
    out: FieldValues = {}
    for lang, data in langs.items():
        for field_name, table in data["values"].items():
            merged = out.setdefault(str(field_name), {})
            for word, targets in table.items():
                meanings = merged.setdefault(normalize(word), {})
                for target in targets if isinstance(targets, list) else [targets]:
                    meanings[str(target)] = (*meanings.get(str(target), ()), lang)
    return out


@cache
def vocabulary() -> Vocabulary:
    """The word lists of this ctdc, read from its package data on first use."""
    langs, codes = language_files(), _read(CODES)
    every = list(langs.values())
    synonyms: dict[str, tuple[str, ...]] = {}
    for data in every:
        for target, names in data["names"].items():
            synonyms[str(target)] = (*synonyms.get(str(target), ()), *_texts(names))
    return Vocabulary(
        languages=tuple(langs),
        stopwords=frozenset(w for d in every for w in _texts(d["stopwords"])),
        identifier_words=frozenset(w for d in every for w in _texts(d["identifiers"]["words"])),
        identifier_phrases=tuple(_texts(p) for d in every for p in d["identifiers"]["phrases"]),
        birth_date_phrases=tuple(_texts(p) for d in every for p in d["birth_dates"]),
        synonyms=synonyms,
        missing_tokens=_texts(codes["missing_tokens"]),
        unknown_words=frozenset(normalize(w) for d in every for w in d["unknown_words"]),
        unknown_country_codes=frozenset(_texts(codes["unknown_country_codes"])),
        yes_no=_merge_yes_no(langs),
        hotline_words=frozenset(w for d in every for w in _texts(d["hotline_words"])),
        field_values=_merge_values(langs),
    )
