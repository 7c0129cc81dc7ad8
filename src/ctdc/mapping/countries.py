"""Country names and codes -> ISO 3166-1 alpha-2, from pycountry's maintained data.

Names are matched normalized (case, accents, spacing ignored) against the
English short, official and common names, or against their translations in
pycountry's bundled gettext catalogues for another language, so that a
Spanish hotline's "Perú" or "Estados Unidos" needs no hand-typed table.
"""

from __future__ import annotations

import gettext
from functools import lru_cache

import pycountry

from ctdc.mapping.spec import normalize


@lru_cache(maxsize=16)
def country_lookup(form: str, language: str = "en") -> dict[str, str]:
    """Normalized source text -> alpha-2 for one ``form`` (name, alpha2, alpha3)."""
    table: dict[str, str] = {}
    countries = list(pycountry.countries)
    if form == "alpha2":
        return {normalize(c.alpha_2): c.alpha_2 for c in countries}
    if form == "alpha3":
        return {normalize(c.alpha_3): c.alpha_2 for c in countries}

    def translate(s: str, /) -> str:
        return s

    if language != "en":
        try:
            catalogue = gettext.translation(
                "iso3166-1", pycountry.LOCALES_DIR, languages=[language]
            )
        except OSError as exc:
            raise ValueError(f"pycountry has no country names in language {language!r}") from exc
        translate = catalogue.gettext
    for c in countries:
        for attr in ("name", "official_name", "common_name"):
            name = getattr(c, attr, None)
            if name:
                table.setdefault(normalize(translate(name)), c.alpha_2)
                table.setdefault(normalize(name), c.alpha_2)  # English always understood too
    return table
