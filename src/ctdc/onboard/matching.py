"""Column names matched to the schema's targets, and multi-value labels to a group's flags.

Names are compared as word lists (camelCase, snake_case and accents undone,
small words left out), word by word and in any order with ``difflib``, so
``exploitation_country`` is ``country of exploitation`` and a typo still
matches: exports are typed by hand in several languages, and no list of exact
spellings would keep up with them.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

from ctdc.mapping.spec import normalize
from ctdc.onboard.vocabulary import Phrase, vocabulary
from ctdc.schema import Group, Schema

#: a column is placed when its best match scores at least this (1.0 = same words)
MATCH_THRESHOLD = 0.75
#: a description shares words with a column: weight of that weaker signal
DESCRIPTION_WEIGHT = 0.8
#: how the cells of a multi-value column are separated, most usual first
SEPARATORS = (";", ",", "|", "/")


@cache
def words(text: str | None) -> Phrase:
    """Content words of a column or field name: camelCase, snake_case and accents undone."""
    if not text:
        return ()
    t = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(text))
    t = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", t)
    stop = vocabulary().stopwords
    return tuple(w for w in re.findall(r"[a-z0-9]+", normalize(t)) if w not in stop)


def alnum(text: str) -> str:
    """``text`` normalized with everything but letters and digits left out."""
    return "".join(re.findall(r"[a-z0-9]+", normalize(text)))


@cache
def _ratio(a: str, b: str) -> float:
    """difflib's ratio of two words, cached: the same few hundred words of the schema
    meet every column's words, so most pairs come back (a scaffold asks ~70,000 times)."""
    return difflib.SequenceMatcher(None, a, b).ratio()


def similarity(a: Phrase, b: Phrase) -> float:
    """How alike two word lists are, 0 to 1: word by word, in any order.

    Each word is paired with its closest word on the other side (difflib
    ratio), both ways, and the two means are averaged: ``exploitation_country``
    is ``country of exploitation`` (1.0), ``is_sexual_exploitation`` is close
    to ``sexual exploit`` (0.87), while one long shared word does not make
    ``minor at exploitation`` a ``form of exploitation`` (0.72).
    """
    if not a or not b:
        return 0.0

    def soft(x: Phrase, y: Phrase) -> float:
        return sum(max(_ratio(w, v) for v in y) for w in x) / len(x)

    return (soft(a, b) + soft(b, a)) / 2


def has_phrase(ws: Phrase, phrase: Phrase) -> bool:
    """Whether the words ``phrase`` follow each other in ``ws``."""
    n = len(phrase)
    return any(ws[i : i + n] == phrase for i in range(len(ws) - n + 1))


@dataclass(frozen=True)
class Target:
    """What a column can be mapped to, and the words that name it."""

    kind: str  # case_id | age | field | group | concatenated
    name: str
    phrases: tuple[tuple[Phrase, str], ...]  # (words, what they are)
    description: frozenset[str] = frozenset()


def targets(schema: Schema) -> list[Target]:
    """Everything a column can be mapped to, with the words that name it."""
    synonyms = vocabulary().synonyms

    def syn(name: str) -> list[tuple[Phrase, str]]:
        return [(words(s), "synonym") for s in synonyms.get(name, ())]

    out = [Target("case_id", "case_id", tuple(syn("case_id"))),
           Target("age", "age", tuple(syn("age")))]  # fmt: skip
    for f in schema.fields:
        if f.role in ("internal", "direct_identifier") or f.name == "data_source":
            continue
        phrases = [(words(f.name), "field name")]
        if f.ctdc_name:
            phrases.append((words(f.ctdc_name), "CTDC name"))
        if f.label and not f.group:
            phrases.append((words(f.label), "label"))
        desc = frozenset(words(f.description))
        out.append(Target("field", f.name, tuple(phrases + syn(f.name)), desc))
    for g in schema.groups.values():
        desc = frozenset(words(g.description))
        out.append(Target("group", g.name, ((words(g.name), "flag group"), *syn(g.name)), desc))
        if g.concatenated:
            out.append(Target("concatenated", g.name, ((words(g.concatenated), "label column"),)))
    return out


def score(column: Phrase, target: Target) -> tuple[float, str]:
    """Best match of ``column``'s words to ``target``: (score, how)."""
    best, how = 0.0, ""
    for phrase, what in target.phrases:
        s = similarity(column, phrase)
        if s > best:
            best, how = s, f"{what} {' '.join(phrase)!r}"
    if len(column) >= 2 and target.description:
        shared = set(column) & target.description
        if len(shared) >= 2:
            s = DESCRIPTION_WEIGHT * len(shared) / len(set(column))
            if s > best:
                best, how = s, f"description words {', '.join(sorted(shared))}"
    return best, how


def identifier_reason(column: Phrase) -> str | None:
    """Why a column with these words is a direct identifier, or None when it is not one."""
    vocab = vocabulary()
    hit = sorted(set(column) & vocab.identifier_words)
    if hit:
        return f"identifier word {hit[0]!r}"
    for phrase in vocab.identifier_phrases:
        if has_phrase(column, phrase):
            return f"identifier words {' '.join(phrase)!r}"
    return None


def is_birth_date(column: Phrase) -> bool:
    """Whether a column with these words holds a birth date."""
    return any(has_phrase(column, p) for p in vocabulary().birth_date_phrases)


# --- multi-value labels ------------------------------------------------------------------------


def flag_keys(group: Group) -> dict[str, str]:
    """Normalized spellings of each flag of ``group`` (label, name without prefix) -> flag."""
    names = [f.name for f in group.flags]
    prefix = names[0][: names[0].index("_") + 1] if "_" in names[0] else ""
    if not all(n.startswith(prefix) for n in names):
        prefix = ""
    keys: dict[str, str] = {}
    for f in group.flags:
        for spelling in (f.label or "", f.name[len(prefix) :], f.name):
            if spelling:
                keys.setdefault(alnum(spelling), f.name)
    return keys


def split_labels(counts: Counter[str], sep: str) -> Counter[str]:
    """The labels in multi-value cells split on ``sep``, with the rows of each."""
    labels: Counter[str] = Counter()
    for value, n in counts.items():
        for part in value.split(sep):
            if part.strip():
                labels[part.strip()] += n
    return labels


def label_flag(label: str, keys: dict[str, str]) -> tuple[str | None, str]:
    """The flag a label names (given :func:`flag_keys`), and why when it is not exact."""
    key = alnum(label)
    if key in keys:
        return keys[key], ""
    close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.9)
    if close:
        return keys[close[0]], "close to the flag's label"
    return None, ""


def best_group(counts: Counter[str], schema: Schema) -> tuple[Group | None, float]:
    """The flag group whose labels a column's values are, by the share of rows matched."""
    best: tuple[Group | None, float] = (None, 0.0)
    for group in schema.groups.values():
        keys = flag_keys(group)
        for sep in SEPARATORS:
            labels = split_labels(counts, sep)
            total = sum(labels.values()) or 1
            hits = [lb for lb in labels if label_flag(lb, keys)[0]]
            share = sum(labels[lb] for lb in hits) / total
            if len(hits) >= 2 and share > best[1]:
                best = (group, share)
    return best
