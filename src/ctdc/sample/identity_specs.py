"""How each organization's direct identifiers look: locales, note templates, formats.

Data, not code: which Faker locale names a victim of each citizenship, in
which language the caseworkers write notes, the phone and document formats of
each country, and how often each identifier is recorded at all.
``identity.draw_people`` draws from these.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IdentitySpec:
    """How one organization's identifiers look."""

    default_locale: str
    locales: dict[str, str]  # citizenship alpha-2 -> Faker locale for the victim's name
    notes_locale: str  # language of the free-text notes
    notes: tuple[str, ...]  # note templates: {first} {last} {city} {phone} {address} {s1} {s2}
    phones: dict[str, tuple[str, ...]]  # country of exploitation -> formats ("#" = digit)
    documents: dict[str, tuple[str, ...]]  # citizenship -> formats ("#" digit, "@" letter)
    latin1: bool = False
    two_surnames: bool = False
    present: dict[str, float] = field(default_factory=dict)  # share of rows with the value


_ES_NOTES = (
    "{first} llamó desde {city}; refiere que le ofrecieron trabajo y le retienen el pasaporte.",
    "Llamada de un familiar de {first} {last}. {s1}",
    "Se deriva a albergue en {city}. {s1}",
    "Refiere deuda con el empleador. Contacto seguro: {phone}. {s1}",
    "Vive en {address}; pide no llamar de noche. {s1}",
    "{s1} {s2}",
)
_EN_NOTES = (
    "{first} was referred by a labour inspector in {city}. {s1}",
    "Client reports passport held by employer. Safe contact via {phone}.",
    "Met {first} {last} at the shelter in {city}. {s1}",
    "Follow-up visit planned at {address}. {s1}",
    "{s1} {s2}",
)
_PASSPORT = ("@@#######", "@########")

SPECS: dict[str, IdentitySpec] = {
    "hotline-es": IdentitySpec(
        default_locale="es_MX",
        locales={
            "CO": "es_CO",
            "VE": "es_CO",
            "EC": "es_CO",
            "ES": "es_ES",
            "AR": "es_AR",
            "PY": "es_AR",
            "BO": "es_AR",
            "UY": "es_AR",
            "CL": "es_CL",
            "PE": "es_CL",
        },
        notes_locale="es_ES",
        notes=_ES_NOTES,
        phones={
            "CO": ("+57 3## ### ####",),
            "MX": ("+52 55 #### ####", "+52 1 ### ### ####"),
            "PE": ("+51 9## ### ###",),
            "ES": ("+34 6## ### ###",),
            "AR": ("+54 9 11 ####-####",),
            "": ("+57 3## ### ####", "### ### ####"),
        },
        documents={
            "VE": ("V-########",),
            "CO": ("CC 1.0##.###.###",),
            "PE": ("DNI ########",),
            "": ("PAS @@######",),
        },
        latin1=True,
        two_surnames=True,
        present={
            "first": 0.88,
            "phone": 0.8,
            "email": 0.35,
            "document": 0.45,
            "address": 0.4,
            "notes": 0.95,
        },
    ),
    "casework-ngo": IdentitySpec(
        default_locale="en_GB",
        locales={
            "ID": "id_ID",
            "VN": "vi_VN",
            "IN": "en_IN",
            "NP": "en_IN",
            "BD": "en_IN",
            "LK": "en_IN",
            "NG": "en_NG",
            "ET": "en_KE",
            "UA": "uk_UA",
            "RO": "ro_RO",
            "AL": "en_GB",
            "PH": "en_US",
            "TH": "en_US",
            "KH": "en_US",
            "MM": "en_US",
        },
        notes_locale="en_US",
        notes=_EN_NOTES,
        phones={
            "AE": ("+971 5# ### ####",),
            "SA": ("+966 5# ### ####",),
            "MY": ("+60 1#-### ####",),
            "TH": ("+66 8# ### ####",),
            "GB": ("+44 7### ######",),
            "IN": ("+91 9#### #####",),
            "": ("+63 9## ### ####",),
        },
        documents={"PH": ("P#######@",), "": _PASSPORT},
        present={
            "first": 0.99,
            "phone": 0.75,
            "email": 0.45,
            "document": 0.7,
            "address": 0.6,
            "notes": 0.9,
        },
    ),
    "intl-agency": IdentitySpec(
        default_locale="en_US",
        locales={
            "UA": "uk_UA",
            "MD": "ro_RO",
            "RU": "ru_RU",
            "KG": "ru_RU",
            "UZ": "uz_UZ",
            "NA": "en_US",
            "ZA": "zu_ZA",
            "ZW": "zu_ZA",
            "ET": "en_KE",
            "ER": "en_KE",
            "SO": "en_KE",
            "UG": "en_KE",
            "NG": "yo_NG",
            "GH": "tw_GH",
            "SY": "ar_AA",
            "YE": "ar_AA",
            "AF": "fa_IR",
            "VE": "es_CO",
            "HT": "fr_FR",
            "CD": "fr_FR",
            "BJ": "fr_FR",
            "NE": "fr_FR",
            "AO": "pt_PT",
        },
        notes_locale="en_US",
        notes=_EN_NOTES,
        phones={
            "DE": ("+49 15# #######",),
            "PL": ("+48 ### ### ###",),
            "NA": ("+264 81 ### ####",),
            "ZA": ("+27 7# ### ####",),
            "RU": ("+7 9## ###-##-##",),
            "SA": ("+966 5# ### ####",),
            "LY": ("+218 9# ### ####",),
            "": ("+2## ## ### ####", "+9## ## ### ####"),
        },
        documents={"UA": ("@@######",), "NA": ("P@#######",), "": _PASSPORT},
        present={
            "first": 0.97,
            "phone": 0.7,
            "email": 0.3,
            "document": 0.65,
            "address": 0.5,
            "notes": 0.85,
        },
    ),
    "registry-gov": IdentitySpec(
        default_locale="en_US",
        locales={
            "MX": "es_MX",
            "GT": "es_MX",
            "HN": "es_MX",
            "SV": "es_MX",
            "VE": "es_CO",
            "CN": "zh_CN",
            "KR": "ko_KR",
            "PH": "en_US",
            "IN": "en_IN",
            "TH": "en_US",
        },
        notes_locale="en_US",
        notes=_EN_NOTES,
        phones={"": ("(###) ###-####", "+1 ### ### ####")},
        documents={"US": ("9##-##-####",), "": ("A#########",)},
        present={
            "first": 1.0,
            "phone": 0.85,
            "email": 0.5,
            "document": 0.8,
            "address": 0.9,
            "notes": 0.8,
        },
    ),
}
