"""Sample exports on real files: formats, determinism, planted rows, markers, mappings.

The planted-row checks use the mappings in ``pipelines/`` as the oracle (read
with plain ``yaml.safe_load`` and pycountry), not the ingest code, so they say
whether each planted cell really breaks its column's rule; the last test then
runs the real ingest and expects exactly the planted rows in the quarantine.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pycountry
import pytest
import yaml

from ctdc.sample import ORGS, SLUGS, PlantedRow, SampleResult, generate_samples
from ctdc.sample.world import EXPLOITATION, GENDERS, draw_cases, exact_age

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ROOT / "pipelines"
MARKER = "ZZMARK"
CURRENT_YEAR = dt.date.today().year


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleResult:
    return generate_samples(tmp_path_factory.mktemp("a"), rows=200, seed=42)


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> SampleResult:
    return generate_samples(tmp_path_factory.mktemp("m"), rows=150, seed=3, marker=MARKER)


# --- independent readers and rules (no ctdc.ingest) ----------------------------------------------


@cache
def mapping(org: str) -> dict[str, Any]:
    return yaml.safe_load((PIPELINES / f"{org}.yaml").read_text(encoding="utf-8"))


@cache
def schema_fields() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load((ROOT / "schemas" / "ctdc.yaml").read_text(encoding="utf-8"))
    return {f["name"]: f for f in doc["fields"]}


def norm(text: Any) -> str:
    """Case-, accent- and space-insensitive form, as docs/mapping.md promises."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return " ".join(
        "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split()
    )


def cell_text(value: Any) -> str:
    """A cell as the text the reader hands to the mapping (docs/mapping.md)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ";".join(cell_text(v) for v in value)
    return str(value)


def read_rows(org: str, path: Path) -> tuple[list[str], dict[int, dict[str, Any]]]:
    """(header, {row number as a data officer sees it: raw cell values})."""
    src = mapping(org)["source"]
    if src["format"] == "csv":
        text = path.read_bytes().decode(src.get("encoding", "utf-8"))
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=src.get("delimiter", ","))
        header, *body = list(reader)
        return header, {i: dict(zip(header, r, strict=True)) for i, r in enumerate(body, 2)}
    if src["format"] == "xlsx":
        wb = openpyxl.load_workbook(path)
        ws = wb[src["sheet"]]
        header, *body = [list(r) for r in ws.iter_rows(values_only=True)]
        return header, {i: dict(zip(header, r, strict=True)) for i, r in enumerate(body, 2)}
    records = json.loads(path.read_text(encoding="utf-8"))
    return list(records[0]), dict(enumerate(records, 1))


def mapped_columns(m: dict[str, Any]) -> set[str]:
    cols = {m["case_id"], *m.get("drop", []), *m.get("ignore", [])}
    cols |= {r["column"] for r in m["fields"].values() if "column" in r}
    cols |= {x["column"] for x in m.get("multi", [])}
    age = m.get("age") or {}
    cols |= {age[k] for k in ("column", "birth_date") if k in age}
    return cols


def rule_of(m: dict[str, Any], column: str) -> tuple[str, dict[str, Any]]:
    """What the mapping does with ``column``: (kind, rule)."""
    if column == m["case_id"]:
        return "case_id", {}
    age = m.get("age") or {}
    if age.get("column") == column:
        return "age", age
    if age.get("birth_date") == column:
        return "birth_date", age
    for name, rule in m["fields"].items():
        if rule.get("column") == column:
            return name, rule
    for rule in m.get("multi", []):
        if rule["column"] == column:
            return "multi", rule
    raise AssertionError(f"{column!r} is not mapped")


@cache
def country_names() -> frozenset[str]:
    import gettext

    tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["es"]).gettext
    names = set()
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            if getattr(c, attr, None):
                names |= {norm(getattr(c, attr)), norm(tr(getattr(c, attr)))}
    return frozenset(names)


def is_country(text: str, rule: dict[str, Any]) -> bool:
    if norm(text) in {norm(k) for k in rule.get("values") or {}}:
        return True
    form = rule.get("country")
    if form == "alpha2":
        return pycountry.countries.get(alpha_2=text.upper()) is not None and len(text) == 2
    if form == "alpha3":
        return pycountry.countries.get(alpha_3=text.upper()) is not None and len(text) == 3
    return norm(text) in country_names()


def in_vocabulary(field: str, rule: dict[str, Any], text: str) -> bool:
    if norm(text) in {norm(k) for k in rule.get("values") or {}}:
        return True
    f = schema_fields()[field]
    if f["type"] == "boolean":
        return norm(text) in {"1", "0", "true", "false", "yes", "no", "y", "n", "si", "t", "f"}
    return f["type"] == "category" and norm(text) in {norm(v) for v in f["values"]}


def parses(text: str, fmt: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, fmt)
    except ValueError:
        return None


def has_defect(org: str, p: PlantedRow, rows: dict[int, dict[str, Any]]) -> bool:
    """Whether the planted cell breaks its column's rule the way ``p.reason`` says."""
    m = mapping(org)
    record = rows[p.row]
    text = cell_text(record[p.column]).strip()
    missing = {str(t) for t in m.get("missing", [""])} | {""}
    kind, rule = rule_of(m, p.column)
    if p.reason == "missing-required":
        return text in missing and kind in ("case_id", "year_of_registration")
    if p.reason == "duplicate-case-id":
        earlier = {cell_text(rows[r][p.column]) for r in rows if r < p.row}
        return kind == "case_id" and text in earlier
    assert text not in missing, "a planted value must not read as missing"
    if p.reason == "bad-date":
        fmt = rule.get("date_format") or rule.get("birth_date_format")
        return fmt is not None and parses(text, fmt) is None
    if p.reason == "bad-number":
        return kind in ("age", "year_of_registration") and not re.fullmatch(r"-?\d+", text)
    if p.reason == "out-of-range":
        if kind == "age":
            return not 0 <= int(text) <= 120
        if kind == "birth_date":
            reg_rule = m["fields"]["year_of_registration"]
            reg = cell_text(record[reg_rule["column"]])
            born = parses(text, rule["birth_date_format"])
            registered = parses(reg, reg_rule["date_format"])
            return born is not None and registered is not None and born > registered
        year = parses(text, rule["date_format"]).year if "date_format" in rule else int(text)
        return not 2002 <= year <= CURRENT_YEAR
    if p.reason == "unknown-country":
        return schema_fields()[kind]["type"] == "country" and not is_country(text, rule)
    if p.reason == "unknown-value":
        if kind == "multi":
            labels = {norm(k) for k in rule["values"]}
            return any(norm(x) not in labels for x in text.split(rule.get("separator", ";")))
        return not in_vocabulary(kind, rule, text)
    raise AssertionError(f"unknown slug {p.reason}")


# --- determinism ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_same_seed_gives_identical_bytes(sample: SampleResult, tmp_path: Path) -> None:
    again = generate_samples(tmp_path, rows=200, seed=42)
    for org in ORGS:
        assert again.files[org].read_bytes() == sample.files[org].read_bytes(), org
    first = sample.files[ORGS[0]].parent / "planted.json"
    assert (tmp_path / "planted.json").read_bytes() == first.read_bytes()
    assert again.planted == sample.planted


def test_different_seed_gives_different_files(sample: SampleResult, tmp_path: Path) -> None:
    other = generate_samples(tmp_path, rows=200, seed=43)
    for org in ORGS:
        assert other.files[org].read_bytes() != sample.files[org].read_bytes(), org


# --- formats -------------------------------------------------------------------------------------


def test_hotline_is_latin1_with_semicolons_and_spanish(sample: SampleResult) -> None:
    raw = sample.files["hotline-es"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # accents in latin-1 are not valid UTF-8
    header, rows = read_rows("hotline-es", sample.files["hotline-es"])
    assert {"Fecha registro", "Sexo", "Edad", "Nacionalidad", "País de explotación"} <= set(header)
    assert raw.splitlines()[0].count(b";") == len(header) - 1
    assert len(rows) == 200
    values = Counter(r["Sexo"] for r in rows.values())
    assert values["Mujer"] > values["Hombre"] > 0
    assert all(re.fullmatch(r"HT-\d{6}", r["ID caso"]) for r in rows.values() if r["ID caso"])
    dates = [r["Fecha registro"] for r in rows.values()]
    assert sum(bool(parses(d, "%d/%m/%Y")) for d in dates) >= 190
    assert any("," in r["Medios de control"] for r in rows.values())


def test_casework_is_xlsx_with_date_cells(sample: SampleResult) -> None:
    wb = openpyxl.load_workbook(sample.files["casework-ngo"])
    assert wb.sheetnames == ["Cases"]
    assert wb.properties.created == wb.properties.modified == dt.datetime(2025, 1, 1)
    ws = wb["Cases"]
    header = [c.value for c in ws[1]]
    reg, dob = header.index("Registration date") + 1, header.index("Date of birth") + 1
    cells = [ws.cell(row=r, column=reg) for r in range(2, ws.max_row + 1)]
    assert ws.max_row == 201
    assert sum(c.is_date for c in cells) >= 190
    assert sum(ws.cell(row=r, column=dob).is_date for r in range(2, 202)) >= 150
    assert "Edad" not in header and "Age" not in header  # the age comes from the birth date
    codes = {ws.cell(row=r, column=header.index("Citizenship") + 1).value for r in range(2, 202)}
    assert {"PHL", "IDN"} <= codes


def test_intl_agency_is_a_json_array_with_namibia(sample: SampleResult) -> None:
    records = json.loads(sample.files["intl-agency"].read_text(encoding="utf-8"))
    assert isinstance(records, list) and len(records) == 200
    assert all(isinstance(r, dict) for r in records)
    assert sum(r["nationality"] == "NA" for r in records) >= 5
    assert any(isinstance(r["age"], int) and not isinstance(r["age"], bool) for r in records)
    assert any(isinstance(r["means_of_control"], list) for r in records)
    assert {r["is_forced_labour"] for r in records} <= {True, False, None}
    assert any(not r["full_name"].isascii() for r in records if r["full_name"])


def test_registry_is_ctdc_coded(sample: SampleResult) -> None:
    header, rows = read_rows("registry-gov", sample.files["registry-gov"])
    assert len(rows) == 200
    assert all(re.fullmatch(r"\d{7}", r["caseNumber"]) for r in rows.values() if r["caseNumber"])
    assert any(r["caseNumber"].startswith("00") for r in rows.values())
    bands = {r["ageBroad"] for r in rows.values()}
    assert {"9--17", "18--20", "30--38"} <= bands
    assert {r["isForcedLabour"] for r in rows.values()} <= {"0", "1", "-99"}
    assert "-99" in {r["majorityStatusAtExploit"] for r in rows.values()}
    fields = schema_fields()
    ctdc = {f["ctdc_name"] for f in fields.values() if f.get("group")}
    assert ctdc <= set(header)  # flag columns carry CTDC's names


# --- planted rows --------------------------------------------------------------------------------


def test_planted_json_lists_the_planted_rows(sample: SampleResult) -> None:
    doc = json.loads((sample.files[ORGS[0]].parent / "planted.json").read_text(encoding="utf-8"))
    assert [PlantedRow(**d) for d in doc] == sample.planted
    assert sample.planted == sorted(sample.planted, key=lambda p: (p.org, p.row))


def test_every_slug_is_planted_at_200_rows(sample: SampleResult) -> None:
    assert {p.reason for p in sample.planted} == set(SLUGS)
    per_org = Counter(p.org for p in sample.planted)
    assert all(3 <= per_org[org] <= 6 for org in ORGS)  # about 2 % of 200


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_slug_is_planted_at_50_rows(tmp_path: Path, seed: int) -> None:
    result = generate_samples(tmp_path, rows=50, seed=seed)
    assert {p.reason for p in result.planted} == set(SLUGS)


def test_each_planted_row_has_exactly_the_claimed_defect(sample: SampleResult) -> None:
    for org in ORGS:
        header, rows = read_rows(org, sample.files[org])
        planted = [p for p in sample.planted if p.org == org]
        assert len({p.row for p in planted}) == len(planted), "one defect per row"
        for p in planted:
            assert p.file == sample.files[org].name and p.column in header
            assert has_defect(org, p, rows), p


@pytest.mark.slow
def test_high_bad_rate_plants_every_variant_checkably(tmp_path: Path) -> None:
    result = generate_samples(tmp_path, rows=400, seed=5, bad_rate=0.3)
    for org in ORGS:
        _, rows = read_rows(org, result.files[org])
        planted = [p for p in result.planted if p.org == org]
        assert len(planted) == 120
        for p in planted:
            assert has_defect(org, p, rows), p


def test_no_bad_rows_when_bad_rate_is_zero(tmp_path: Path) -> None:
    assert generate_samples(tmp_path, rows=60, seed=1, bad_rate=0.0).planted == []


# --- markers -------------------------------------------------------------------------------------


def test_marker_is_in_every_identifier_cell_and_nowhere_else(marked: SampleResult) -> None:
    for org in ORGS:
        header, rows = read_rows(org, marked.files[org])
        drop = mapping(org)["drop"]
        filled = 0
        for row, record in rows.items():
            for j, column in enumerate(header):
                text = cell_text(record[column])
                if column in drop and text:
                    assert f"{MARKER}-{org}-{row}-{j}" in text, (org, row, column, text)
                    filled += 1
                elif column not in drop:
                    assert MARKER not in text, (org, row, column)
        assert filled >= len(rows) * len(drop) * 0.5


def test_marker_changes_only_the_identifiers(marked: SampleResult, tmp_path: Path) -> None:
    plain = generate_samples(tmp_path, rows=150, seed=3)
    assert plain.planted == marked.planted
    for org in ORGS:
        header, with_marker = read_rows(org, marked.files[org])
        _, without = read_rows(org, plain.files[org])
        drop = set(mapping(org)["drop"])
        for row, record in without.items():
            for column in header:
                if column not in drop:
                    assert record[column] == with_marker[row][column], (org, row, column)
                else:
                    assert bool(record[column]) == bool(with_marker[row][column])


# --- mappings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("org", ORGS)
def test_mapping_covers_exactly_the_export_columns(sample: SampleResult, org: str) -> None:
    m = mapping(org)
    assert m["org"] == org and m["data_source"] in ("Hotline", "Case Management")
    header, _ = read_rows(org, sample.files[org])
    assert mapped_columns(m) == set(header)
    assert len(header) == len(set(header))


@pytest.mark.parametrize("org", ORGS)
def test_mapping_names_only_schema_fields_and_values(org: str) -> None:
    fields = schema_fields()
    m = mapping(org)
    for name, rule in m["fields"].items():
        f = fields[name]
        assert f["role"] not in ("internal", "direct_identifier"), name
        for target in (rule.get("values") or {}).values():
            if target is None:
                continue
            if f["type"] == "category":
                assert target in f["values"], (name, target)
            elif f["type"] == "boolean":
                assert isinstance(target, bool), (name, target)
            elif f["type"] == "country":
                assert pycountry.countries.get(alpha_2=target) is not None, (name, target)
    for rule in m.get("multi", []):
        groups = {fields[flag]["group"] for flag in rule["values"].values()}
        assert len(groups) == 1, rule["column"]


def test_writer_label_tables_match_the_mappings() -> None:
    from ctdc.sample.orgs import casework_ngo as cw
    from ctdc.sample.orgs import hotline_es as ht
    from ctdc.sample.orgs import intl_agency as ia
    from ctdc.sample.orgs import registry_gov as rg

    tables = {
        ("hotline-es", "Tipo de explotación"): ht.EXPLOITATION_ES,
        ("hotline-es", "Medios de control"): ht.MOC_ES,
        ("hotline-es", "Captador"): ht.RECRUITER_ES,
        ("casework-ngo", "Exploitation type"): cw.EXPLOITATION_EN,
        ("casework-ngo", "Labour sector"): cw.SECTOR_EN,
        ("casework-ngo", "Sexual exploitation type"): cw.SEX_EN,
        ("casework-ngo", "Control methods"): cw.MOC_EN,
        ("casework-ngo", "Recruiter relationship"): cw.RECRUITER_EN,
        ("intl-agency", "means_of_control"): ia.MOC_INTL,
        ("intl-agency", "labour_sectors"): ia.SECTOR_INTL,
        ("intl-agency", "sexual_exploitation_types"): ia.SEX_INTL,
        ("intl-agency", "recruiter_relationship"): ia.RECRUITER_INTL,
    }
    for (org, column), table in tables.items():
        [rule] = [r for r in mapping(org)["multi"] if r["column"] == column]
        assert rule["values"] == {label: f for f, label in table.items()}, (org, column)
    registry = mapping("registry-gov")["fields"]
    for name, f in schema_fields().items():
        if f.get("group"):
            assert rg.camel(name) == f["ctdc_name"]
            assert registry[name]["column"] == f["ctdc_name"]


def test_every_spanish_country_name_resolves_to_its_code() -> None:
    from ctdc.mapping.countries import country_lookup
    from ctdc.mapping.spec import normalize
    from ctdc.sample.orgs.hotline_es import US_ES_SHORT, spanish_country, strip_accents
    from ctdc.sample.world import CORRIDORS, RARE_NATIONALITIES

    lookup = country_lookup("name", "es")
    rule = mapping("hotline-es")["fields"]["citizenship"]
    overrides = {normalize(k): v for k, v in rule["values"].items()}
    codes = {c.citizenship for c in CORRIDORS["hotline-es"]}
    codes |= {c.exploited_in for c in CORRIDORS["hotline-es"]} | set(RARE_NATIONALITIES)
    for code in sorted(codes):
        name = spanish_country(code)
        name.encode("latin-1")
        for spelling in (name, strip_accents(name)):
            key = normalize(spelling)
            assert overrides.get(key, lookup.get(key)) == code, (code, spelling)
    assert overrides[normalize(US_ES_SHORT)] == "US"


# --- the model -----------------------------------------------------------------------------------


def test_profiles_are_correlated_and_skewed() -> None:
    cases = draw_cases("hotline-es", 20_000, np.random.default_rng(0))
    sexual = cases.exploitation == EXPLOITATION.index("is_sexual_exploit")
    labour = cases.exploitation == EXPLOITATION.index("is_forced_labour")
    female = cases.gender == GENDERS.index("Female")
    assert female[sexual].mean() > 0.75 > 0.4 > female[labour].mean()
    known = cases.age >= 0
    minors = known & (cases.age < 18)
    assert minors[sexual].mean() > 2 * minors[labour].mean() > 0
    counts = Counter(cases.citizenship.tolist())
    assert counts.most_common(1)[0][0] == "VE"
    small = draw_cases("hotline-es", 1000, np.random.default_rng(1))
    assert min(Counter(small.citizenship.tolist()).values()) <= 2  # a long tail of rare ones
    years = pd.DatetimeIndex(cases.registered).year
    assert years.min() == 2015 and years.max() == 2025
    born, registered = (
        pd.DatetimeIndex(cases.born[known]),
        pd.DatetimeIndex(cases.registered[known]),
    )
    assert (exact_age(born, registered) == cases.age[known]).all()


def test_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="marker"):
        generate_samples(tmp_path, rows=10, marker="has space")
    with pytest.raises(ValueError, match="rows"):
        generate_samples(tmp_path, rows=0)
    with pytest.raises(ValueError, match="bad_rate"):
        generate_samples(tmp_path, rows=10, bad_rate=0.9)


def test_progress_is_reported(tmp_path: Path) -> None:
    messages: list[str] = []
    generate_samples(tmp_path, rows=5, progress=messages.append)
    assert all(any(org in m for m in messages) for org in ORGS)


# --- end to end with the real ingest -------------------------------------------------------------


@pytest.mark.slow
def test_ingest_quarantines_exactly_the_planted_rows(
    marked: SampleResult, workspace, schema
) -> None:
    from ctdc.ingest import ingest_file
    from ctdc.mapping import load_mapping

    expected = {(p.org, p.row): (p.reason, p.column) for p in marked.planted}
    for org in ORGS:
        m = load_mapping(PIPELINES / f"{org}.yaml", schema)
        result = ingest_file(workspace, schema, m, marked.files[org], key=workspace.load_key())
        assert result.rows_read == 150
        q = pd.read_parquet(workspace.quarantine_dir(org) / f"{result.batch_id}.parquet")
        got = {(org, int(r.source_row)): (r.reason, r.column) for r in q.itertuples()}
        assert len(q) == len(got), "one error per quarantined row"
        assert got == {k: v for k, v in expected.items() if k[0] == org}
        staged = pd.read_parquet(workspace.staging_dir(org) / f"{result.batch_id}.parquet")
        assert MARKER not in staged.to_csv()
        if org == "intl-agency":
            assert (staged["citizenship"] == "NA").sum() >= 3  # Namibia, not missing
