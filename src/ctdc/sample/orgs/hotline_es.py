"""hotline-es: a Spanish hotline's latin-1 ``;`` CSV with Spanish words and country names."""

from __future__ import annotations

import gettext
import unicodedata
from functools import cache

import numpy as np
import pycountry

from ctdc.sample.columns import dates, exploitation_flags, pick, sequential_ids
from ctdc.sample.defects import add_label, put
from ctdc.sample.export import Export
from ctdc.sample.identity import People
from ctdc.sample.world import Cases

EXPLOITATION_ES = {
    "is_sexual_exploit": "Explotación sexual",
    "is_forced_labour": "Trabajo forzoso",
    "is_sex_and_labour": "Explotación sexual y laboral",
    "is_forced_marriage": "Matrimonio forzado",
    "is_other_exploit": "Otra forma de explotación",
    "is_forced_military": "Reclutamiento forzado",
    "is_organ_removal": "Extracción de órganos",
    "is_slavery_and_practices": "Esclavitud",
}
MOC_ES = {
    "moc_debt_bondage": "Servidumbre por deudas",
    "moc_takes_earnings": "Le quitan sus ganancias",
    "moc_restricts_financial_access": "Sin acceso a su dinero",
    "moc_threats": "Amenazas",
    "moc_psychological_abuse": "Abuso psicológico",
    "moc_physical_abuse": "Violencia física",
    "moc_sexual_abuse": "Violencia sexual",
    "moc_false_promises": "Falsas promesas",
    "moc_psychoactive_substances": "Drogas o alcohol",
    "moc_restricts_movement": "Encierro",
    "moc_restricts_medical_care": "Sin atención médica",
    "moc_excessive_working_hours": "Jornadas excesivas",
    "moc_uses_children": "Usan a sus hijos",
    "moc_threat_of_law_enforcement": "Amenaza de denuncia o deportación",
    "moc_withholds_necessities": "Privación de comida o sueño",
    "moc_withholds_documents": "Retención de documentos",
    "moc_other": "Otro",
    "moc_not_specified": "No especificado",
}
RECRUITER_ES = {
    "recruiter_intimate_partner": "Pareja",
    "recruiter_friend": "Amistad",
    "recruiter_family": "Familiar",
    "recruiter_other": "Otra persona",
    "recruiter_unknown": "Desconocido",
}
#: what the hotline's operators type where pycountry's Spanish short name is the formal one
COUNTRY_ES = {
    "VE": "Venezuela",
    "BO": "Bolivia",
    "RU": "Rusia",
    "SA": "Arabia Saudita",
    "KR": "Corea del Sur",
    "SY": "Siria",
    "IR": "Irán",
    "MD": "Moldavia",
    "TZ": "Tanzania",
    "LA": "Laos",
    "VN": "Vietnam",
    "CD": "República Democrática del Congo",
}
US_ES_SHORT = "EE.UU."  # how operators often abbreviate Estados Unidos


def strip_accents(text: str) -> str:
    """``text`` without accents, as an operator typing fast writes it ("Peru" for "Perú")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@cache
def _es_catalogue() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["es"])


def spanish_country(alpha2: str) -> str:
    """The Spanish name the hotline writes for ``alpha2`` ("" stays "")."""
    if not alpha2:
        return ""
    if alpha2 in COUNTRY_ES:
        return COUNTRY_ES[alpha2]
    country = pycountry.countries.get(alpha_2=alpha2)
    assert country is not None  # the sample's codes all come from pycountry
    return _es_catalogue().gettext(country.name)


def _spanish_countries(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    names = np.array([spanish_country(c) for c in codes], dtype=object)
    # typed by hand: some operators drop accents ("Peru") or abbreviate EE.UU.
    sloppy = rng.random(len(codes)) < 0.10
    names[sloppy] = [strip_accents(v) for v in names[sloppy]]
    names[(codes == "US") & (rng.random(len(codes)) < 0.5)] = US_ES_SHORT
    return names


def render_hotline(cases: Cases, people: People, rng: np.random.Generator) -> Export:
    """Spanish hotline: latin-1 ";" CSV, dd/mm/yyyy, Spanish words and country names.

    Operators type freely, so some values come lower-cased or without accents
    (the vocabulary matching must not care), and unknowns are "N/D", blank or
    "Desconocido/a".
    """
    n = len(cases)
    gender = pick(("Mujer", "Hombre", "Trans", "No binario"), cases.gender, "")
    trans = gender == "Trans"
    gender[trans] = np.where(rng.random(int(trans.sum())) < 0.75, "Mujer trans", "Hombre trans")
    unknown = gender == ""
    gender[unknown & (rng.random(n) < 0.5)] = "Desconocido"
    lower = rng.random(n) < 0.08  # free typing: "mujer"
    gender[lower] = [g.lower() for g in gender[lower]]

    age = np.where(cases.age >= 0, cases.age.astype(str).astype(object), "")
    age[(cases.age < 0) & (rng.random(n) < 0.6)] = "N/D"
    citizenship = _spanish_countries(cases.citizenship, rng)
    citizenship[(citizenship == "") & (rng.random(n) < 0.5)] = "Desconocida"
    exploitation = exploitation_flags(cases).render(EXPLOITATION_ES, ", ")
    channel = np.array(("Teléfono", "WhatsApp", "Chat web", "Correo"), dtype=object)[
        rng.choice(4, size=n, p=(0.6, 0.25, 0.1, 0.05))
    ]
    operator = np.array([f"OP-{k:02d}" for k in rng.integers(1, 25, size=n)], dtype=object)
    abducted = pick(("No", "Sí"), cases.abducted, "")
    ids = sequential_ids(n, rng, 4000)
    cols = {
        "ID caso": np.array([f"HT-{k:06d}" for k in ids], dtype=object),
        "Fecha registro": dates(cases.registered, "%d/%m/%Y"),
        "Canal": channel,
        "Operador": operator,
        "Nombre": people.first,
        "Apellidos": people.last,
        "Teléfono": people.phone,
        "Correo electrónico": people.email,
        "Documento": people.document,
        "Dirección": people.address,
        "Sexo": gender,
        "Edad": age,
        "Nacionalidad": citizenship,
        "País de explotación": _spanish_countries(cases.exploited_in, rng),
        "Tipo de explotación": exploitation,
        "Medios de control": cases.means_of_control.render(MOC_ES, ", "),
        "Captador": cases.recruiter.render(RECRUITER_ES, ", "),
        "Secuestro": abducted,
        "Notas": people.notes,
    }
    return Export(
        org="hotline-es",
        filename="hotline-es.csv",
        format="csv",
        columns=cols,
        case_id="ID caso",
        identifiers=(
            "Nombre",
            "Apellidos",
            "Teléfono",
            "Correo electrónico",
            "Documento",
            "Dirección",
            "Notas",
        ),
        encoding="latin-1",
        delimiter=";",
        lineterminator="\r\n",  # exported from Excel on Windows
        defects={
            "unknown-value": (
                put("Sexo", "Varón?", "M/F", "Otro?"),
                put("Secuestro", "Quizás", "S/N"),
                add_label("Medios de control", "Brujería", ", "),
            ),
            "bad-date": (put("Fecha registro", "31/02/2021", "ayer", "2021-13-05", "12-03-2020"),),
            "bad-number": (put("Edad", "veinte", "25 años", "treinta y dos"),),
            "out-of-range": (
                put("Edad", "150", "-3", "230"),
                put("Fecha registro", "15/06/2099", "01/01/1999"),
            ),
            "unknown-country": (
                put("Nacionalidad", "Narnia", "Wakanda"),
                put("País de explotación", "Atlántida"),
            ),
            "missing-required": (put("ID caso", ""), put("Fecha registro", "", "N/D")),
        },
    )
