"""A small correlated model of identified victims, drawn column-wise with numpy.

Independent uniform columns would make anonymization look easy: every
combination of quasi-identifiers would be equally (un)common. Real case data
is skewed and correlated, so the model follows the shape of the public CTDC
data instead:

* a handful of weighted **corridors** per organization (citizenship ->
  country of exploitation, including domestic cases), each with an
  exploitation profile (sexual, labour, domestic work, marriage, conflict);
* a **long tail** of rare nationalities drawn with Zipf weights, so some
  appear only once or twice in an export (the records k-anonymity must
  protect);
* gender and age depending on the type of exploitation (sexual
  exploitation skewed female and young with a share of minors, forced labour
  skewed male and adult), means of control, labour sector, type of sexual
  exploitation and recruiter relationship depending on it too;
* registration dates 2015-2025, more cases in recent years.

Everything here is organization-neutral *truth*; ``writers.py`` renders it
into each organization's own columns, codes and language. Flag groups are
keyed by the schema's field names (``moc_threats``, ``labour_agriculture``),
so a writer's label table and its mapping's vocabulary can be checked
against the schema.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: type of exploitation (schema fields, group ``type_of_exploitation``); one per case
EXPLOITATION: tuple[str, ...] = (
    "is_sexual_exploit",
    "is_forced_labour",
    "is_sex_and_labour",
    "is_forced_marriage",
    "is_other_exploit",
    "is_forced_military",
    "is_organ_removal",
    "is_slavery_and_practices",
)
SEXUAL, LABOUR, SEX_AND_LABOUR, MARRIAGE, OTHER, MILITARY, ORGAN, SLAVERY = range(8)

#: gender as the schema spells it; -1 in ``Cases.gender`` means unknown
GENDERS: tuple[str, ...] = ("Female", "Male", "Transgender", "NonConforming")
FEMALE, MALE, TRANS, NONCONFORMING = range(4)

MEANS_OF_CONTROL: tuple[str, ...] = (
    "moc_debt_bondage",
    "moc_takes_earnings",
    "moc_restricts_financial_access",
    "moc_threats",
    "moc_psychological_abuse",
    "moc_physical_abuse",
    "moc_sexual_abuse",
    "moc_false_promises",
    "moc_psychoactive_substances",
    "moc_restricts_movement",
    "moc_restricts_medical_care",
    "moc_excessive_working_hours",
    "moc_uses_children",
    "moc_threat_of_law_enforcement",
    "moc_withholds_necessities",
    "moc_withholds_documents",
    "moc_other",
    "moc_not_specified",
)
LABOUR_SECTORS: tuple[str, ...] = (
    "labour_agriculture",
    "labour_aquafarming",
    "labour_begging",
    "labour_construction",
    "labour_domestic_work",
    "labour_hospitality",
    "labour_illicit_activities",
    "labour_manufacturing",
    "labour_mining_or_drilling",
    "labour_peddling",
    "labour_transportation",
    "labour_other",
    "labour_not_specified",
)
SEX_TYPES: tuple[str, ...] = (
    "sex_prostitution",
    "sex_pornography",
    "sex_remote_interactive_services",
    "sex_private_sexual_services",
)
RECRUITERS: tuple[str, ...] = (
    "recruiter_intimate_partner",
    "recruiter_friend",
    "recruiter_family",
    "recruiter_other",
    "recruiter_unknown",
)

FIRST_YEAR, LAST_YEAR = 2015, 2025

# --- exploitation profiles of a corridor ---------------------------------------------------------
#: probability of each EXPLOITATION type (normalized on use)
PROFILES: dict[str, tuple[float, ...]] = {
    "sex": (0.80, 0.08, 0.05, 0.02, 0.04, 0.0, 0.0, 0.01),
    "labour": (0.10, 0.76, 0.04, 0.01, 0.06, 0.0, 0.01, 0.02),
    "domestic": (0.07, 0.86, 0.03, 0.01, 0.02, 0.0, 0.0, 0.01),
    "mixed": (0.46, 0.38, 0.05, 0.03, 0.05, 0.005, 0.005, 0.02),
    "marriage": (0.18, 0.10, 0.02, 0.62, 0.06, 0.0, 0.0, 0.02),
    "conflict": (0.18, 0.28, 0.05, 0.14, 0.10, 0.18, 0.03, 0.04),
}
#: labour sector weights (LABOUR_SECTORS without not_specified); a corridor hint adds to one
_SECTOR_BASE = np.array([18, 5, 6, 15, 18, 8, 5, 12, 4, 4, 3, 2], dtype=float)
_SECTOR_HINT_WEIGHT = 60.0
_DOMESTIC = LABOUR_SECTORS.index("labour_domestic_work")

#: gender given exploitation type (Female, Male, Transgender, NonConforming)
_GENDER_BY_TYPE = np.array(
    [
        (0.86, 0.09, 0.04, 0.01),
        (0.32, 0.67, 0.005, 0.005),
        (0.70, 0.28, 0.015, 0.005),
        (0.96, 0.04, 0.0, 0.0),
        (0.50, 0.49, 0.005, 0.005),
        (0.12, 0.88, 0.0, 0.0),
        (0.30, 0.70, 0.0, 0.0),
        (0.60, 0.40, 0.0, 0.0),
    ]
)
_GENDER_DOMESTIC_WORK = np.array((0.86, 0.13, 0.005, 0.005))

#: age given exploitation type: (share of minors, youngest minor, adult mean, adult sd)
_AGE_BY_TYPE = np.array(
    [
        (0.30, 12, 24, 6),
        (0.10, 6, 33, 10),
        (0.20, 13, 27, 7),
        (0.45, 12, 21, 3),
        (0.25, 4, 30, 12),
        (0.60, 12, 20, 3),
        (0.05, 14, 33, 9),
        (0.20, 6, 35, 12),
    ]
)

# means of control (MEANS_OF_CONTROL without not_specified) for the two poles of exploitation
_MOC_LABOUR = np.array(
    [.35, .45, .15, .40, .35, .20, .03, .40, .02, .35, .10, .50, .01, .20, .15, .45, .05]
)  # fmt: skip
_MOC_SEXUAL = np.array(
    [.30, .45, .10, .50, .55, .40, .45, .50, .20, .40, .10, .15, .02, .15, .15, .20, .05]
)  # fmt: skip
_MOC_MIXED = (_MOC_LABOUR + _MOC_SEXUAL) / 2
_MOC_BY_TYPE = np.stack(
    [
        _MOC_SEXUAL,
        _MOC_LABOUR,
        _MOC_MIXED,
        _MOC_SEXUAL * 0.8,
        _MOC_MIXED,
        _MOC_MIXED,
        _MOC_LABOUR * 0.8,
        _MOC_MIXED,
    ]
)
_SEX_TYPE_P = np.array((0.82, 0.15, 0.10, 0.10))
#: recruiter relationship (one per case) for sexual / marriage / anything else
_RECRUITER_SEXUAL = np.array((0.25, 0.25, 0.10, 0.20, 0.20))
_RECRUITER_MARRIAGE = np.array((0.05, 0.05, 0.65, 0.10, 0.15))
_RECRUITER_OTHER = np.array((0.04, 0.25, 0.15, 0.31, 0.25))
_ABDUCTION_BY_TYPE = np.array((0.05, 0.03, 0.05, 0.20, 0.05, 0.50, 0.10, 0.08))

# shares of "not recorded"
P_UNKNOWN_CITIZENSHIP = 0.03
P_UNKNOWN_COUNTRY = 0.04
P_UNKNOWN_GENDER = 0.02
P_UNKNOWN_AGE = 0.06
P_UNKNOWN_EXPLOITATION = 0.03
P_RARE_NATIONALITY = 0.05


@dataclass(frozen=True)
class Corridor:
    """A route with its weight and exploitation profile (optionally a typical sector)."""

    citizenship: str
    exploited_in: str
    weight: float
    profile: str
    sector: str | None = None


def _c(cit: str, coe: str, w: float, profile: str, sector: str | None = None) -> Corridor:
    return Corridor(cit, coe, w, profile, f"labour_{sector}" if sector else None)


#: the corridors each organization sees most (ISO alpha-2)
CORRIDORS: dict[str, tuple[Corridor, ...]] = {
    # a regional Spanish-language hotline: Latin America and Spain
    "hotline-es": (
        _c("VE", "CO", 18, "mixed"), _c("VE", "PE", 10, "sex"), _c("CO", "CO", 12, "mixed"),
        _c("HN", "MX", 8, "labour", "agriculture"), _c("GT", "MX", 7, "labour", "agriculture"),
        _c("SV", "MX", 4, "mixed"), _c("MX", "MX", 10, "mixed"), _c("CO", "ES", 6, "sex"),
        _c("PY", "AR", 4, "sex"), _c("BO", "AR", 5, "labour", "manufacturing"),
        _c("DO", "ES", 3, "sex"), _c("PE", "PE", 6, "labour", "mining_or_drilling"),
        _c("EC", "CO", 3, "mixed"), _c("HT", "DO", 3, "labour", "agriculture"),
        _c("NI", "CR", 3, "labour", "agriculture"), _c("CU", "MX", 2, "mixed"),
        _c("VE", "ES", 2, "sex"), _c("CN", "AR", 1, "labour", "manufacturing"),
        _c("RO", "ES", 1, "sex"), _c("US", "MX", 1, "sex"),
    ),
    # an NGO's case-management system: South-East Asia, the Gulf and Europe
    "casework-ngo": (
        _c("PH", "AE", 14, "domestic"), _c("PH", "SA", 8, "domestic"),
        _c("ID", "MY", 10, "labour", "agriculture"), _c("MM", "TH", 10, "labour", "aquafarming"),
        _c("KH", "TH", 8, "labour", "construction"), _c("NP", "IN", 6, "sex"),
        _c("BD", "IN", 5, "mixed"), _c("VN", "GB", 5, "labour", "illicit_activities"),
        _c("NG", "IT", 6, "sex"), _c("TH", "TH", 4, "mixed"), _c("LA", "TH", 4, "sex"),
        _c("IN", "IN", 6, "labour", "manufacturing"), _c("LK", "KW", 4, "domestic"),
        _c("ET", "SA", 4, "domestic"), _c("UA", "PL", 3, "labour", "agriculture"),
        _c("AL", "GB", 3, "mixed"), _c("RO", "GB", 3, "labour", "hospitality"),
        _c("GB", "GB", 3, "mixed"), _c("CN", "MY", 2, "sex"), _c("KP", "CN", 1, "marriage"),
    ),
    # an international agency: global, with Namibia (NA) among the frequent codes
    "intl-agency": (
        _c("UA", "DE", 8, "mixed"), _c("UA", "PL", 6, "labour", "agriculture"),
        _c("NA", "NA", 6, "mixed"), _c("NA", "ZA", 4, "labour", "domestic_work"),
        _c("AO", "NA", 3, "labour", "agriculture"), _c("ZW", "ZA", 5, "labour", "agriculture"),
        _c("ET", "SA", 5, "domestic"), _c("ER", "LY", 4, "conflict"),
        _c("SO", "YE", 2, "conflict"), _c("NG", "LY", 5, "sex"),
        _c("GH", "NG", 3, "labour", "begging"), _c("MD", "RU", 3, "labour", "construction"),
        _c("KG", "RU", 4, "labour", "construction"), _c("UZ", "KZ", 4, "labour", "agriculture"),
        _c("AF", "IR", 4, "labour", "manufacturing"), _c("SY", "LB", 3, "mixed"),
        _c("HT", "DO", 3, "labour", "agriculture"), _c("VE", "CO", 4, "mixed"),
        _c("CD", "CD", 4, "conflict"), _c("UG", "KE", 3, "mixed"),
        _c("BJ", "NG", 2, "labour", "domestic_work"), _c("NE", "NE", 2, "marriage"),
        _c("YE", "YE", 2, "conflict"),
    ),
    # a national government registry (mostly domestic and one neighbour)
    "registry-gov": (
        _c("US", "US", 30, "mixed"), _c("MX", "US", 14, "labour", "agriculture"),
        _c("GT", "US", 6, "labour", "agriculture"), _c("HN", "US", 6, "mixed"),
        _c("PH", "US", 4, "labour", "hospitality"), _c("CN", "US", 4, "sex"),
        _c("IN", "US", 3, "labour", "domestic_work"), _c("TH", "US", 2, "labour", "agriculture"),
        _c("SV", "US", 3, "mixed"), _c("KR", "US", 2, "sex"), _c("NG", "US", 1, "sex"),
        _c("US", "MX", 1, "sex"), _c("VE", "US", 2, "mixed"), _c("HT", "US", 1, "labour"),
    ),
}  # fmt: skip

#: nationalities of the long tail (sovereign states whose names all forms render cleanly)
_RARE = """
NG PH MA SN PK BD IN VN UA GH CM GN NP LK UY PA CR BZ JM TT GY SR JP TR AF IQ ER SO ET KE AO MZ
ZW ML BF NE TD CF SS CG GA TG BJ SL LR GM MR DZ TN EG LY JO LB IL YE OM KZ KG TJ TM MN ID MY KH
TH BT MV FJ PG AL RS BA BG HU PL LT LV EE GE AM AZ BY PT IT FR DE
"""
RARE_NATIONALITIES: tuple[str, ...] = tuple(_RARE.split())
_RARE_POOL_SIZE = 40
_ZIPF_EXPONENT = 1.2


@dataclass(frozen=True)
class FlagGroup:
    """One flag group of the schema: a bool matrix (cases x flags) and who has it recorded."""

    fields: tuple[str, ...]
    values: np.ndarray  # bool (n, len(fields))
    recorded: np.ndarray  # bool (n,): False = not recorded (all flags NULL)

    def render(self, labels: dict[str, str], sep: str | None) -> np.ndarray:
        """Each case's flags as ``sep``-joined labels ("" = not recorded), or as lists.

        Rows are rendered once per distinct flag pattern (a bit mask), not once
        per row: a 100k-row export has only a few hundred patterns.
        """
        masks = self.values.astype(np.int64) @ (np.int64(1) << np.arange(len(self.fields)))
        masks = np.where(self.recorded, masks, -1)
        uniq, inverse = np.unique(masks, return_inverse=True)
        rendered = np.empty(len(uniq), dtype=object)
        for k, mask in enumerate(uniq):
            names = [labels[f] for j, f in enumerate(self.fields) if mask >= 0 and mask >> j & 1]
            if sep is None:
                rendered[k] = names if mask >= 0 else None
            else:
                rendered[k] = sep.join(names)
        return rendered[inverse]


@dataclass(frozen=True)
class Cases:
    """The truth of ``n`` cases, sorted by registration date (exports list them so)."""

    citizenship: np.ndarray  # object: alpha-2, "" = unknown
    exploited_in: np.ndarray  # object: alpha-2, "" = unknown
    exploitation: np.ndarray  # int8 index into EXPLOITATION, -1 = not recorded
    gender: np.ndarray  # int8 index into GENDERS, -1 = unknown
    age: np.ndarray  # int16 age in whole years at registration, -1 = unknown
    registered: np.ndarray  # datetime64[D]
    born: np.ndarray  # datetime64[D], NaT when the age is unknown
    minor_at_exploit: np.ndarray  # int8: 1 minor, 0 adult, -1 unknown
    minor_at_entry: np.ndarray  # int8: 1 minor, 0 adult, -1 unknown
    abducted: np.ndarray  # int8: 1 yes, 0 no, -1 not recorded
    means_of_control: FlagGroup
    labour: FlagGroup
    sex: FlagGroup
    recruiter: FlagGroup

    def __len__(self) -> int:
        return len(self.registered)

    @property
    def minor(self) -> np.ndarray:
        """int8: 1 minor at registration, 0 adult, -1 unknown."""
        return np.where(self.age < 0, -1, (self.age < 18).astype(np.int8)).astype(np.int8)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows need not be normalized)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return (u[:, None] >= cum).sum(axis=1).clip(0, probs.shape[1] - 1)


def exact_age(born: pd.DatetimeIndex, at: pd.DatetimeIndex) -> np.ndarray:
    """Whole years between two dates, the way the ingest computes it (birthday counted)."""
    before = (at.month * 100 + at.day) < (born.month * 100 + born.day)
    return np.asarray(at.year - born.year - before.astype(int))


def draw_cases(org: str, n: int, rng: np.random.Generator) -> Cases:
    """Draw ``n`` correlated cases for ``org`` (one of ``CORRIDORS``)."""
    corridors = CORRIDORS[org]
    weights = np.array([c.weight for c in corridors], dtype=float)
    route = rng.choice(len(corridors), size=n, p=weights / weights.sum())
    citizenship = np.array([c.citizenship for c in corridors], dtype=object)[route]
    exploited_in = np.array([c.exploited_in for c in corridors], dtype=object)[route]

    # long tail: rare nationalities, exploited where the organization's cases mostly are
    rare = rng.random(n) < P_RARE_NATIONALITY
    pool = rng.permutation(np.array(RARE_NATIONALITIES, dtype=object))[:_RARE_POOL_SIZE]
    zipf = 1.0 / np.arange(1, len(pool) + 1) ** _ZIPF_EXPONENT
    citizenship[rare] = rng.choice(pool, size=int(rare.sum()), p=zipf / zipf.sum())
    citizenship[rng.random(n) < P_UNKNOWN_CITIZENSHIP] = ""
    exploited_in[rng.random(n) < P_UNKNOWN_COUNTRY] = ""

    profiles = np.array([PROFILES[c.profile] for c in corridors])[route]
    exploitation = _choice_rows(rng, profiles).astype(np.int8)

    # labour sector (forced labour and sex-and-labour cases), nudged by the corridor's hint
    sector_w = np.tile(_SECTOR_BASE, (len(corridors), 1))
    for i, c in enumerate(corridors):
        if c.profile == "domestic":
            sector_w[i, _DOMESTIC] += _SECTOR_HINT_WEIGHT * 2
        if c.sector:
            sector_w[i, LABOUR_SECTORS.index(c.sector)] += _SECTOR_HINT_WEIGHT
    sector = _choice_rows(rng, sector_w[route])
    has_sector = np.isin(exploitation, (LABOUR, SEX_AND_LABOUR))
    sector_known = has_sector & (rng.random(n) > 0.08)
    labour = np.zeros((n, len(LABOUR_SECTORS)), dtype=bool)
    labour[np.flatnonzero(sector_known), sector[sector_known]] = True
    labour[has_sector & ~sector_known, LABOUR_SECTORS.index("labour_not_specified")] = True

    # gender depends on the type of exploitation (and domestic work)
    gp = _GENDER_BY_TYPE[exploitation]
    gp[sector_known & (sector == _DOMESTIC)] = _GENDER_DOMESTIC_WORK
    gender = _choice_rows(rng, gp).astype(np.int8)
    gender[rng.random(n) < P_UNKNOWN_GENDER] = -1

    # age at registration depends on the type of exploitation
    minor_share, youngest, mean, sd = _AGE_BY_TYPE[exploitation].T
    is_minor = rng.random(n) < minor_share
    minor_age = youngest + np.floor(rng.random(n) * (18 - youngest))
    adult_age = np.clip(np.rint(rng.normal(mean, sd)), 18, 78)
    age = np.where(is_minor, minor_age, adult_age).astype(np.int16)
    age[rng.random(n) < P_UNKNOWN_AGE] = -1

    # registration date, 2015-2025, more cases in recent years
    years = np.arange(FIRST_YEAR, LAST_YEAR + 1)
    yw = np.linspace(0.6, 1.4, len(years))
    year = rng.choice(years, size=n, p=yw / yw.sum())
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    length = ((year + 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]") - start).astype(int)
    registered = start + np.floor(rng.random(n) * length).astype("timedelta64[D]")

    # birth date consistent with the age; the age is then recomputed exactly from it
    offset = np.rint((np.maximum(age, 0) + rng.random(n)) * 365.2425).astype("timedelta64[D]")
    born = registered - offset
    age = np.where(
        age < 0,
        -1,
        exact_age(pd.DatetimeIndex(born), pd.DatetimeIndex(registered)),
    ).astype(np.int16)
    born = np.where(age < 0, np.datetime64("NaT"), born).astype("datetime64[D]")

    # minor at the start of exploitation / at entry into trafficking
    known = age >= 0
    p_minor_exploit = np.select([age < 18, age <= 21, age <= 25], [1.0, 0.35, 0.10], 0.02)
    minor_at_exploit = (rng.random(n) < p_minor_exploit).astype(np.int8)
    minor_at_exploit[~known | (rng.random(n) < 0.10)] = -1
    minor_at_entry = np.where(minor_at_exploit == 1, 1, (rng.random(n) < 0.05).astype(np.int8))
    minor_at_entry = np.where(minor_at_exploit < 0, -1, minor_at_entry).astype(np.int8)

    known_type = rng.random(n) >= P_UNKNOWN_EXPLOITATION
    exploitation[~known_type] = -1
    type_idx = np.where(known_type, exploitation, OTHER)
    labour[~known_type] = False
    labour_recorded = has_sector & known_type

    # means of control: independent flags per type; none drawn -> "not specified"
    moc = rng.random((n, len(MEANS_OF_CONTROL) - 1)) < _MOC_BY_TYPE[type_idx]
    not_specified = ~moc.any(axis=1)
    moc = np.column_stack([moc, not_specified])
    moc_recorded = rng.random(n) > 0.15

    has_sex = known_type & np.isin(exploitation, (SEXUAL, SEX_AND_LABOUR))
    sex = rng.random((n, len(SEX_TYPES))) < _SEX_TYPE_P
    sex[~sex.any(axis=1), 0] = True  # prostitution when nothing else was drawn
    sex &= has_sex[:, None]

    rp = np.where(
        np.isin(type_idx, (SEXUAL, SEX_AND_LABOUR))[:, None],
        _RECRUITER_SEXUAL,
        np.where((type_idx == MARRIAGE)[:, None], _RECRUITER_MARRIAGE, _RECRUITER_OTHER),
    )
    recruiter = np.zeros((n, len(RECRUITERS)), dtype=bool)
    recruiter[np.arange(n), _choice_rows(rng, rp)] = True
    recruiter_recorded = rng.random(n) > 0.25

    abducted = (rng.random(n) < _ABDUCTION_BY_TYPE[type_idx]).astype(np.int8)
    abducted[rng.random(n) < 0.20] = -1

    order = np.argsort(registered, kind="stable")
    return Cases(
        citizenship=citizenship[order],
        exploited_in=exploited_in[order],
        exploitation=exploitation[order],
        gender=gender[order],
        age=age[order],
        registered=registered[order],
        born=born[order],
        minor_at_exploit=minor_at_exploit[order],
        minor_at_entry=minor_at_entry[order],
        abducted=abducted[order],
        means_of_control=FlagGroup(MEANS_OF_CONTROL, moc[order], moc_recorded[order]),
        labour=FlagGroup(LABOUR_SECTORS, labour[order], labour_recorded[order]),
        sex=FlagGroup(SEX_TYPES, sex[order], has_sex[order]),
        recruiter=FlagGroup(RECRUITERS, recruiter[order], recruiter_recorded[order]),
    )
