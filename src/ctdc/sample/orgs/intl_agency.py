"""intl-agency: an international agency's JSON array of numbers, booleans, lists and nulls."""

from __future__ import annotations

from typing import Any

import numpy as np

from ctdc.sample.columns import dates, exploitation_flags, pick, sequential_ids
from ctdc.sample.defects import add_label, put
from ctdc.sample.export import Export
from ctdc.sample.identity import People
from ctdc.sample.world import LABOUR_SECTORS, MEANS_OF_CONTROL, RECRUITERS, SEX_TYPES, Cases

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
        "case_ref": [f"IA-{k:07d}" for k in sequential_ids(n, rng, 180_000)],
        "registration_date": list(dates(cases.registered, "%Y-%m-%d")),
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
