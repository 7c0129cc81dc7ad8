"""Render the cases of each organization in its own format, language and codes.

Each ``render_<org>`` turns the organization-neutral truth (``world.Cases``)
and its identifiers (``identity.People``) into an :class:`Export`: ordered
source columns of Python cell values, the ways a bad row can be planted in
that export (``defects``), and how to serialize it byte-for-byte
deterministically. The label tables (``MOC_ES`` and friends) are what each
``pipelines/<org>.yaml`` vocabulary must translate back; tests check both
directions.
"""

from __future__ import annotations

import csv
import datetime as dt
import gettext
import io
import json
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import pycountry

from ctdc.sample.identity import People
from ctdc.sample.world import (
    EXPLOITATION,
    LABOUR_SECTORS,
    MEANS_OF_CONTROL,
    RECRUITERS,
    SEX_TYPES,
    Cases,
    FlagGroup,
)

if TYPE_CHECKING:
    from pycountry.db import Country

#: XLSX core properties and zip entry times: fixed, so the same seed gives the same bytes
FIXED_TIME = dt.datetime(2025, 1, 1, 0, 0, 0)

Defect = Callable[["Export", int, np.random.Generator], str]
"""Plants one defect in row ``pos`` of an export; returns the source column it broke."""


@dataclass
class Export:
    """One organization's export before serialization."""

    org: str
    filename: str
    format: str  # csv | xlsx | json
    columns: dict[str, np.ndarray]  # source column -> object array of cell values
    case_id: str
    identifiers: tuple[str, ...]  # text identifier columns (markers go there)
    defects: dict[str, tuple[Defect, ...]] = field(default_factory=dict)
    encoding: str = "utf-8"
    delimiter: str = ","
    lineterminator: str = "\n"
    sheet: str = "Sheet1"

    @property
    def first_row(self) -> int:
        """Row number of the first record as a data officer sees it (header = row 1)."""
        return 1 if self.format == "json" else 2

    def __len__(self) -> int:
        return len(self.columns[self.case_id])

    def to_bytes(self) -> bytes:
        if self.format == "csv":
            return self._csv()
        if self.format == "xlsx":
            return self._xlsx()
        return self._json()

    def _csv(self) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=self.delimiter, lineterminator=self.lineterminator)
        writer.writerow(self.columns)
        cols = [["" if v is None else str(v) for v in c] for c in self.columns.values()]
        writer.writerows(zip(*cols, strict=True))
        return buf.getvalue().encode(self.encoding)  # strict: a stray character is a bug

    def _xlsx(self) -> bytes:
        from openpyxl import Workbook
        from openpyxl.writer.excel import ExcelWriter

        wb = Workbook(write_only=True)
        wb.properties.created = wb.properties.modified = FIXED_TIME
        wb.properties.creator = f"{self.org} case-management system"
        ws = wb.create_sheet(self.sheet)
        ws.append(list(self.columns))
        for row in zip(*self.columns.values(), strict=True):
            ws.append(list(row))
        raw = io.BytesIO()
        # ExcelWriter directly: openpyxl's save_workbook stamps "modified" with the clock
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            ExcelWriter(wb, archive).write_data()
        return _fixed_zip_times(raw.getvalue())

    def _json(self) -> bytes:
        names = list(self.columns)
        records = (
            json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False)
            for row in zip(*self.columns.values(), strict=True)
        )
        return ("[\n" + ",\n".join(records) + "\n]\n").encode("utf-8")


def _fixed_zip_times(data: bytes) -> bytes:
    """Re-pack a zip with every entry dated ``FIXED_TIME`` (zipfile stamps the clock)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


# --- defects -------------------------------------------------------------------------------------


def put(column: str, *values: Any) -> Defect:
    """A defect that writes one of ``values`` into ``column``."""

    def plant(ex: Export, pos: int, rng: np.random.Generator) -> str:
        ex.columns[column][pos] = values[int(rng.integers(len(values)))]
        return column

    return plant


def add_label(column: str, label: str, sep: str | None) -> Defect:
    """A defect that adds a label outside the vocabulary to a multi-value cell."""

    def plant(ex: Export, pos: int, rng: np.random.Generator) -> str:
        cell = ex.columns[column][pos]
        if sep is None:  # a JSON list
            ex.columns[column][pos] = [*(cell or []), label]
        else:
            ex.columns[column][pos] = f"{cell}{sep}{label}" if cell else label
        return column

    return plant


# --- shared rendering helpers --------------------------------------------------------------------


def pick(values: tuple[Any, ...], idx: np.ndarray, unknown: Any = "") -> np.ndarray:
    """``values[idx]`` as an object array, ``unknown`` where ``idx`` is -1."""
    table = np.array([*values, unknown], dtype=object)
    return table[np.where(idx < 0, len(values), idx)]


def exploitation_flags(cases: Cases) -> FlagGroup:
    """The one-hot type of exploitation as a flag group (not recorded when unknown)."""
    n = len(cases)
    values = np.zeros((n, len(EXPLOITATION)), dtype=bool)
    known = cases.exploitation >= 0
    values[np.flatnonzero(known), cases.exploitation[known]] = True
    return FlagGroup(EXPLOITATION, values, known)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def camel(fieldname: str) -> str:
    """Schema flag field -> CTDC column (``moc_debt_bondage`` -> ``meansOfControlDebtBondage``)."""
    prefixes = {
        "moc": "meansOfControl",
        "labour": "typeOfLabour",
        "sex": "typeOfSex",
        "recruiter": "recruiterRelation",
        "is": "is",
    }
    head, _, rest = fieldname.partition("_")
    return prefixes[head] + "".join(w.capitalize() for w in rest.split("_"))


def _sequential_ids(n: int, rng: np.random.Generator, start: int) -> np.ndarray:
    """Increasing case numbers with small gaps (deleted or merged cases)."""
    return start + np.cumsum(rng.integers(1, 4, size=n))


def _dates(days: np.ndarray, fmt: str) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(days).strftime(fmt), dtype=object)


def _to_date(day: np.datetime64) -> dt.date | None:
    return None if np.isnat(day) else day.astype("datetime64[D]").item()


# === hotline-es: Spanish, latin-1, ";" ===========================================================

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
    ids = _sequential_ids(n, rng, 4000)
    cols = {
        "ID caso": np.array([f"HT-{k:06d}" for k in ids], dtype=object),
        "Fecha registro": _dates(cases.registered, "%d/%m/%Y"),
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


# === casework-ngo: English XLSX with date cells and alpha-3 ======================================

EXPLOITATION_EN = {
    "is_sexual_exploit": "Sexual exploitation",
    "is_forced_labour": "Forced labour",
    "is_sex_and_labour": "Sexual and labour exploitation",
    "is_forced_marriage": "Forced marriage",
    "is_other_exploit": "Other exploitation",
    "is_forced_military": "Forced military service",
    "is_organ_removal": "Organ removal",
    "is_slavery_and_practices": "Slavery or similar practices",
}
SECTOR_EN = {
    "labour_agriculture": "Agriculture",
    "labour_aquafarming": "Fishing/aquaculture",
    "labour_begging": "Begging",
    "labour_construction": "Construction",
    "labour_domestic_work": "Domestic work",
    "labour_hospitality": "Hospitality",
    "labour_illicit_activities": "Illicit activities",
    "labour_manufacturing": "Factory work",
    "labour_mining_or_drilling": "Mining",
    "labour_peddling": "Street vending",
    "labour_transportation": "Transport",
    "labour_other": "Other",
    "labour_not_specified": "Not specified",
}
SEX_EN = {
    "sex_prostitution": "Prostitution",
    "sex_pornography": "Pornography",
    "sex_remote_interactive_services": "Webcam/online",
    "sex_private_sexual_services": "Private sexual services",
}
MOC_EN = {
    "moc_debt_bondage": "Debt bondage",
    "moc_takes_earnings": "Earnings taken",
    "moc_restricts_financial_access": "No access to own money",
    "moc_threats": "Threats",
    "moc_psychological_abuse": "Psychological abuse",
    "moc_physical_abuse": "Physical violence",
    "moc_sexual_abuse": "Sexual violence",
    "moc_false_promises": "False promises",
    "moc_psychoactive_substances": "Drugs/alcohol",
    "moc_restricts_movement": "Confinement",
    "moc_restricts_medical_care": "Denied medical care",
    "moc_excessive_working_hours": "Excessive working hours",
    "moc_uses_children": "Children used as leverage",
    "moc_threat_of_law_enforcement": "Threat of police/deportation",
    "moc_withholds_necessities": "Denied food/sleep",
    "moc_withholds_documents": "Documents confiscated",
    "moc_other": "Other",
    "moc_not_specified": "Not specified",
}
RECRUITER_EN = {
    "recruiter_intimate_partner": "Intimate partner",
    "recruiter_friend": "Friend",
    "recruiter_family": "Family member",
    "recruiter_other": "Other",
    "recruiter_unknown": "Unknown",
}
UNKNOWN_ALPHA3 = "UNK"  # the case system's code for "citizenship not known"


def _alpha3(codes: np.ndarray) -> np.ndarray:
    # the sample's codes all come from pycountry, so each one is found
    table = {
        c: cast("Country", pycountry.countries.get(alpha_2=c)).alpha_3 for c in set(codes) if c
    }
    return np.array([table.get(c, "") for c in codes], dtype=object)


def _none_if_empty(values: np.ndarray) -> np.ndarray:
    """XLSX: an empty cell is a missing cell, not an empty string."""
    # numpy's stubs refuse None as a value, which an object array holds fine
    return np.where(values == "", None, values)  # type: ignore[call-overload]


def _birth_after_registration(ex: Export, pos: int, rng: np.random.Generator) -> str:
    reg = ex.columns["Registration date"][pos]
    ex.columns["Date of birth"][pos] = reg + dt.timedelta(days=int(rng.integers(1, 400)))
    return "Date of birth"


def _registered_in_future(ex: Export, pos: int, rng: np.random.Generator) -> str:
    reg = ex.columns["Registration date"][pos]
    ex.columns["Registration date"][pos] = reg.replace(year=2099, day=min(reg.day, 28))
    ex.columns["Date of birth"][pos] = None  # else the age (2099 - birth) could break too
    return "Registration date"


def render_casework(cases: Cases, people: People, rng: np.random.Generator) -> Export:
    """NGO case system: XLSX with real date cells, one-letter gender, alpha-3 countries.

    No age column: the age has to come from the birth date at the registration
    date, the path that needs the reader's date-cell handling.
    """
    n = len(cases)
    years = pd.DatetimeIndex(cases.registered).year.to_numpy()
    first_of_year = np.searchsorted(years, years)  # cases are sorted by date
    seq = np.arange(n) - first_of_year + 1
    citizenship = _alpha3(cases.citizenship)
    citizenship[(citizenship == "") & (rng.random(n) < 0.5)] = UNKNOWN_ALPHA3
    registered = np.array([_to_date(d) for d in cases.registered], dtype=object)
    born = np.array([_to_date(d) for d in cases.born], dtype=object)
    staff = np.array(people.staff, dtype=object)[rng.integers(0, len(people.staff), size=n)]
    status = np.array(("Open", "Closed", "Referred"), dtype=object)[
        rng.choice(3, size=n, p=(0.3, 0.6, 0.1))
    ]
    cols = {
        "Case ID": np.array(
            [f"CW-{y}-{s:05d}" for y, s in zip(years, seq, strict=True)], dtype=object
        ),
        "Registration date": registered,
        "Caseworker": staff,
        "Case status": status,
        "First name": _none_if_empty(people.first),
        "Last name": _none_if_empty(people.last),
        "Date of birth": born,
        "Gender": _none_if_empty(pick(("F", "M", "T", "X"), cases.gender, "")),
        "Citizenship": _none_if_empty(citizenship),
        "Country of exploitation": _none_if_empty(_alpha3(cases.exploited_in)),
        "Phone": _none_if_empty(people.phone),
        "Email": _none_if_empty(people.email),
        "Passport number": _none_if_empty(people.document),
        "Address": _none_if_empty(people.address),
        "Exploitation type": _none_if_empty(
            exploitation_flags(cases).render(EXPLOITATION_EN, "; ")
        ),
        "Labour sector": _none_if_empty(cases.labour.render(SECTOR_EN, "; ")),
        "Sexual exploitation type": _none_if_empty(cases.sex.render(SEX_EN, "; ")),
        "Control methods": _none_if_empty(cases.means_of_control.render(MOC_EN, "; ")),
        "Recruiter relationship": _none_if_empty(cases.recruiter.render(RECRUITER_EN, "; ")),
        "Abducted": pick(("No", "Yes"), cases.abducted, None),
        "Case notes": _none_if_empty(people.notes),
    }
    return Export(
        org="casework-ngo",
        filename="casework-ngo.xlsx",
        format="xlsx",
        columns=cols,
        case_id="Case ID",
        identifiers=(
            "Caseworker",
            "First name",
            "Last name",
            "Phone",
            "Email",
            "Passport number",
            "Address",
            "Case notes",
        ),
        sheet="Cases",
        defects={
            "unknown-value": (
                put("Gender", "Q", "FM", "?"),
                put("Abducted", "Maybe"),
                add_label("Control methods", "Witchcraft", "; "),
            ),
            "bad-date": (
                put("Registration date", "2021-13-05", "31/02/2021", "yesterday"),
                put("Date of birth", "1990-02-30", "30/02/1990"),
            ),
            "out-of-range": (_birth_after_registration, _registered_in_future),
            "unknown-country": (
                put("Citizenship", "XYZ", "XXA"),  # XXA: the passport code for stateless
                put("Country of exploitation", "UAE", "XYZ"),  # UAE is not ISO (ARE is)
            ),
            "missing-required": (put("Case ID", None), put("Registration date", None)),
        },
    )


# === intl-agency: JSON array, alpha-2, booleans and lists ========================================

INTL_EXPLOITATION_KEYS = {
    "is_forced_labour": "is_forced_labour",
    "is_sexual_exploit": "is_sexual_exploitation",
    "is_other_exploit": "is_other_exploitation",
    "is_sex_and_labour": "is_sex_and_labour",
    "is_forced_marriage": "is_forced_marriage",
    "is_forced_military": "is_forced_military",
    "is_organ_removal": "is_organ_removal",
    "is_slavery_and_practices": "is_slavery",
}


def _suffix_labels(fields: tuple[str, ...]) -> dict[str, str]:
    """The agency's snake_case labels: the schema field without its group prefix."""
    return {f: f.partition("_")[2] for f in fields}


MOC_INTL = _suffix_labels(MEANS_OF_CONTROL)
SECTOR_INTL = _suffix_labels(LABOUR_SECTORS)
SEX_INTL = _suffix_labels(SEX_TYPES)
RECRUITER_INTL = _suffix_labels(RECRUITERS)
SEX_VALUES_INTL = ("female", "male", "transgender", "non_binary")
#: the agency's office that registers cases exploited in a country (else headquarters)
OFFICES = {
    "DE": "Berlin",
    "PL": "Warsaw",
    "NA": "Windhoek",
    "ZA": "Pretoria",
    "SA": "Riyadh",
    "LY": "Tripoli",
    "YE": "Aden",
    "NG": "Abuja",
    "RU": "Moscow",
    "KZ": "Almaty",
    "IR": "Tehran",
    "LB": "Beirut",
    "DO": "Santo Domingo",
    "CO": "Bogotá",
    "CD": "Goma",
    "KE": "Nairobi",
    "NE": "Niamey",
}
HEADQUARTERS = "Geneva"


def _objects(values: list[Any]) -> np.ndarray:
    """A 1-d object array, even when the items are lists (numpy would make it 2-d)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _none(values: np.ndarray) -> list[Any]:
    return [None if v == "" else v for v in values]


def render_intl(cases: Cases, people: People, rng: np.random.Generator) -> Export:
    """International agency: JSON numbers, booleans, lists and nulls, alpha-2 with "NA".

    Namibia is a frequent code here on purpose: "NA" must survive as a country.
    """
    n = len(cases)
    name = np.where(people.first == "", "", people.first + " " + people.last)
    sex = pick(SEX_VALUES_INTL, cases.gender, "")
    sex[(sex == "") & (rng.random(n) < 0.5)] = "unknown"
    flags = exploitation_flags(cases)
    cols: dict[str, Any] = {
        "case_ref": [f"IA-{k:07d}" for k in _sequential_ids(n, rng, 180_000)],
        "registration_date": list(_dates(cases.registered, "%Y-%m-%d")),
        "field_office": [OFFICES.get(c, HEADQUARTERS) for c in cases.exploited_in],
        "full_name": _none(name),
        "phone_number": _none(people.phone),
        "email": _none(people.email),
        "id_document_number": _none(people.document),
        "home_address": _none(people.address),
        "sex": _none(sex),
        "age": [int(a) if a >= 0 else None for a in cases.age],
        "minor_at_exploitation": [None if m < 0 else bool(m) for m in cases.minor_at_exploit],
        "nationality": _none(cases.citizenship),
        "exploitation_country": _none(cases.exploited_in),
    }
    for j, fieldname in enumerate(flags.fields):
        cols[INTL_EXPLOITATION_KEYS[fieldname]] = [
            bool(v) if known else None
            for v, known in zip(flags.values[:, j], flags.recorded, strict=True)
        ]
    cols |= {
        "means_of_control": list(cases.means_of_control.render(MOC_INTL, None)),
        "labour_sectors": list(cases.labour.render(SECTOR_INTL, None)),
        "sexual_exploitation_types": list(cases.sex.render(SEX_INTL, None)),
        "recruiter_relationship": list(cases.recruiter.render(RECRUITER_INTL, None)),
        "abduction": [None if a < 0 else bool(a) for a in cases.abducted],
        "interview_notes": _none(people.notes),
    }
    return Export(
        org="intl-agency",
        filename="intl-agency.json",
        format="json",
        columns={k: _objects(v) for k, v in cols.items()},
        case_id="case_ref",
        identifiers=(
            "full_name",
            "phone_number",
            "email",
            "id_document_number",
            "home_address",
            "interview_notes",
        ),
        defects={
            "unknown-value": (
                put("sex", "f?", "x"),
                add_label("means_of_control", "juju_oath", None),
                put("abduction", "maybe"),
            ),
            "bad-date": (
                put("registration_date", "2021-13-05", "2020-02-30", "15/03/2021", "yesterday"),
            ),
            "bad-number": (put("age", "abc", "twenty", "35 years"),),
            "out-of-range": (put("age", 150, -1, 121), put("registration_date", "2099-03-01")),
            "unknown-country": (
                put("nationality", "XQ", "ZZ"),
                put("exploitation_country", "UK", "XQ"),  # UK is not ISO (GB is)
            ),
            "missing-required": (put("case_ref", ""), put("registration_date", None)),
        },
    )


# === registry-gov: CTDC-style CSV, 0/1/-99 flags =================================================

AGE_BANDS = (
    (0, "0--8"),
    (9, "9--17"),
    (18, "18--20"),
    (21, "21--23"),
    (24, "24--26"),
    (27, "27--29"),
    (30, "30--38"),
    (39, "39--47"),
    (48, "48+"),
)
REGISTRY_MISSING = "-99"


def _flags01(group: FlagGroup) -> dict[str, np.ndarray]:
    coded = np.where(group.values, "1", "0").astype(object)
    coded[~group.recorded] = REGISTRY_MISSING
    return {camel(f): coded[:, j] for j, f in enumerate(group.fields)}


def _status(minor: np.ndarray, unknown: str) -> np.ndarray:
    return pick(("Adult", "Minor"), minor, unknown)


def render_registry(cases: Cases, people: People, rng: np.random.Generator) -> Export:
    """Government registry in CTDC's own coding: 0/1/-99 flags, "00", "18--20" bands.

    It also carries CTDC's redundant concatenated column, which the mapping
    ignores (ctdc derives its own from the flags).
    """
    n = len(cases)
    edges = np.array([lo for lo, _ in AGE_BANDS])
    band = np.searchsorted(edges, cases.age, side="right") - 1
    age_broad = pick(
        tuple(b for _, b in AGE_BANDS), np.where(cases.age < 0, -1, band), REGISTRY_MISSING
    )
    moc_labels = {f: f.replace("moc_", "").replace("_", " ").capitalize() for f in MEANS_OF_CONTROL}
    cols = {
        "caseNumber": np.array([f"{k:07d}" for k in _sequential_ids(n, rng, 0)], dtype=object),
        "yearOfRegistration": pd.DatetimeIndex(cases.registered).year.astype(str).to_numpy(object),
        "firstName": people.first,
        "lastName": people.last,
        "phoneNumber": people.phone,
        "email": people.email,
        "nationalIdNumber": people.document,
        "streetAddress": people.address,
        "remarks": people.notes,
        "gender": pick(("Female", "Male", "Transgender", "NonConforming"), cases.gender, "Unknown"),
        "ageBroad": age_broad,
        "majorityStatus": _status(cases.minor, "Unknown"),
        "majorityStatusAtExploit": _status(cases.minor_at_exploit, REGISTRY_MISSING),
        "majorityEntry": _status(cases.minor_at_entry, REGISTRY_MISSING),
        "citizenship": np.where(cases.citizenship == "", "00", cases.citizenship),
        "CountryOfExploitation": np.where(cases.exploited_in == "", "00", cases.exploited_in),
        **_flags01(exploitation_flags(cases)),
        **_flags01(cases.means_of_control),
        "meansOfControlConcatenated": cases.means_of_control.render(moc_labels, ";"),
        "isAbduction": pick(("0", "1"), cases.abducted, REGISTRY_MISSING),
        **_flags01(cases.labour),
        **_flags01(cases.sex),
        **_flags01(cases.recruiter),
    }
    return Export(
        org="registry-gov",
        filename="registry-gov.csv",
        format="csv",
        columns=cols,
        case_id="caseNumber",
        identifiers=(
            "firstName",
            "lastName",
            "phoneNumber",
            "email",
            "nationalIdNumber",
            "streetAddress",
            "remarks",
        ),
        defects={
            "unknown-value": (
                put("gender", "Q", "M", "F"),
                put("ageBroad", "18-25", "0--17"),
                put("isAbduction", "2"),
            ),
            "bad-number": (put("yearOfRegistration", "20l9", "twenty", "2019.5"),),
            "out-of-range": (put("yearOfRegistration", "2099", "1999"),),
            "unknown-country": (put("citizenship", "XQ", "UK"), put("CountryOfExploitation", "XX")),
            "missing-required": (put("caseNumber", ""), put("yearOfRegistration", "", "-99")),
        },
    )


RENDERERS: dict[str, Callable[[Cases, People, np.random.Generator], Export]] = {
    "hotline-es": render_hotline,
    "casework-ngo": render_casework,
    "intl-agency": render_intl,
    "registry-gov": render_registry,
}
