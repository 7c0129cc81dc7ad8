"""casework-ngo: an NGO case system's English XLSX with date cells and alpha-3 codes."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
import pycountry

from ctdc.sample.columns import exploitation_flags, pick
from ctdc.sample.defects import add_label, put
from ctdc.sample.export import Export
from ctdc.sample.identity import People
from ctdc.sample.world import Cases

if TYPE_CHECKING:
    from pycountry.db import Country

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


def _to_date(day: np.datetime64) -> dt.date | None:
    return None if np.isnat(day) else day.astype("datetime64[D]").item()


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
