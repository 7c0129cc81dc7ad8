"""registry-gov: a government registry's CSV in CTDC's own coding (0/1/-99 flags, bands)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctdc.sample.columns import exploitation_flags, pick, sequential_ids
from ctdc.sample.defects import put
from ctdc.sample.export import Export
from ctdc.sample.identity import People
from ctdc.sample.world import MEANS_OF_CONTROL, Cases, FlagGroup

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
        "caseNumber": np.array([f"{k:07d}" for k in sequential_ids(n, rng, 0)], dtype=object),
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
