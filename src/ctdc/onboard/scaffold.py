"""``ctdc mapping init``: a first ``pipelines/<org>.yaml`` written from a sample export.

The scaffold is a starting point for a data officer, never a finished mapping:

1. **read** the sample with the ingest readers (every value as text); the
   format comes from the file name, the encoding and delimiter are guessed
   from the bytes and pinned in the scaffold, so that they can be checked;
2. **place** every column: direct identifiers by their words (name, phone,
   e-mail, address, notes... in English, Spanish, French and Portuguese) go to
   ``drop:``; the others are matched fuzzily (``difflib``) to the schema's
   field names, CTDC names and descriptions, to flag groups (multi-value
   columns) and to a few multilingual synonyms of the profile fields. A
   column matched to nothing is left out on purpose: ``ctdc validate`` then
   stops on it with ``unmapped-column``, since a column nobody looked at may
   well identify a person;
3. **list the values** of mapped category, boolean, country and multi-value
   columns that the mapping does not translate yet, with their counts. Values
   the schema already accepts need nothing; values that differ from a schema
   value only in punctuation (``18--20``) and words for "unknown" get an
   entry; every other one is written as a commented ``# value: TODO`` line
   (with a suggestion where there is one), so that the scaffold loads, and
   ``ctdc validate`` quarantines those rows as ``unknown-value`` until the
   line is filled in.

The YAML is written as text (not dumped) to carry comments: why each column
was placed where it is, and how many rows each value has.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ctdc.errors import CtdcError
from ctdc.formats.detect import detect_delimiter, detect_sheet, explain_encoding, read_head
from ctdc.formats.read import read_export
from ctdc.mapping.countries import country_lookup
from ctdc.mapping.source import SourceSpec
from ctdc.mapping.spec import (
    BOOLEAN_WORDS,
    EXCEL_SERIAL,
    FORMATS,
    check_org_name,
    load_mapping,
    normalize,
)
from ctdc.mapping.transform import excel_serial_dates
from ctdc.schema import Field, Group, Schema
from ctdc.store.atomic import write_bytes
from ctdc.text import escape, escape_json, has_unsafe
from ctdc.yamlio import TextLoader, load_yaml_text

#: a column is placed when its best match scores at least this (1.0 = same words)
MATCH_THRESHOLD = 0.75
#: a description shares words with a column: weight of that weaker signal
DESCRIPTION_WEIGHT = 0.8


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS = _wordset(
    "a an and at by for in is of on or the to de del la las el los y en le les des du d l et au "
    "aux por para da do dos das e o"
)

#: words (after normalization) that make a column a direct identifier
IDENTIFIER_WORDS = _wordset(
    "name names firstname lastname surname surnames fullname forename nombre nombres apellido "
    "apellidos nom prenom nome sobrenome phone telephone tel mobile cell cellphone telefono "
    "celular movil portable telefone email mail courriel correo address addr street adresse "
    "direccion domicilio endereco residence notes note remarks remark comments comment "
    "narrative observations observaciones notas nota commentaires commentaire remarques "
    "observacoes passport passeport pasaporte passaporte document documento dni cedula nie "
    "ssn nin caseworker counsellor counselor interviewer trabajador gestionnaire assistante "
    "ip photo signature"
)
#: word sequences that make a column a direct identifier
IDENTIFIER_PHRASES = (
    ("national", "id"), ("id", "number"), ("id", "card"), ("id", "document"),
    ("social", "security"), ("numero", "documento"), ("piece", "identite"),
    ("carte", "identite"), ("free", "text"), ("texto", "libre"), ("texte", "libre"),
    ("titre", "sejour"), ("residence", "permit"), ("permiso", "residencia"),
)  # fmt: skip
#: word sequences naming a birth date: the age is computed from it, then it is dropped
BIRTH_DATE_PHRASES = (
    ("date", "birth"), ("birth", "date"), ("dob",), ("birthdate",), ("birthday",),
    ("fecha", "nacimiento"), ("naissance",), ("data", "nascimento"), ("nascimento",),
    ("geburtsdatum",),
)  # fmt: skip

#: a few multilingual names of targets whose schema names are far from what exports say
SYNONYMS: dict[str, tuple[str, ...]] = {
    "case_id": ("case id", "case ref", "case reference", "case number", "case no", "case code",
                "record id", "file number", "id caso", "numero caso", "codigo caso",
                "expediente", "numero dossier", "id dossier", "dossier", "reference",
                "ref dossier", "code dossier", "id", "numero processo"),
    "age": ("age", "edad", "age years", "age at registration", "idade", "alter"),
    "year_of_registration": ("registration date", "date registered", "date of registration",
                             "registered on", "intake date", "date of intake", "opened on",
                             "date opened", "fecha registro", "fecha ingreso", "fecha alta",
                             "date enregistrement", "date inscription", "date accueil",
                             "date ouverture", "data registro", "year", "registration year"),
    "gender": ("sex", "gender", "sexo", "sexe", "genero", "genre"),
    "citizenship": ("nationality", "citizenship", "nacionalidad", "nationalite",
                    "nacionalidade", "country of origin", "pais origen", "pays origine",
                    "origin country"),
    "country_of_exploitation": ("country of exploitation", "exploitation country",
                                "pais explotacion", "pays exploitation", "pais exploracao",
                                "destination country", "pays destination"),
    "is_abduction": ("abduction", "abducted", "kidnapped", "kidnapping", "secuestro",
                     "secuestrado", "enlevement", "enleve", "rapt", "sequestro"),
    "type_of_exploitation": ("exploitation type", "type of exploitation", "form of exploitation",
                             "tipo explotacion", "forma explotacion", "type exploitation",
                             "forme exploitation", "tipo exploracao"),
    "means_of_control": ("means of control", "control methods", "methods of control",
                         "control means", "medios control", "moyens controle",
                         "methodes controle", "meios controle"),
    "type_of_labour": ("labour sector", "labor sector", "sector", "type of labour",
                       "type of labor", "sector laboral", "secteur", "secteur travail",
                       "labour type", "work sector"),
    "type_of_sex": ("sexual exploitation type", "type of sexual exploitation",
                    "tipo explotacion sexual", "type exploitation sexuelle"),
    "recruiter_relationship": ("recruiter relationship", "relationship to recruiter",
                               "recruiter", "captador", "relacion captador", "recruteur",
                               "lien recruteur", "relation recruteur", "aliciador"),
}  # fmt: skip

#: tokens that exports use for "not recorded"; never ``NA`` (Namibia)
MISSING_TOKENS = ("N/D", "n/d", "N/A", "n/a", "S/D", "s/d", "NS/NR", "-99", "-999", "-9",
                  "?", "-", "--", "null", "NULL", "nan", "NaN", "None")  # fmt: skip
#: words for "unknown": a vocabulary entry to null
UNKNOWN_WORDS = frozenset(
    normalize(w)
    for w in ("unknown", "not known", "unk", "desconocido", "desconocida", "no sabe", "nsp",
              "inconnu", "inconnue", "ne sait pas", "non connu", "non renseigne", "desconhecido",
              "unbekannt", "not recorded", "not stated", "sin dato", "sin datos")
)  # fmt: skip
#: country codes for "unknown" in exports (not ISO)
UNKNOWN_COUNTRY_CODES = frozenset({"00", "unk", "xx", "xxx", "zz", "zzz", "99", "999"})
#: yes/no in other languages than BOOLEAN_WORDS (which has English, 1/0 and Spanish)
YES_NO: dict[str, bool] = {
    normalize(k): v
    for k, v in {"oui": True, "non": False, "vrai": True, "faux": False, "sim": True,
                 "nao": False, "ja": True, "nein": False, "o": True, "x": True}.items()
}  # fmt: skip
YES_NO.pop("o")  # too short to be sure
YES_NO.pop("x")

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d",
                "%d/%m/%y", "%m/%d/%y", "%Y%m%d", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S")  # fmt: skip
COUNTRY_LANGUAGES = ("en", "es", "fr", "pt", "de", "it", "nl")
SEPARATORS = (";", ",", "|", "/")
HOTLINE_WORDS = _wordset("hotline helpline linea ligne line telefono appel llamada call")
EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "xlsx",
              ".xlsm": "xlsx", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson",
              ".parquet": "parquet"}  # fmt: skip


def words(text: str | None) -> tuple[str, ...]:
    """Content words of a column or field name: camelCase, snake_case and accents undone."""
    if not text:
        return ()
    t = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(text))
    t = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", t)
    return tuple(w for w in re.findall(r"[a-z0-9]+", normalize(t)) if w not in _STOPWORDS)


def _alnum(text: str) -> str:
    return "".join(re.findall(r"[a-z0-9]+", normalize(text)))


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """How alike two word lists are, 0 to 1: word by word, in any order.

    Each word is paired with its closest word on the other side (difflib
    ratio), both ways, and the two means are averaged: ``exploitation_country``
    is ``country of exploitation`` (1.0), ``is_sexual_exploitation`` is close
    to ``sexual exploit`` (0.87), while one long shared word does not make
    ``minor at exploitation`` a ``form of exploitation`` (0.72).
    """
    if not a or not b:
        return 0.0

    def soft(x: tuple[str, ...], y: tuple[str, ...]) -> float:
        return sum(max(_ratio(w, v) for v in y) for w in x) / len(x)

    return (soft(a, b) + soft(b, a)) / 2


def _has_phrase(ws: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(ws[i : i + n] == phrase for i in range(len(ws) - n + 1))


# --- the source --------------------------------------------------------------------------------


def guess_source(
    path: Path,
    *,
    fmt: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    header_rows: int | None = None,
) -> tuple[SourceSpec, list[str]]:
    """How to read ``path``: what is given, the rest guessed; and notes on each guess."""
    notes: list[str] = []
    if not path.is_file():
        raise CtdcError("file-not-found", "no such file", file=path)
    if fmt is None:
        fmt = EXTENSIONS.get(path.suffix.lower())
        if fmt is None:
            raise CtdcError("bad-option", f"cannot tell the format of {path.name!r}",
                            file=path, fix=f"pass --format ({', '.join(FORMATS)})")  # fmt: skip
        head = path.read_bytes()[:4096] if fmt == "json" else b""
        lines = [ln for ln in head.decode("latin-1").splitlines() if ln.strip()]
        if fmt == "json" and len(lines) > 1 and all(ln.lstrip().startswith("{") for ln in lines):
            fmt = "ndjson"  # one object per line, named .json
        notes.append(f"format {fmt} (from the file name)")
    elif fmt not in FORMATS:
        raise CtdcError("bad-option", f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fmt in ("csv", "tsv", "json", "ndjson") and encoding is None:
        encoding, why = explain_encoding(read_head(path))
        notes.append(f"encoding {encoding} ({why})")
    if fmt == "csv" and delimiter is None:
        delimiter = detect_delimiter(read_head(path), encoding or "utf-8")
        notes.append(f"delimiter {delimiter!r} (the most regular one in the first lines)")
    if (header_rows or 1) > 1 and fmt != "xlsx":
        raise CtdcError("bad-option", "--header-rows is for XLSX headers", file=path)
    if fmt == "xlsx" and sheet is None:
        sheet, names = detect_sheet(path)
        if len(names) > 1:
            notes.append(f"sheet {sheet!r}, the first of {', '.join(map(repr, names))}")
    spec = SourceSpec(
        format=fmt,
        encoding=encoding or "utf-8",
        delimiter=delimiter or ("\t" if fmt == "tsv" else ","),
        sheet=sheet,
        header_row=header_row or 1,
        header_rows=header_rows or 1,
    )
    return spec, notes


# --- targets and matching ----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: str  # case_id | age | field | group | concatenated
    name: str
    phrases: tuple[tuple[tuple[str, ...], str], ...]  # (words, what they are)
    description: frozenset[str] = frozenset()


def targets(schema: Schema) -> list[Target]:
    """Everything a column can be mapped to, with the words that name it."""

    def syn(name: str) -> list[tuple[tuple[str, ...], str]]:
        return [(words(s), "synonym") for s in SYNONYMS.get(name, ())]

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


def score(column: tuple[str, ...], target: Target) -> tuple[float, str]:
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


def identifier_reason(column: tuple[str, ...]) -> str | None:
    hit = sorted(set(column) & IDENTIFIER_WORDS)
    if hit:
        return f"identifier word {hit[0]!r}"
    for phrase in IDENTIFIER_PHRASES:
        if _has_phrase(column, phrase):
            return f"identifier words {' '.join(phrase)!r}"
    return None


# --- what a column becomes ---------------------------------------------------------------------


@dataclass
class ValueNote:
    """One distinct source value and what the scaffold does with it."""

    value: str
    rows: int
    target: str | None = None  # YAML text of the entry's target (e.g. "Female", "null", "true")
    status: str = "todo"  # default | entry | todo
    why: str = ""
    also: list[str] = field(default_factory=list)  # other spellings, same entry


@dataclass
class ColumnPlan:
    column: str
    kind: str  # case_id | drop | ignore | field | age | birth_date | multi | unplaced
    target: str = ""
    how: str = ""
    score: float = 0.0
    values: list[ValueNote] = field(default_factory=list)
    #: date_format (a format or a list), country, language, separator...
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    separators_seen: frozenset[str] = frozenset()  # multi: separators found in its cells

    @property
    def todo(self) -> list[ValueNote]:
        return [v for v in self.values if v.status == "todo"]


@dataclass
class Scaffold:
    org: str
    file: Path
    source: SourceSpec
    rows: int
    columns: list[ColumnPlan]
    source_notes: list[str]
    data_source: str
    data_source_why: str
    missing: list[tuple[str, int]]
    text: str = ""

    @property
    def unplaced(self) -> list[ColumnPlan]:
        return [c for c in self.columns if c.kind == "unplaced"]

    @property
    def todo_values(self) -> dict[str, list[tuple[str, int]]]:
        """Column -> distinct source values that still need a vocabulary entry, with counts."""
        return {c.column: [(v.value, v.rows) for v in c.todo] for c in self.columns if c.todo}

    def by_kind(self, kind: str) -> list[str]:
        return [c.column for c in self.columns if c.kind == kind]

    def to_dict(self) -> dict[str, object]:
        return {
            "org": self.org,
            "file": str(self.file),
            "rows": self.rows,
            "source": {k: v for k, v in vars(self.source).items() if v is not None},
            "source_guesses": self.source_notes,
            "columns": [
                {
                    "column": c.column,
                    "kind": c.kind,
                    "target": c.target or None,
                    "how": c.how,
                    "score": round(c.score, 2),
                    **c.extra,
                    "notes": c.notes,
                }
                for c in self.columns
            ],
            "unplaced": [c.column for c in self.unplaced],
            "values_to_map": {k: dict(v) for k, v in self.todo_values.items()},
        }


def _counts(series: pd.Series, missing: set[str]) -> Counter[str]:
    text = series.fillna("").astype(str).str.strip()
    text = text[~text.isin(list(missing))]
    return Counter({str(k): int(v) for k, v in text.value_counts(sort=False).items()})


def _spellings(counts: Counter[str]) -> list[tuple[str, int, list[str]]]:
    """Values that a vocabulary cannot tell apart (case, accents, spaces) as one:
    (most frequent spelling, rows of all spellings, the other spellings), most rows first."""
    groups: dict[str, list[tuple[str, int]]] = {}
    for value, n in _sorted(counts):
        groups.setdefault(normalize(value), []).append((value, n))
    out = [(g[0][0], sum(n for _, n in g), [v for v, _ in g[1:]]) for g in groups.values()]
    return sorted(out, key=lambda x: (-x[1], x[0]))


def _sorted(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _category_note(value: str, n: int, f: Field, also: list[str]) -> ValueNote:
    note = _category_target(value, n, f)
    note.also = also
    return note


def _category_target(value: str, n: int, f: Field) -> ValueNote:
    key = normalize(value)
    if f.type == "boolean":
        if key in BOOLEAN_WORDS:
            return ValueNote(value, n, status="default")
        if key in YES_NO:
            return ValueNote(value, n, str(YES_NO[key]).lower(), "entry", "yes/no word")
    elif key in {normalize(v) for v in f.values}:
        return ValueNote(value, n, status="default")
    if key in UNKNOWN_WORDS:
        return ValueNote(value, n, "null", "entry", "a word for unknown")
    if f.type == "boolean":
        return ValueNote(value, n)
    same = [v for v in f.values if _alnum(v) and _alnum(v) == _alnum(value)]
    if len(same) == 1:
        return ValueNote(value, n, same[0], "entry", "same as the schema value but punctuation")
    initial = [v for v in f.values if len(key) == 1 and normalize(v).startswith(key)]
    close = difflib.get_close_matches(key, [normalize(v) for v in f.values], n=1, cutoff=0.6)
    if len(initial) == 1:
        return ValueNote(value, n, why=f"suggested: {initial[0]} (its initial)")
    if close:
        target = next(v for v in f.values if normalize(v) == close[0])
        return ValueNote(value, n, why=f"suggested: {target}")
    return ValueNote(value, n)


def _country_plan(plan: ColumnPlan, counts: Counter[str]) -> None:
    total = sum(counts.values()) or 1
    best: tuple[float, str, str] = (-1.0, "alpha2", "en")
    for form, language in [("alpha2", "en"), ("alpha3", "en")] + [
        ("name", lang) for lang in COUNTRY_LANGUAGES
    ]:
        try:
            table = country_lookup(form, language)
        except ValueError:
            continue
        covered = sum(n for v, n in counts.items() if normalize(v) in table) / total
        if covered > best[0] + 1e-9:
            best = (covered, form, language)
    covered, form, language = best
    plan.extra["country"] = form
    if form == "name" and language != "en":
        plan.extra["language"] = language
    plan.notes.append(f"{covered:.0%} of the rows are {form} country codes"
                      if form != "name" else
                      f"{covered:.0%} of the rows are country names in {language}")  # fmt: skip
    table = country_lookup(form, language)
    names = {normalize(k) for k in table}
    for value, n, also in _spellings(counts):
        key = normalize(value)
        if key in table:
            continue
        if key in UNKNOWN_COUNTRY_CODES or key in UNKNOWN_WORDS:
            why = "a code for unknown" if key in UNKNOWN_COUNTRY_CODES else "a word for unknown"
            plan.values.append(ValueNote(value, n, "null", "entry", why, also))
            continue
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.85)
        why = f"suggested: {table[close[0]]} ({close[0]})" if close else ""
        plan.values.append(ValueNote(value, n, why=why, also=also))


def _date_format(counts: Counter[str]) -> tuple[str | tuple[str, ...] | None, str]:
    """The format parsing most rows (with spreadsheet serial days as a second format when
    they make up the rest), or None for whole years; and a note (ambiguity...)."""
    total = sum(counts.values())
    if total and all(re.fullmatch(r"\d{4}", v) for v in counts):
        return None, "whole years"
    values = pd.Series(list(counts), dtype=object)
    weights = np.array([counts[v] for v in values])
    parsed = {
        fmt: pd.to_datetime(values, format=fmt, errors="coerce").notna().to_numpy()
        for fmt in DATE_FORMATS
    }
    serial = values.str.fullmatch(r"\d{5}(\.\d+)?").fillna(False).to_numpy(dtype=bool)
    parsed[EXCEL_SERIAL] = serial & excel_serial_dates(values).notna().to_numpy()
    score = {fmt: int(weights[ok].sum()) for fmt, ok in parsed.items()}
    best = max(parsed, key=lambda f: score[f])  # first of the best: day first, serials last
    if not total or score[best] == 0:
        return None, "TODO: no date format parses these values; set date_format"
    note = f"parses {score[best]:,} of {total:,} rows"
    fmt: str | tuple[str, ...] = best
    # dates typed as text in some rows, left as serial day numbers in others: both formats
    rest = {f: int(weights[ok & ~parsed[best]].sum()) for f, ok in parsed.items()}
    second = max(parsed, key=lambda f: rest[f])
    if rest[second] and EXCEL_SERIAL in (best, second):
        fmt = tuple(sorted((best, second), key=lambda f: f == EXCEL_SERIAL))
        note += f", {rest[second]:,} more as {second}"
    twin = {"%d/%m/%Y": "%m/%d/%Y", "%d/%m/%y": "%m/%d/%y"}.get(best)
    if twin and score[twin] == score[best]:
        note += f"; TODO: ambiguous, {twin} parses them too: check which one the export uses"
    return fmt, note


def _date_plan(plan: ColumnPlan, counts: Counter[str], key: str) -> None:
    """Pin the date format(s) of a date column under ``key``, with the note on the choice."""
    fmt, note = _date_format(counts)
    if fmt:
        plan.extra[key] = fmt
    plan.notes.append(note)


def _yaml_formats(fmt: str | tuple[str, ...]) -> str:
    """A date format, or a list of them, as YAML."""
    if isinstance(fmt, str):
        return q(fmt)
    return "[" + ", ".join(q(f, flow=True) for f in fmt) + "]"


def _flag_keys(group: Group) -> dict[str, str]:
    """Normalized spellings of each flag of ``group`` (label, name without prefix) -> flag."""
    names = [f.name for f in group.flags]
    prefix = names[0][: names[0].index("_") + 1] if "_" in names[0] else ""
    if not all(n.startswith(prefix) for n in names):
        prefix = ""
    keys: dict[str, str] = {}
    for f in group.flags:
        for spelling in (f.label or "", f.name[len(prefix) :], f.name):
            if spelling:
                keys.setdefault(_alnum(spelling), f.name)
    return keys


def _split(counts: Counter[str], sep: str) -> Counter[str]:
    labels: Counter[str] = Counter()
    for value, n in counts.items():
        for part in value.split(sep):
            if part.strip():
                labels[part.strip()] += n
    return labels


def _label_flag(label: str, group: Group, keys: dict[str, str]) -> tuple[str | None, str]:
    key = _alnum(label)
    if key in keys:
        return keys[key], ""
    close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.9)
    if close:
        return keys[close[0]], "close to the flag's label"
    return None, ""


def _multi_plan(plan: ColumnPlan, counts: Counter[str], group: Group) -> int:
    """Fill ``plan`` for a multi-value column of ``group``; return the labels matched."""
    keys = _flag_keys(group)
    ranked = []
    for i, sep in enumerate(SEPARATORS):
        matched = sum(1 for label in _split(counts, sep) if _label_flag(label, group, keys)[0])
        # "/" also sits inside labels ("Drugs/alcohol"): only chosen when it matches more
        present = sum(n for v, n in counts.items() if sep in v) if sep != "/" else -1
        ranked.append(((matched, present, -i), sep))
    sep = max(ranked)[1]
    plan.separators_seen = frozenset(x for x in SEPARATORS if any(x in v for v in counts))
    plan.extra["separator"] = sep
    matched = 0
    for label, n, also in _spellings(_split(counts, sep)):
        flag, why = _label_flag(label, group, keys)
        if flag:
            matched += 1
            plan.values.append(ValueNote(label, n, flag, "entry", why, also))
        else:
            plan.values.append(ValueNote(label, n, also=also))
    return matched


def _best_group(counts: Counter[str], schema: Schema) -> tuple[Group | None, float]:
    """The flag group whose labels a column's values are, by the share of rows matched."""
    best: tuple[Group | None, float] = (None, 0.0)
    for group in schema.groups.values():
        keys = _flag_keys(group)
        for sep in SEPARATORS:
            labels = _split(counts, sep)
            total = sum(labels.values()) or 1
            hits = [lb for lb in labels if _label_flag(lb, group, keys)[0]]
            share = sum(labels[lb] for lb in hits) / total
            if len(hits) >= 2 and share > best[1]:
                best = (group, share)
    return best


# --- building ----------------------------------------------------------------------------------


def build_scaffold(
    path: Path,
    org: str,
    schema: Schema,
    *,
    source: SourceSpec | None = None,
    source_notes: list[str] | None = None,
) -> Scaffold:
    """Read ``path`` and plan a mapping for ``org``; :attr:`Scaffold.text` is the YAML."""
    check_org_name(org)
    if source is None:
        source, source_notes = guess_source(path)
    raw = read_export(path, source.options())
    frame = raw.frame
    if not raw.errors.empty:  # rows the reader could not read well say nothing reliable
        frame = frame.drop(index=frame.index[np.unique(raw.errors["pos"].to_numpy())])
    columns = [str(c) for c in frame.columns]

    found_missing: Counter[str] = Counter()
    for c in columns:
        text = frame[c].fillna("").astype(str).str.strip()
        hits = text[text.isin(MISSING_TOKENS)].value_counts()
        found_missing.update({str(k): int(v) for k, v in hits.items()})
    missing = {"", *found_missing}

    plans = {c: ColumnPlan(c, "unplaced") for c in columns}
    taken: set[str] = set()
    for c in columns:
        ws = words(c)
        if any(_has_phrase(ws, p) for p in BIRTH_DATE_PHRASES):
            plans[c] = ColumnPlan(c, "birth_date", "age", "birth date words", 1.0)
        elif (why := identifier_reason(ws)) is not None:
            plans[c] = ColumnPlan(c, "drop", "", why, 1.0)
    candidates = []
    all_targets = targets(schema)
    for c in columns:
        if plans[c].kind != "unplaced":
            continue
        for t in all_targets:
            s, how = score(words(c), t)
            if s >= MATCH_THRESHOLD:
                candidates.append((s, c, t, how))
    candidates.sort(key=lambda x: (-x[0], columns.index(x[1]), x[2].kind, x[2].name))
    for s, c, t, how in candidates:
        key = f"{t.kind}:{t.name}"
        if plans[c].kind != "unplaced" or key in taken:
            continue
        taken.add(key)
        kind = {"case_id": "case_id", "age": "age", "field": "field", "group": "multi",
                "concatenated": "ignore"}[t.kind]  # fmt: skip
        plans[c] = ColumnPlan(c, kind, t.name, how, s)

    for c in columns:
        plan = plans[c]
        counts = _counts(frame[c], missing)
        if plan.kind == "unplaced":
            group, share = _best_group(counts, schema)
            if group is not None and share >= 0.5 and f"group:{group.name}" not in taken:
                taken.add(f"group:{group.name}")
                how = f"values are labels of {group.name}"
                plans[c] = plan = ColumnPlan(c, "multi", group.name, how, share)
        _fill(plan, counts, schema, len(frame))
        if plan.kind == "multi" and not any(v.status == "entry" for v in plan.values):
            plan.notes.append(f"TODO: map these labels to flags of {plan.target}, then move the "
                              "commented `multi` entry below into effect")  # fmt: skip
            plan.kind, plan.extra["group"] = "unplaced", plan.target
    _check_age(plans)
    _same_separator(list(plans.values()))

    data_source, why = _guess_data_source(org, path)
    scaffold = Scaffold(org, path, source, len(raw.frame), [plans[c] for c in columns],
                        source_notes or [], data_source, why,
                        _sorted(found_missing))  # fmt: skip
    scaffold.text = render(scaffold, schema)
    return scaffold


def _fill(plan: ColumnPlan, counts: Counter[str], schema: Schema, rows: int) -> None:
    if plan.kind == "case_id":
        dup = sum(n - 1 for n in counts.values() if n > 1)
        empty = rows - sum(counts.values())
        plan.notes.append(f"{len(counts):,} distinct ids" + (f", {dup:,} repeated" if dup else "")
                          + (f", {empty:,} empty" if empty else ""))  # fmt: skip
    elif plan.kind == "age":
        bad = sum(n for v, n in counts.items() if not re.fullmatch(r"\d{1,3}", v))
        if bad:
            plan.notes.append(f"{bad:,} rows are not whole numbers of years")
    elif plan.kind == "birth_date":
        _date_plan(plan, counts, "birth_date_format")
    elif plan.kind == "multi":
        _multi_plan(plan, counts, schema.groups[plan.target])
    elif plan.kind == "field":
        f = schema[plan.target]
        if f.name == "year_of_registration":
            _date_plan(plan, counts, "date_format")
        elif f.type == "country":
            _country_plan(plan, counts)
        elif f.type in ("category", "boolean"):
            notes = [_category_note(v, n, f, also) for v, n, also in _spellings(counts)]
            plan.values = [v for v in notes if v.status != "default"]
        elif f.type == "integer":
            bad = sum(n for v, n in counts.items() if not re.fullmatch(r"-?\d+", v))
            if bad:
                plan.notes.append(f"{bad:,} rows are not whole numbers")


def _same_separator(plans: list[ColumnPlan]) -> None:
    """A multi column whose cells show no separator takes the one its siblings use."""
    multi = [p for p in plans if "separator" in p.extra]
    seen = Counter(p.extra["separator"] for p in multi if p.extra["separator"] in p.separators_seen)
    if not seen:
        return
    usual = seen.most_common(1)[0][0]
    for p in multi:
        if not p.separators_seen & {p.extra["separator"], usual}:  # same labels either way
            p.extra["separator"] = usual


def _check_age(plans: dict[str, ColumnPlan]) -> None:
    """One age source: an age column wins; a birth date needs a registration date format."""
    ages = [p for p in plans.values() if p.kind == "age"]
    births = [p for p in plans.values() if p.kind == "birth_date"]
    reg = next((p for p in plans.values() if p.kind == "field"
                and p.target == "year_of_registration"), None)  # fmt: skip
    for i, p in enumerate(births):
        usable = not ages and i == 0 and "birth_date_format" in p.extra
        if usable and reg is not None and "date_format" in reg.extra:
            continue
        p.kind, p.how = "drop", f"a birth date ({p.how}), not used for the age"
        if not ages and i == 0:
            p.notes.append(
                "TODO: the age could come from this birth date, given a registration "
                "*date* with its date_format (see docs/mapping.md)"
            )


def _guess_data_source(org: str, path: Path) -> tuple[str, str]:
    hint = set(words(org)) | set(words(path.stem))
    if hint & HOTLINE_WORDS:
        return "Hotline", f"the name says {sorted(hint & HOTLINE_WORDS)[0]!r}"
    return "Case Management", "TODO: guessed; Hotline for a hotline's call records"


# --- rendering ---------------------------------------------------------------------------------


def _roundtrips(text: str, value: object) -> bool:
    for loader in (yaml.SafeLoader, TextLoader):
        try:
            if load_yaml_text(text, loader) != value:
                return False
        except (yaml.YAMLError, CtdcError):  # CtdcError: an anchor or alias in a sample value
            return False
    return True


def q(value: str, *, key: bool = False, flow: bool = False) -> str:
    """``value`` as a YAML scalar that reads back as this text with any loader.

    A value with a control, bidi or separator character (``ctdc.text``) is
    always double-quoted with that character escaped (``"\\u009b"``): YAML
    refuses C1 controls written as themselves, reads U+0085/U+2028 as line
    breaks, and an editor would show a bidi override reordering the line.
    """
    plain = str(value)
    if plain and plain == plain.strip() and "\n" not in plain and not has_unsafe(plain):
        if key:
            probe = _roundtrips(f"{plain}: ~", {plain: None})
        elif flow:
            probe = _roundtrips(f"{{k: {plain}}}", {"k": plain})
        else:
            probe = _roundtrips(f"k: {plain}", {"k": plain})
        if probe:
            return plain
    return escape_json(json.dumps(plain, ensure_ascii=False))


class _Lines:
    """YAML lines with their comments aligned."""

    COMMENT_AT = 44

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str = "", comment: str = "") -> None:
        if comment:
            pad = max(self.COMMENT_AT - len(text), 2) if text else 0
            # escaped: a line break (U+0085, U+2028 too) would end the comment, a C1 control
            # makes the YAML unreadable, and a column name or value may hold either
            comment = "# " + escape(comment.replace("\n", " "))
            self.lines.append(f"{text}{' ' * pad}{comment}" if text else comment)
        else:
            self.lines.append(text)

    def comment(self, text: str, indent: int = 0) -> None:
        text = escape(text)
        self.lines.append(" " * indent + "# " + text if text else " " * indent + "#")

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines) + "\n"


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _values_block(out: _Lines, plan: ColumnPlan, indent: int, header: str) -> None:
    pad = " " * indent
    entries = [v for v in plan.values if v.status == "entry"]
    todo = plan.todo
    if not entries and not todo:
        return
    out.add(f"{pad}values:", header)
    for v in entries:
        out.add(f"{pad}  {q(v.value, key=True)}: {v.target}", _value_comment(v))
    for v in todo:  # "# " at the entry's column: an editor's uncomment leaves it in place
        out.add(f"{pad}  # {q(v.value, key=True)}: TODO", _value_comment(v))


def _value_comment(v: ValueNote) -> str:
    text = _rows(v.rows)
    if v.also:
        text += f" (also written {', '.join(map(repr, v.also))})"
    return f"{text}; {v.why}" if v.why else text


def render(s: Scaffold, schema: Schema) -> str:
    out = _Lines()
    todo_values = sum(len(v) for v in s.todo_values.values())
    out.comment(f"{s.org}: mapping scaffolded by `ctdc mapping init` from {s.file.name} "
                f"({s.rows:,} rows) on {dt.date.today().isoformat()}.")  # fmt: skip
    out.comment("Review every line (docs/mapping.md), then run:")
    out.comment(f"  ctdc validate --org {s.org} {s.file.name}")
    if s.unplaced or todo_values:
        out.comment("TODO:")
    if s.unplaced:
        n = len(s.unplaced)
        out.comment(f"- {n} column{'s are' if n > 1 else ' is'} not placed yet; validate stops "
                    "on each (unmapped-column) until it is")  # fmt: skip
        out.comment("  in drop: (it identifies a person), ignore: (not needed) or mapped:")
        for c in s.unplaced:
            extra = f"  (looks like a multi-value column of {c.extra['group']})" if (
                "group" in c.extra) else ""  # fmt: skip
            out.comment(f"    {c.column}{extra}")
    if todo_values:
        out.comment(f"- {todo_values} source values need a vocabulary entry: the `# value: TODO` "
                    "lines; until")  # fmt: skip
        out.comment("  then validate quarantines their rows as unknown-value")
    out.add()
    out.add(f"org: {s.org}")
    out.add(f"description: {q(f'{s.org} — {s.source.format} export (scaffolded; describe it)')}")
    out.add(f"data_source: {q(s.data_source)}", s.data_source_why)
    out.add()
    out.add("source:", "pinned from what was read; check each guess")
    notes = {n.split()[0]: n for n in s.source_notes}
    out.add(f"  format: {s.source.format}", notes.get("format", ""))
    if s.source.format in ("csv", "tsv", "json", "ndjson"):
        out.add(f"  encoding: {s.source.encoding}", notes.get("encoding", ""))
    if s.source.format == "csv":
        out.add(f"  delimiter: {json.dumps(s.source.delimiter)}", notes.get("delimiter", ""))
    if s.source.format == "xlsx":
        if s.source.sheet is not None:
            out.add(f"  sheet: {q(s.source.sheet)}", notes.get("sheet", ""))
        out.add(f"  header_row: {s.source.header_row}")
        if s.source.header_rows > 1:
            out.add(f"  header_rows: {s.source.header_rows}", "names joined with ' / '")
    out.add()

    plans = s.columns
    case = next((c for c in plans if c.kind == "case_id"), None)
    if case is not None:
        out.add(f"case_id: {q(case.column)}", f"{case.how} ({case.score:.2f}); "
                + "; ".join(case.notes))  # fmt: skip
    else:
        out.add("case_id: TODO", "TODO: the column with the local case id (unique per export)")
    out.add()
    drops = [c for c in plans if c.kind == "drop"]
    out.add("drop:" if drops else "drop: []", "direct identifiers: read, never staged")
    for c in drops:
        out.add(f"  - {q(c.column)}", c.how + ("; " + "; ".join(c.notes) if c.notes else ""))
    ignores = [c for c in plans if c.kind == "ignore"]
    if ignores:
        out.add()
        out.add("ignore:")
        for c in ignores:
            out.add(f"  - {q(c.column)}", f"{c.how}: ctdc derives it from the flags")
    out.add()
    if s.missing:
        out.add("missing:", 'tokens found for "not recorded" (NA is Namibia: never one)')
        out.add('  - ""')
        for token, n in s.missing:
            out.add(f"  - {q(token)}", f"{_rows(n)}")
        out.add()

    age = next((c for c in plans if c.kind in ("age", "birth_date")), None)
    if age is not None:
        out.add("age:")
        if age.kind == "age":
            out.add(f"  column: {q(age.column)}", f"{age.how} ({age.score:.2f}); "
                    "age band and majority status are derived from it")  # fmt: skip
        else:
            out.add(f"  birth_date: {q(age.column)}", "the age at registration comes from it; "
                    "the date itself is never staged")  # fmt: skip
            out.add(f"  birth_date_format: {_yaml_formats(age.extra['birth_date_format'])}",
                    "; ".join(age.notes))  # fmt: skip
        out.add()

    out.add("fields:")
    fields = {c.target: c for c in plans if c.kind == "field"}
    for f in schema.fields:
        plan = fields.get(f.name)
        if plan is None:
            continue
        how = f"{plan.how} ({plan.score:.2f})"
        simple = not plan.values and not plan.extra and not plan.notes
        if simple:
            out.add(f"  {f.name}: {{column: {q(plan.column, flow=True)}}}", how)
            continue
        out.add(f"  {f.name}:")
        out.add(f"    column: {q(plan.column)}", how)
        if "date_format" in plan.extra:
            out.add(f"    date_format: {_yaml_formats(plan.extra['date_format'])}",
                    "; ".join(plan.notes))  # fmt: skip
        elif plan.notes and f.type != "country":
            out.comment("; ".join(plan.notes), 4)
        if "country" in plan.extra:
            out.add(f"    country: {plan.extra['country']}", "; ".join(plan.notes))
            if "language" in plan.extra:
                out.add(f"    language: {plan.extra['language']}")
        targets_text = ("true, false or null" if f.type == "boolean" else
                        "an ISO alpha-2 code or null" if f.type == "country" else
                        f"{', '.join(f.values)} or null")  # fmt: skip
        _values_block(out, plan, 4, f"source value -> {targets_text}")
    if not fields:
        out.comment("TODO: no column matched a schema field", 2)
    multis = [c for c in plans if c.kind == "multi" or "group" in c.extra]
    if multis:
        out.add()
        out.add("multi:", "multi-value columns -> the flags of one group")
    for c in multis:
        if c.kind == "multi":
            out.add(f"  - column: {q(c.column)}", f"{c.how} ({c.score:.2f})")
            out.add(f"    separator: {json.dumps(c.extra['separator'])}")
            _values_block(out, c, 4, f"label -> a flag of {c.target}")
            if c.todo:
                flags = ", ".join(f.name for f in schema.groups[c.target].flags)
                out.comment(f"flags: {flags}", 6)
            continue
        out.add(f"  # - column: {q(c.column)}", f"TODO: {c.how} ({c.score:.2f}); no label "
                "mapped yet: fill in, uncomment")  # fmt: skip
        out.add(f"  #   separator: {json.dumps(c.extra['separator'])}")
        out.add("  #   values:", f"label -> a flag of {c.extra['group']}:")
        flags = ", ".join(f.name for f in schema.groups[c.extra["group"]].flags)
        out.comment(f"    flags: {flags}", 2)
        for v in c.values:
            out.add(f"  #     {q(v.value, key=True)}: TODO", _value_comment(v))
    return out.text()


# --- writing -----------------------------------------------------------------------------------


def check_loads(scaffold: Scaffold, schema: Schema) -> None:
    """The scaffold must load as a mapping (TODOs are comments): a bug if it does not."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / f"{scaffold.org}.yaml"
        probe.write_text(scaffold.text, encoding="utf-8")
        try:
            load_mapping(probe, schema)
        except CtdcError as exc:
            raise RuntimeError(f"the scaffold of {scaffold.file} does not load: {exc}") from exc


def default_target(pipelines_dir: Path, org: str) -> Path:
    """Where ``mapping init`` writes without ``--out``: ``<pipelines folder>/<org>.yaml``.

    The pipelines folder is the configured one (``ctdc.toml``'s ``pipelines``, else
    ``./pipelines``); when that is the copy bundled with ctdc, which is never written
    into, the scaffold goes to ``./pipelines/<org>.yaml`` instead.
    """
    from ctdc.config import _bundled

    if pipelines_dir.resolve() == _bundled("pipelines").resolve():
        return Path("pipelines") / f"{org}.yaml"
    return pipelines_dir / f"{org}.yaml"


def check_target(out: Path, org: str, *, force: bool = False) -> None:
    """Refuse to overwrite a mapping without ``force``, or to misname one."""
    if out.name != f"{org}.yaml":
        raise CtdcError(
            "bad-option",
            f"--out {out}: the mapping of {org} must be named {org}.yaml",
            fix=f"pass --out DIR/{org}.yaml",
        )
    if out.exists() and not force:
        raise CtdcError("bad-option", "a mapping is there already; it is kept", file=out,
                        fix="pass --force to overwrite it, or --out another path")  # fmt: skip


def write_scaffold(scaffold: Scaffold, schema: Schema, out: Path, *, force: bool = False) -> Path:
    """Write the scaffold to ``out``; an existing mapping is kept unless ``force``."""
    check_target(out, scaffold.org, force=force)
    check_loads(scaffold, schema)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(out, scaffold.text.encode("utf-8"), mode=0o644)
    return out
