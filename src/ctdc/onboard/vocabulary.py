"""The multilingual word lists of ``mapping init``, read once from the data files beside it.

The lists (``words/*.yaml``) are data, not code, so that a data officer or a
translator can add a language's words without touching Python, and so that a
reviewer reads them as lists. They are read with ctdc's own YAML reader, where
every plain value stays text (``-99``, ``null``, ``No`` are tokens here, not
numbers or booleans), and cached: a process reads them at most once.
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


@dataclass(frozen=True)
class Vocabulary:
    """Every word list, typed and normalized as the matching compares them."""

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
    #: normalized words for "unknown": a vocabulary entry to null
    unknown_words: frozenset[str]
    #: country codes for "unknown" in exports (not ISO)
    unknown_country_codes: frozenset[str]
    #: normalized yes/no words beyond the mapping loader's boolean words
    yes_no: Mapping[str, bool]
    #: words in an org id or file name that make the export a hotline's
    hotline_words: frozenset[str]


def _read(name: str) -> dict[str, Any]:
    text = files("ctdc.onboard").joinpath("words", name).read_text(encoding="utf-8")
    data = load_yaml_text(text, TextLoader)
    if not isinstance(data, dict):
        raise ValueError(f"ctdc/onboard/words/{name}: expected a mapping of word lists")
    return data


def _texts(values: list[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@cache
def vocabulary() -> Vocabulary:
    """The word lists of this ctdc, read from its package data on first use."""
    ids, names = _read("identifiers.yaml"), _read("names.yaml")
    values, synonyms = _read("values.yaml"), _read("synonyms.yaml")
    return Vocabulary(
        stopwords=frozenset(_texts(names["stopwords"])),
        identifier_words=frozenset(_texts(ids["words"])),
        identifier_phrases=tuple(_texts(p) for p in ids["phrases"]),
        birth_date_phrases=tuple(_texts(p) for p in ids["birth_date_phrases"]),
        synonyms={str(k): _texts(v) for k, v in synonyms.items()},
        missing_tokens=_texts(values["missing_tokens"]),
        unknown_words=frozenset(normalize(w) for w in values["unknown_words"]),
        unknown_country_codes=frozenset(_texts(values["unknown_country_codes"])),
        yes_no={normalize(k): bool(v) for k, v in values["yes_no"].items()},
        hotline_words=frozenset(_texts(names["hotline_words"])),
    )
