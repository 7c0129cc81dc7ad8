"""Fake direct identifiers: names, phones, e-mails, documents, addresses and notes.

Faker is called only to fill small pools per locale (at most a few hundred
names, streets, sentences, and no more than the rows that draw from them);
the per-row values are then composed from the pools with numpy indices. Faker
calls are the cost (tens of microseconds each), so that keeps 100k rows per
organization in seconds, and the 200 rows a test draws in a fraction of one,
while names still look like the victims' nationalities (a Ukrainian victim of the
international agency gets a Cyrillic name, a Venezuelan caller of the hotline
a Spanish one).

With ``marker`` set, every identifier value carries a unique marker string, so
a test can grep staging and releases for any trace of an identifier.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from ctdc.errors import CtdcError
from ctdc.sample.identity_specs import SPECS
from ctdc.sample.world import FEMALE, MALE, Cases
from ctdc.slugs import Slug

if TYPE_CHECKING:
    from faker import Faker

MARKER_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")
_POOL = 240  # most names per gender and locale; streets, cities and sentences scale from it
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")

_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)


def fold_latin1(text: str) -> str:
    """``text`` with every character outside latin-1 folded (accents dropped) or replaced.

    The Spanish hotline exports latin-1: a name Faker spells with, say, a
    Romanian "ș" would make the file unwritable, so it becomes "s".
    """
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for ch in text.translate(_PUNCTUATION):
        if ord(ch) < 256:
            out.append(ch)
            continue
        base = "".join(
            c
            for c in unicodedata.normalize("NFKD", ch)
            if ord(c) < 256 and not unicodedata.combining(c)
        )
        out.append(base or "?")
    return "".join(out)


def fold_ascii(text: str) -> str:
    """Lowercase ASCII letters of ``text`` (for e-mail local parts); "" for non-Latin scripts."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalpha()).lower()


def embed_marker(value: str, marker: str) -> str:
    """``value`` with ``marker`` embedded where it still looks like the value.

    ``Ana López`` -> ``Ana MARK López``; ``ana@example.org`` ->
    ``ana.MARK@example.org``; ``V-123`` -> ``V-123-MARK``.
    """
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local}.{marker}@{domain}"
    first, space, rest = value.partition(" ")
    if space:
        return f"{first} {marker} {rest}"
    return f"{value}-{marker}"


@dataclass(frozen=True)
class People:
    """Identifier values per case (object arrays; "" = not recorded)."""

    first: np.ndarray
    last: np.ndarray
    phone: np.ndarray
    email: np.ndarray
    document: np.ndarray
    address: np.ndarray
    notes: np.ndarray
    staff: tuple[str, ...]  # caseworker names of the organization


@dataclass
class _Pool:
    female: np.ndarray
    male: np.ndarray
    last: np.ndarray
    street: np.ndarray
    city: np.ndarray


def faker_class() -> type[Faker]:
    """Faker's class, or ``missing-extra`` naming the extra that brings it.

    Imported here rather than at the top so that ``import ctdc.sample`` works
    without the extra and ``ctdc sample`` can say what to install in one line.
    """
    try:
        from faker import Faker
    except ImportError as exc:
        raise CtdcError(
            Slug.MISSING_EXTRA,
            "the sample generator needs Faker, which is not installed",
            fix="pip install 'ctdc[sample]'",
        ) from exc
    return Faker


#: the Faker providers the pools call (names; streets and cities; sentences)
_PROVIDERS = ("faker.providers.person", "faker.providers.address", "faker.providers.lorem")


@cache
def _locale_faker(locale: str) -> Faker:
    """One Faker per locale and process, with only the providers the pools call.

    Building one looks up every provider's locales on disk (a directory
    listing each): all two dozen providers cost ~40 ms a locale, these three
    about a quarter of it, and a Faker rebuilt for each pool paid it again.
    Which providers are loaded does not change what a seeded Faker draws.
    """
    return faker_class()(locale, providers=list(_PROVIDERS))


def _faker(locale: str, seed: int) -> Faker:
    """The locale's Faker, reseeded: it draws what a new one seeded with ``seed`` would."""
    fake = _locale_faker(locale)
    fake.seed_instance(seed)
    return fake


def _texts(values: Iterable[str], fold: bool) -> np.ndarray:
    """Faker output as an object array: whitespace collapsed, folded to latin-1 if asked."""
    cleaned = (" ".join(v.split()) for v in values)
    return np.array([fold_latin1(v) if fold else v for v in cleaned], dtype=object)


def _pool(locale: str, seed: int, fold: bool, size: int) -> _Pool:
    """``size`` names of each kind, half as many streets and a quarter as many cities."""
    fake = _faker(locale, seed)
    return _Pool(
        female=_texts((fake.first_name_female() for _ in range(size)), fold),
        male=_texts((fake.first_name_male() for _ in range(size)), fold),
        last=_texts((fake.last_name() for _ in range(size)), fold),
        street=_texts(
            (fake.street_address().replace("\n", ", ") for _ in range(max(1, size // 2))), fold
        ),
        city=_texts((fake.city() for _ in range(max(1, size // 4))), fold),
    )


def fill_formats(formats: tuple[str, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` values from ``formats``, "#" replaced by a random digit and "@" by a letter."""
    choice = rng.integers(0, len(formats), size=n)
    width = max(len(f) for f in formats)
    digits = rng.integers(0, 10, size=(n, width)).astype("U1")
    letters = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"))[rng.integers(0, 23, size=(n, width))]
    out = np.empty(n, dtype=object)
    for k, fmt in enumerate(formats):
        rows = np.flatnonzero(choice == k)
        holes = [j for j, ch in enumerate(fmt) if ch in "#@"]
        parts = np.tile(np.array(list(fmt), dtype=object), (len(rows), 1))
        for j in holes:
            parts[:, j] = (digits if fmt[j] == "#" else letters)[rows, j]
        out[rows] = ["".join(p) for p in parts]
    return out


def _by_key(
    keys: np.ndarray, table: dict[str, tuple[str, ...]], rng: np.random.Generator
) -> np.ndarray:
    """Formats chosen per row by ``keys`` (fallback ``table[""]``), filled."""
    out = np.empty(len(keys), dtype=object)
    rest = np.ones(len(keys), dtype=bool)
    for key, formats in table.items():
        if key:
            rows = np.flatnonzero(keys == key)
            rest[rows] = False
            out[rows] = fill_formats(formats, len(rows), rng)
    out[rest] = fill_formats(table[""], int(rest.sum()), rng)
    return out


def draw_people(org: str, cases: Cases, rng: np.random.Generator) -> People:
    """Identifiers for every case of ``org``; Faker is seeded from ``rng``."""
    spec = SPECS[org]
    n = len(cases)
    faker_seed = int(rng.integers(2**31))
    locales = sorted({spec.default_locale, *spec.locales.values()})
    row_locale = np.array(
        [spec.locales.get(c, spec.default_locale) for c in cases.citizenship], dtype=object
    )
    female = (cases.gender == FEMALE) | ((cases.gender != MALE) & (rng.random(n) < 0.5))
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    street = np.empty(n, dtype=object)
    city = np.empty(n, dtype=object)
    for i, loc in enumerate(locales):  # the seed follows the locale, drawn from or not
        rows = np.flatnonzero(row_locale == loc)
        k = len(rows)
        if k == 0:
            continue
        pool = _pool(loc, faker_seed + i, spec.latin1, min(_POOL, k))
        i_name = rng.integers(0, len(pool.female), size=k)
        first[rows] = np.where(female[rows], pool.female[i_name], pool.male[i_name])
        surname = pool.last[rng.integers(0, len(pool.last), size=k)]
        if spec.two_surnames:
            surname = surname + " " + pool.last[rng.integers(0, len(pool.last), size=k)]
        last[rows] = surname
        street[rows] = pool.street[rng.integers(0, len(pool.street), size=k)]
        city[rows] = pool.city[rng.integers(0, len(pool.city), size=k)]
    address = street + ", " + city

    phone = _by_key(cases.exploited_in, spec.phones, rng)
    document = _by_key(cases.citizenship, spec.documents, rng)
    user = np.array(
        [
            fold_ascii(f) + "." + fold_ascii(s.split(" ")[0])
            for f, s in zip(first, last, strict=True)
        ],
        dtype=object,
    )
    user = np.where(user == ".", "contact", user)
    domains = np.array(_EMAIL_DOMAINS, dtype=object)[rng.integers(0, len(_EMAIL_DOMAINS), size=n)]
    email = user + rng.integers(1, 99, size=n).astype(str).astype(object) + "@" + domains

    notes_fake = _faker(spec.notes_locale, faker_seed + len(locales))
    sentences = _texts((notes_fake.sentence(nb_words=9) for _ in range(min(_POOL, n))), spec.latin1)
    s1 = sentences[rng.integers(0, len(sentences), size=n)]
    s2 = sentences[rng.integers(0, len(sentences), size=n)]
    template = rng.integers(0, len(spec.notes), size=n)
    notes = np.array(
        [
            spec.notes[t].format(first=f, last=la, city=c, phone=p, address=a, s1=x, s2=y)
            for t, f, la, c, p, a, x, y in zip(
                template, first, last, city, phone, address, s1, s2, strict=True
            )
        ],
        dtype=object,
    )

    def present(values: np.ndarray, key: str) -> np.ndarray:
        keep = rng.random(n) < spec.present.get(key, 1.0)
        return np.where(keep, values, "")

    staff_fake = _faker(spec.notes_locale, faker_seed + len(locales) + 1)
    staff = tuple(_texts((staff_fake.name() for _ in range(12)), spec.latin1))
    anonymous = rng.random(n) >= spec.present.get("first", 1.0)
    return People(
        first=np.where(anonymous, "", first),
        last=np.where(anonymous, "", last),
        phone=present(phone, "phone"),
        email=np.where(anonymous, "", present(email, "email")),
        document=present(document, "document"),
        address=present(address, "address"),
        notes=present(notes, "notes"),
        staff=staff,
    )
