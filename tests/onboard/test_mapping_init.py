"""``ctdc mapping init`` on real exports: the scaffold against the committed mappings.

The four sample exports are scaffolded with nothing but the file and the org
id. The committed ``pipelines/<org>.yaml`` (written by hand) is the oracle:
every column the scaffold places must be placed as the committed mapping
does, the obvious ones must be placed, identifiers must be dropped, and every
source value the committed vocabulary translates must be either translated
the same way or listed as still to map, with its count. The scaffold must
load as a mapping, and ``ctdc validate`` must then point at what is left.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import run_ctdc
from ctdc.errors import CtdcError
from ctdc.formats.read import read_export
from ctdc.mapping import load_mapping
from ctdc.mapping.source import SourceSpec
from ctdc.mapping.spec import BOOLEAN_WORDS, normalize
from ctdc.onboard import Scaffold, build_scaffold, guess_source
from ctdc.onboard.matching import similarity, words
from ctdc.sample import ORGS, SampleResult, generate_samples
from ctdc.schema import Schema
from ctdc.yamlio import load_text_yaml

# the slow tier: four organizations' samples scaffolded once for the module
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

#: columns whose placement is obvious from their name (in the export's language)
OBVIOUS = {
    "hotline-es": {"ID caso": "case_id", "Fecha registro": "year_of_registration",
                   "Sexo": "gender", "Edad": "age", "Nacionalidad": "citizenship",
                   "País de explotación": "country_of_exploitation",
                   "Secuestro": "is_abduction"},
    "casework-ngo": {"Case ID": "case_id", "Registration date": "year_of_registration",
                     "Gender": "gender", "Date of birth": "age", "Citizenship": "citizenship",
                     "Country of exploitation": "country_of_exploitation",
                     "Abducted": "is_abduction", "Exploitation type": "multi",
                     "Labour sector": "multi", "Sexual exploitation type": "multi",
                     "Control methods": "multi", "Recruiter relationship": "multi"},
    "intl-agency": {"case_ref": "case_id", "registration_date": "year_of_registration",
                    "sex": "gender", "age": "age", "nationality": "citizenship",
                    "exploitation_country": "country_of_exploitation",
                    "is_forced_labour": "is_forced_labour", "abduction": "is_abduction",
                    "means_of_control": "multi", "labour_sectors": "multi",
                    "sexual_exploitation_types": "multi", "recruiter_relationship": "multi"},
    "registry-gov": {"caseNumber": "case_id", "yearOfRegistration": "year_of_registration",
                     "gender": "gender", "ageBroad": "age_band", "citizenship": "citizenship",
                     "CountryOfExploitation": "country_of_exploitation",
                     "isForcedLabour": "is_forced_labour",
                     "meansOfControlDebtBondage": "moc_debt_bondage",
                     "recruiterRelationFamily": "recruiter_family"},
}  # fmt: skip


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleResult:
    return generate_samples(tmp_path_factory.mktemp("exports"), rows=200, seed=42)


@pytest.fixture(scope="module")
def scaffolds(sample: SampleResult, schema: Schema) -> dict[str, Scaffold]:
    return {org: build_scaffold(sample.files[org], org, schema) for org in ORGS}


def committed(org: str) -> dict[str, Any]:
    raw, _ = load_text_yaml(ROOT / "pipelines" / f"{org}.yaml")
    return raw


def committed_placement(m: dict[str, Any]) -> dict[str, str]:
    """Source column -> what the committed mapping makes of it."""
    out = {m["case_id"]: "case_id"}
    out |= {c: "drop" for c in m.get("drop", [])} | {c: "ignore" for c in m.get("ignore", [])}
    age = m.get("age") or {}
    out |= {age[k]: "age" for k in ("column", "birth_date") if k in age}
    out |= {r["column"]: name for name, r in m["fields"].items() if "column" in r}
    out |= {r["column"]: "multi" for r in m.get("multi", [])}
    return out


def placement(s: Scaffold) -> dict[str, str]:
    kinds = {"field": None, "birth_date": "age", "unplaced": "unplaced"}
    return {c.column: (kinds.get(c.kind, c.kind) or c.target) for c in s.columns}


def load(s: Scaffold, schema: Schema, tmp_path: Path):
    path = tmp_path / f"{s.org}.yaml"
    path.write_text(s.text, encoding="utf-8")
    return load_mapping(path, schema)


# --- the four sample organizations ---------------------------------------------------------------


@pytest.mark.parametrize("org", ORGS)
def test_scaffold_places_columns_as_the_committed_mapping(scaffolds, org: str) -> None:
    mine, theirs = placement(scaffolds[org]), committed_placement(committed(org))
    assert set(mine) == set(theirs)  # every column of the export is in the plan
    placed = {c: p for c, p in mine.items() if p != "unplaced"}
    wrong = {c: (p, theirs[c]) for c, p in placed.items() if p != theirs[c]}
    assert not wrong, wrong
    for column, expected in OBVIOUS[org].items():
        assert mine[column] == expected, column
    assert len(placed) >= 0.7 * len(mine)


@pytest.mark.parametrize("org", ORGS)
def test_every_identifier_is_dropped_and_nothing_else(scaffolds, org: str) -> None:
    s = scaffolds[org]
    assert set(s.by_kind("drop")) == set(committed(org)["drop"])


@pytest.mark.parametrize("org", ORGS)
def test_source_is_guessed_as_pinned(scaffolds, org: str) -> None:
    pinned, got = committed(org)["source"], scaffolds[org].source
    assert got.format == pinned["format"]
    if got.format != "xlsx":
        assert normalize(got.encoding).replace("-", "") == normalize(
            pinned.get("encoding", "utf-8")).replace("-", "")  # fmt: skip
    if got.format == "csv":
        assert got.delimiter == pinned.get("delimiter", ",")
    if got.format == "xlsx":
        assert got.sheet == pinned["sheet"]


@pytest.mark.parametrize("org", ORGS)
def test_formats_dates_and_countries_as_pinned(scaffolds, org: str) -> None:
    m = committed(org)
    plans = {c.column: c for c in scaffolds[org].columns}
    reg = m["fields"]["year_of_registration"]
    assert plans[reg["column"]].extra.get("date_format") == reg.get("date_format")
    if "birth_date" in (m.get("age") or {}):
        plan = plans[m["age"]["birth_date"]]
        assert plan.extra["birth_date_format"] == m["age"]["birth_date_format"]
    for name in ("citizenship", "country_of_exploitation"):
        rule = m["fields"][name]
        plan = plans[rule["column"]]
        assert plan.extra["country"] == rule["country"]
        assert plan.extra.get("language", "en") == rule.get("language", "en")
    for rule in m.get("multi", []):
        plan = plans[rule["column"]]
        assert plan.extra["separator"] == rule.get("separator", ";")


@pytest.mark.parametrize("org", ORGS)
def test_vocabulary_is_translated_as_committed_or_listed_to_map(
    scaffolds, sample: SampleResult, schema: Schema, org: str
) -> None:
    """Each committed vocabulary key in the export: the same entry, or a TODO with its count."""
    m, s = committed(org), scaffolds[org]
    plans = {c.column: c for c in s.columns}
    seen = 0
    rules = [(r["column"], r.get("values") or {}, name) for name, r in m["fields"].items()
             if "column" in r] + [(r["column"], r["values"], "multi")
                                  for r in m.get("multi", [])]  # fmt: skip
    for column, vocabulary, name in rules:
        plan = plans[column]
        notes = {normalize(v.value): v for v in plan.values}
        for v in plan.values:  # each other spelling: the note it is counted in
            notes |= {normalize(alias): v for alias in v.also}
        for key, target in vocabulary.items():
            note = notes.get(normalize(key))
            if note is None:
                # not in this export, or accepted as it is (a schema value, a yes/no word)
                f = schema.by_name.get(name)
                accepted = f is not None and (
                    (f.type == "boolean" and normalize(key) in BOOLEAN_WORDS)
                    or normalize(key) in {normalize(v) for v in f.values}
                )
                # a word for unknown: in `missing:`, "not recorded" in every column
                accepted |= target is None and key in dict(s.missing)
                assert accepted or not _occurs(sample, org, column, key), (column, key)
                continue
            seen += 1
            if note.status == "entry":
                expected = "null" if target is None else str(target).lower()
                assert note.target.lower() == expected, (column, key, note)
            else:
                assert note.status == "todo" and note.rows > 0
                assert (column, note.value) in {(c, v) for c, vs in s.todo_values.items()
                                                for v, _ in vs}  # fmt: skip
    assert seen > 0


def _occurs(sample: SampleResult, org: str, column: str, value: str) -> bool:
    """Whether ``value`` is a cell, or a ``;``/``,``-separated part of one, of ``column``."""
    src = committed(org)["source"]
    spec = SourceSpec(src["format"], src.get("encoding", "utf-8"), src.get("delimiter", ","),
                      src.get("sheet"))  # fmt: skip
    cells = read_export(sample.files[org], spec.options()).frame[column]
    parts = {normalize(p) for cell in cells for p in re.split("[;,]", cell)}
    return normalize(value) in parts


def test_hotline_values_are_counted_and_translated(scaffolds, sample: SampleResult) -> None:
    """Counted independently with the csv module: every non-schema spelling of Sexo."""
    text = sample.files["hotline-es"].read_bytes().decode("latin-1")
    counts = Counter(normalize(r["Sexo"]) for r in csv.DictReader(io.StringIO(text),
                                                                  delimiter=";"))  # fmt: skip
    s = scaffolds["hotline-es"]
    sexo = {v.value: v for v in next(c for c in s.columns if c.column == "Sexo").values}
    assert sexo["Mujer"].rows == counts["mujer"] > 100 and sexo["Mujer"].target == "Female"
    assert sexo["Hombre"].rows == counts["hombre"] and sexo["Hombre"].target == "Male"
    assert sexo["Mujer trans"].rows == counts["mujer trans"]
    assert sexo["Mujer trans"].target == "Transgender"
    assert "Sexo" not in s.todo_values and "      Mujer: Female" in s.text
    # the recruiter column holds Desconocido as a label (recruiter_unknown): out of
    # `missing:`, so a null entry in Sexo; Desconocida, in no such column, is in `missing:`
    assert sexo["Desconocido"].target == "null" and "Desconocido" not in dict(s.missing)
    assert dict(s.missing)["Desconocida"] == 1
    assert set(s.todo_values) >= {"Tipo de explotación", "Medios de control", "Captador"}
    assert "Desconocido" in dict(s.todo_values["Captador"])


def test_ctdc_coded_values_get_entries(scaffolds) -> None:
    registry = {c.column: c for c in scaffolds["registry-gov"].columns}
    entries = {v.value: v.target for v in registry["ageBroad"].values if v.status == "entry"}
    assert entries["18--20"] == "18-20" and entries["9--17"] == "9-17"
    assert {v.value: v.target for v in registry["citizenship"].values}["00"] == "null"
    assert dict(scaffolds["registry-gov"].missing)["-99"] > 100
    assert dict(scaffolds["hotline-es"].missing)["N/D"] > 0


@pytest.mark.parametrize("org", ORGS)
def test_scaffold_loads_as_a_mapping(scaffolds, schema: Schema, tmp_path: Path, org: str) -> None:
    mapping = load(scaffolds[org], schema, tmp_path)
    theirs = committed(org)
    assert mapping.case_id == theirs["case_id"]
    assert set(mapping.drop) == set(theirs["drop"])
    assert "year_of_registration" in mapping.fields


# --- the command line ----------------------------------------------------------------------------


def test_cli_writes_the_scaffold_lists_values_and_keeps_an_existing_mapping(
    tmp_path: Path, sample: SampleResult
) -> None:
    export = sample.files["hotline-es"]
    result = run_ctdc(tmp_path, "mapping", "init", "--org", "hotline-es", str(export))
    assert result.exit_code == 0, result.stderr
    written = tmp_path / "pipelines" / "hotline-es.yaml"
    text = written.read_text(encoding="utf-8")
    assert "source values that need a vocabulary entry" in result.stdout
    assert "EE.UU." in result.stdout and "Servidumbre por deudas" in result.stdout
    assert "not placed" in result.stdout and "'Canal'" in result.stdout
    # again: refused, file untouched; --force rewrites it
    written.write_text(text + "# edited by hand\n", encoding="utf-8")
    result = run_ctdc(tmp_path, "mapping", "init", "--org", "hotline-es", str(export))
    assert (
        result.exit_code == 2
        and "error[bad-option]" in result.stderr
        and "--force" in result.stderr
    )
    assert written.read_text(encoding="utf-8").endswith("# edited by hand\n")
    result = run_ctdc(tmp_path, "mapping", "init", "--org", "hotline-es", str(export), "--force")
    assert result.exit_code == 0 and "edited by hand" not in written.read_text(encoding="utf-8")
    # validate reads the scaffold from ./pipelines and names the first column left to place
    result = run_ctdc(tmp_path, "validate", "--org", "hotline-es", str(export))
    assert result.exit_code == 1
    assert "error[unmapped-column]" in result.stderr and "'Canal'" in result.stderr


def test_cli_json_and_out(tmp_path: Path, sample: SampleResult) -> None:
    out = tmp_path / "elsewhere" / "casework-ngo.yaml"
    result = run_ctdc(tmp_path, "mapping", "init", "--org", "casework-ngo",
                str(sample.files["casework-ngo"]), "--out", str(out), "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["written"] == str(out) and out.is_file()
    assert plan["source"]["format"] == "xlsx" and plan["unplaced"] == ["Case status"]
    # F is Female, M Male (F is Female here), Unknown null; T and X left to the officer,
    # T with the entry its initial suggests, commented out
    assert set(plan["values_to_map"]["Gender"]) == {"T", "X"}
    text = out.read_text(encoding="utf-8")
    assert "      F: Female" in text and "      M: Male" in text
    assert "      # T: Transgender" in text and "      # X: TODO" in text
    assert plan["missing"]["UNK"] == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--org", "Bad/Org", "x.csv"], "error[bad-org-name]"),
        (["--org", "new-org", "missing.csv"], "error[file-not-found]"),
        (["--org", "new-org", "x.dat"], "--format"),
        (["--org", "new-org", "x.csv", "--out", "pipelines/other.yaml"], "new-org.yaml"),
    ],
)
def test_cli_usage_errors(tmp_path: Path, args: list[str], needle: str) -> None:
    (tmp_path / "x.csv").write_text("id,name\n1,a\n", encoding="utf-8")
    (tmp_path / "x.dat").write_text("id,name\n1,a\n", encoding="utf-8")
    result = run_ctdc(tmp_path, "mapping", "init", *args)
    assert result.exit_code in (2, 3) and needle in result.stderr, result.stderr
    assert not (tmp_path / "pipelines").exists()


# --- hand-made exports: guesses, identifiers, quoting --------------------------------------------


def test_guesses_encoding_and_delimiter(tmp_path: Path) -> None:
    cp = tmp_path / "a.csv"
    cp.write_bytes("id;nom;remarque\n1;Zoé;l\u2019école\n2;Léa;x\n".encode("cp1252"))
    spec, notes = guess_source(cp)
    assert (spec.format, spec.encoding, spec.delimiter) == ("csv", "cp1252", ";")
    assert any("cp1252" in n for n in notes)
    tab = tmp_path / "b.tsv"
    tab.write_bytes("\ufeffid\tsexe\n1\tF\n".encode())
    spec, notes = guess_source(tab)
    # the same guess as ingest's own sniffer: UTF-8, whose readers skip the byte-order mark
    assert (spec.format, spec.encoding) == ("tsv", "utf-8")
    assert any("byte-order mark" in n for n in notes)
    assert read_export(tab, spec.options()).frame.columns.tolist() == ["id", "sexe"]
    nd = tmp_path / "c.json"
    nd.write_text('{"id": "1"}\n{"id": "2"}\n', encoding="utf-8")
    assert guess_source(nd)[0].format == "ndjson"
    with pytest.raises(CtdcError) as err:
        guess_source(tmp_path / "c.xyz")
    assert err.value.slug == "file-not-found"


def test_identifiers_in_any_language_are_dropped_and_unknown_columns_left_out(
    tmp_path: Path, schema: Schema
) -> None:
    path = tmp_path / "x.csv"
    header = ["N° dossier", "Prénom", "Nom de famille", "Téléphone portable", "Courriel",
              "Adresse postale", "Commentaires libres", "Passport No", "Date de naissance",
              "Sexe", "Zzqx"]  # fmt: skip
    rows = [header, ["D-1", "Awa", "Diallo", "06", "a@b", "rue", "texte", "P1", "2001-01-01",
                     "F", "?"]]  # fmt: skip
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    s = build_scaffold(path, "new-org", schema)
    assert set(s.by_kind("drop")) == set(header[1:9])  # the birth date too: no usable reg date
    assert s.by_kind("case_id") == ["N° dossier"]
    assert [c.column for c in s.unplaced] == ["Zzqx"]
    load(s, schema, tmp_path)


def test_tricky_values_are_quoted_so_that_they_read_back(tmp_path: Path, schema: Schema) -> None:
    """YAML 1.1 words (No, null, true), codes (00, NA = Namibia), ':' and '#' inside labels."""
    path = tmp_path / "y.ndjson"
    records = [
        {"case_id": str(i), "registration_date": "2021-03-04", "gender": g, "nationality": c,
         "abducted": a, "means_of_control": m}
        for i, (g, c, a, m) in enumerate([
            ("~", "NA", "Oui", "threats"), ("true", "00", "Non", "debt: bondage"),
            ("No", "FR", "oui", "#other"), ("null", "NA", "", "threats;debt_bondage"),
        ])
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    s = build_scaffold(path, "tricky", schema)
    mapping = load(s, schema, tmp_path)
    assert mapping.fields["citizenship"].country == "alpha2"
    assert mapping.fields["citizenship"].values == {"00": None}  # NA stays Namibia
    assert "NA" not in mapping.missing and "null" in mapping.missing  # the text, not YAML's null
    assert mapping.fields["is_abduction"].values == {"oui": True, "non": False}
    todo = s.todo_values
    assert set(dict(todo["gender"])) == {"~", "true", "No"}
    for value in ("~", "true", "No"):
        assert f"# {json.dumps(value)}: TODO" in s.text, value
    [multi] = mapping.multi  # labels that differ from a flag's name in punctuation only
    assert multi.values[normalize("#other")] == "moc_other"
    assert multi.values[normalize("debt: bondage")] == "moc_debt_bondage"


def test_similarity_is_word_by_word() -> None:
    assert similarity(words("exploitation_country"), words("country of exploitation")) == 1.0
    assert similarity(words("isSexualExploit"), words("is_sexual_exploit")) == 1.0
    assert similarity(words("is_sexual_exploitation"), words("sexual exploit")) > 0.8
    assert similarity(words("minor_at_exploitation"), words("form of exploitation")) < 0.75
    assert words("País de explotación") == ("pais", "explotacion")
    assert words("meansOfControlDebtBondage") == ("means", "control", "debt", "bondage")


def test_spreadsheet_serial_dates_are_recognised(tmp_path: Path, schema: Schema) -> None:
    """Dates typed as text in some rows and left as bare serial numbers in others (cells
    never formatted as dates): the scaffold pins both, and the mapping reads them."""
    import openpyxl

    path = tmp_path / "serials.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["case_id", "registration_date", "gender"])
    for i, when in enumerate(["2021-03-04", "2021-05-06", 44256, 44257, 44500]):
        ws.append([f"C{i}", when, "F"])
    wb.save(path)
    s = build_scaffold(path, "serials", schema)
    [plan] = [c for c in s.columns if c.target == "year_of_registration"]
    assert plan.extra["date_format"] == ("%Y-%m-%d", "excel")
    assert 'date_format: ["%Y-%m-%d", excel]' in s.text
    mapping = load(s, schema, tmp_path)
    assert mapping.fields["year_of_registration"].date_format == ("%Y-%m-%d", "excel")


def test_a_header_over_two_rows_is_pinned(tmp_path: Path, schema: Schema) -> None:
    import openpyxl

    path = tmp_path / "merged.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Case", None, "Victim"])
    ws.append(["id", "registration date", "sex"])
    ws.append(["C1", "2021-03-04", "F"])
    ws.merge_cells("A1:B1")
    wb.save(path)
    source, _ = guess_source(path, header_rows=2)
    s = build_scaffold(path, "merged", schema, source=source)
    assert "  header_rows: 2" in s.text
    assert s.by_kind("case_id") == ["Case / id"]
    assert load(s, schema, tmp_path).source.header_rows == 2
    csv_file = tmp_path / "x.csv"
    csv_file.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(CtdcError, match="for XLSX headers"):
        guess_source(csv_file, header_rows=2)


def test_a_todo_value_uncommented_by_an_editor_is_in_place(tmp_path: Path, schema: Schema) -> None:
    """An editor's toggle-comment deletes "# ": the entry must then sit under `values:`."""
    path = tmp_path / "v.csv"
    path.write_text("case_id,registration_date,sex\nC1,2021-03-04,F\nC2,2021-03-05,M\n")
    s = build_scaffold(path, "toggle", schema)
    lines = s.text.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("# F: TODO", "# M: TODO")):
            key = line.lstrip()[2]
            lines[i] = line.replace("# ", "", 1).replace("TODO", {"F": "Female", "M": "Male"}[key])
    (tmp_path / "toggle.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = load_mapping(tmp_path / "toggle.yaml", schema)
    assert mapping.fields["gender"].values == {"f": "Female", "m": "Male"}
