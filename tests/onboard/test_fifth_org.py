"""A fifth organization, onboarded with nothing but ``pipelines/shelter-fr.yaml``.

The export is written here, not by ``ctdc.sample``: a French shelter
network's case-tracking app, one JSON object per line, French keys and labels,
its own codes (``H``/``F``/``NB``, ``oui``/``non``/``nsp``, ``NR`` for not
recorded, ``|``-joined lists next to JSON arrays), Faker names, phones and
addresses in every identifier field, each carrying a marker, and two bad rows.

Through the real CLI, as the three users run it: the data officer drafts the
mapping with ``ctdc mapping init`` (the committed YAML is that draft,
completed), ingests the four sample organizations and the fifth; the cron job
harmonizes with k=5; the analyst queries. The checks read the files back
with their own code.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from faker import Faker

from conftest import query_json, run_ctdc
from ctdc.mapping import load_mapping
from ctdc.sample import ORGS, generate_samples
from ctdc.schema import Schema
from ctdc.yamlio import load_text_yaml

# the slow tier: an end-to-end scenario (make test runs it after the fast tier)
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ORG = "shelter-fr"
MARKER = "QQSHELTERLEAK5"
SAMPLE_MARKER = "QQSAMPLELEAK4"
ROWS = 240
K = 5
#: NDJSON line -> what is wrong with it
PLANTED = {7: "unknown-value", 20: "bad-date"}

#: (weight, nationality, country of exploitation, sex weights F/H/T/NB, ages, forms)
PROFILES = [
    (40, "Nigéria", "France", (95, 5, 0, 0), (16, 30), ["Exploitation sexuelle"]),
    (14, "Roumanie", "France", (50, 50, 0, 0), (15, 40), ["Travail forcé"]),
    (10, "Côte d'Ivoire", "Belgique", (90, 10, 0, 0), (17, 35), ["Travail forcé"]),
    (10, "Albanie", "France", (85, 10, 5, 0), (18, 28), ["Exploitation sexuelle"]),
    (9, "Viêt Nam", "France", (20, 80, 0, 0), (15, 35), ["Travail forcé"]),
    (5, "Chine", "France", (60, 40, 0, 0), (25, 50), ["Exploitation sexuelle"]),
    (4, "Maroc", "Belgique", (30, 70, 0, 0), (20, 45), ["Contrainte à commettre des délits"]),
    (3, "Érythrée", "France", (50, 50, 0, 0), (16, 30), ["Mariage forcé", "Travail forcé"]),
    (2, "RD Congo", "Belgique", (70, 20, 0, 10), (18, 40), ["Esclavage"]),
    (2, "Namibie", "France", (100, 0, 0, 0), (20, 30), ["Exploitation sexuelle"]),
    (1, "Inconnue", "France", (50, 50, 0, 0), (18, 40), ["Exploitation sexuelle"]),
]
SECTORS = ["Agriculture", "BTP", "Travail domestique", "Restauration/hôtellerie", "Mendicité",
           "Industrie", "Autre"]  # fmt: skip
CONTROL = ["Dette", "Confiscation des papiers", "Menaces", "Violences physiques",
           "Violences sexuelles", "Séquestration", "Fausses promesses",
           "Privation de salaire"]  # fmt: skip
SHELTERS = ["Foyer Lyon-Est", "Maison d'accueil Lille", "Refuge Bruxelles-Midi", "Abri Marseille"]
REFERRALS = ["115", "police", "association", "hôpital", "NR"]


def write_shelter_export(path: Path, rows: int = ROWS, seed: int = 5) -> list[dict]:
    """The network's NDJSON export: realistic, skewed, marked identifiers, two bad rows."""
    rng = random.Random(seed)
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    records = []
    for i in range(1, rows + 1):
        _, nat, where, sexes, (lo, hi), forms = rng.choices(PROFILES, [p[0] for p in PROFILES])[0]
        sex = rng.choices(["F", "H", "T", "NB"], sexes)[0]
        age: int | str | None = rng.randint(lo, hi)
        if rng.random() < 0.05:
            age = rng.choice([None, "NR"])
        year = rng.choice([2019, 2020, 2021, 2022, 2023, 2024])
        labour = "Travail forcé" in forms
        first = fake.first_name_female() if sex == "F" else fake.first_name_male()
        records.append({
            "numero_dossier": f"ACC-{year}-{i:05d}",
            "date_accueil": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}",
            "structure": rng.choice(SHELTERS),
            "prenom": f"{first} {MARKER}",
            "nom": f"{fake.last_name()} {MARKER}",
            "telephone": f"{fake.phone_number()} {MARKER}" if rng.random() < 0.8 else None,
            "courriel": f"{MARKER.lower()}.{fake.email()}" if rng.random() < 0.4 else "",
            "adresse": f"{fake.street_address()}, {fake.city()} {MARKER}",
            "num_titre_sejour": f"{MARKER}{rng.randint(10**9, 10**10 - 1)}"
            if rng.random() < 0.5 else None,
            "sexe": sex if rng.random() > 0.03 else "Inconnu",
            "age": age,
            "mineur_debut_exploitation": "oui" if isinstance(age, int) and age < 20
            and rng.random() < 0.5 else rng.choice(["non", "non", "nsp"]),
            "nationalite": nat,
            "pays_exploitation": where,
            "formes_exploitation": forms,
            "secteur_travail": "|".join(rng.sample(SECTORS[:6], rng.choice([1, 1, 2])))
            if labour else None,
            "moyens_controle": "|".join(rng.sample(CONTROL, rng.randint(1, 3))),
            "enlevement": rng.choice(["non"] * 8 + ["oui", "nsp"]),
            "orientation": rng.choice(REFERRALS),
            "observations": f"{first} {MARKER} a été orientée par {fake.name()}, "
            f"hébergée à {fake.city()}." if rng.random() < 0.7 else "",
        })  # fmt: skip
    records[7 - 1]["sexe"] = "Z"  # line 7: not in the vocabulary
    records[20 - 1]["date_accueil"] = "31/02/2023"  # line 20: no such date
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return records


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("fifth")
    exports = root / "exports"
    sample = generate_samples(exports, rows=200, seed=31, marker=SAMPLE_MARKER)
    shelter = exports / "shelter-fr-2024.ndjson"
    records = write_shelter_export(shelter)
    out: dict = {"root": root, "records": records, "shelter": shelter, "sample": sample}

    result = run_ctdc(root, "mapping", "init", "--org", ORG, str(shelter), "--out",
                "draft/shelter-fr.yaml", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    out["draft"] = json.loads(result.stdout)

    assert run_ctdc(root, "--data-dir", "data", "init", "--k-floor", "2").exit_code == 0
    ingests = {}
    files = {**sample.files, ORG: shelter}
    for org, path in files.items():
        result = run_ctdc(root, "--data-dir", "data", "ingest", "--org", org, str(path), "--json")
        assert result.exit_code == 0, (org, result.stderr)
        [ingests[org]] = json.loads(result.stdout)
    out["ingests"] = ingests
    result = run_ctdc(root, "--data-dir", "data", "harmonize", "--k", str(K), "--json")
    assert result.exit_code == 0, result.stderr
    out["manifest"] = json.loads(result.stdout)
    out["release"] = (root / "data" / "current").resolve()
    out["data"] = root / "data"
    return out


def test_the_fifth_org_is_only_a_yaml_file(schema: Schema) -> None:
    mapping = load_mapping(ROOT / "pipelines" / f"{ORG}.yaml", schema)
    assert mapping.org == ORG and mapping.source.format == "ndjson"
    assert set(ORGS) == {"hotline-es", "casework-ngo", "intl-agency", "registry-gov"}
    for path in (ROOT / "src").rglob("*.py"):
        assert ORG not in path.read_text(encoding="utf-8"), f"{path} names the fifth org"


def test_mapping_init_drafted_the_mapping(run: dict) -> None:
    draft, committed = run["draft"], load_text_yaml(ROOT / "pipelines" / f"{ORG}.yaml")[0]
    placed = {c["column"]: c for c in draft["columns"]}
    assert draft["source"]["format"] == "ndjson" and draft["source"]["encoding"] == "utf-8"
    assert {c for c, p in placed.items() if p["kind"] == "drop"} == set(committed["drop"])
    assert placed["numero_dossier"]["kind"] == "case_id"
    assert placed["age"]["kind"] == "age"
    for column, field in [("date_accueil", "year_of_registration"), ("sexe", "gender"),
                          ("nationalite", "citizenship"), ("enlevement", "is_abduction"),
                          ("pays_exploitation", "country_of_exploitation")]:  # fmt: skip
        assert (placed[column]["kind"], placed[column]["target"]) == ("field", field), column
    assert placed["date_accueil"]["date_format"] == "%d/%m/%Y"
    assert placed["nationalite"]["country"] == "name" and placed["nationalite"]["language"] == "fr"
    assert {"structure", "orientation"} <= set(draft["unplaced"])  # for a person to decide
    # the values to map, counted as in the file
    sexes = Counter(r["sexe"] for r in run["records"])
    # F and H are French words for Female and Male, NB for NonConforming: entries; T (a
    # suggestion) and the planted Z are left to the officer
    assert draft["values_to_map"]["sexe"] == {"T": sexes["T"], "Z": 1}
    # words for unknown are "not recorded" in every column: in `missing:`, with their rows
    assert draft["missing"]["Inconnu"] == sexes["Inconnu"]
    assert draft["values_to_map"]["nationalite"] == {"RD Congo": sum(
        r["nationalite"] == "RD Congo" for r in run["records"])}  # fmt: skip
    assert "Dette" in draft["values_to_map"]["moyens_controle"]
    assert "enlevement" not in draft["values_to_map"]  # oui/non: yes/no words; nsp: unknown


def test_ingest_balances_and_quarantines_the_planted_rows(run: dict) -> None:
    result = run["ingests"][ORG]
    assert result["status"] == "ingested" and result["balanced"]
    assert result["rows_read"] == ROWS
    assert result["quarantined"] == len(PLANTED) and result["staged"] == ROWS - len(PLANTED)
    assert result["quarantined_by_reason"] == {"bad-date": 1, "unknown-value": 1}
    shown = {e["row"]: e["reason"] for e in result["examples"]}
    assert shown == PLANTED


def test_fifth_org_is_in_the_accounting_and_released(run: dict) -> None:
    manifest = run["manifest"]
    acc = manifest["accounting"]
    assert set(acc["per_org"]) == {*ORGS, ORG}
    for row in [acc["total"], *acc["per_org"].values()]:
        assert row["balanced"]
        assert row["rows_read"] == row["staged"] + row["quarantined"]
        assert row["staged"] == (row["released"] + row["records_suppressed"]
                                 + row["duplicates_merged"])  # fmt: skip
    mine = acc["per_org"][ORG]
    assert mine["rows_read"] == ROWS and mine["quarantined"] == len(PLANTED)
    assert mine["released"] > 0.5 * mine["staged"], mine
    assert run["ingests"][ORG]["batch_id"] in manifest["batches"]
    released = pq.read_metadata(run["release"] / "cases.parquet").num_rows
    assert released == acc["total"]["released"]
    # the independent k check over what was written
    qis = ", ".join(f'"{q}"' for q in manifest["quasi_identifiers"])
    smallest = (
        duckdb.connect()
        .execute(
            f"SELECT min(n) FROM (SELECT count(*) AS n FROM read_parquet(?) GROUP BY {qis})",
            [str(run["release"] / "cases.parquet")],
        )
        .fetchone()[0]
    )
    assert smallest >= K


def test_no_identifier_marker_in_the_release_or_staging(run: dict) -> None:
    exports = run["shelter"].read_text(encoding="utf-8")
    assert exports.count(MARKER) > 3 * ROWS  # the markers did reach ingest
    files = [p for p in run["release"].rglob("*") if p.is_file()]
    files += list((run["data"] / "staging").rglob("*.parquet"))
    assert any(ORG in str(p) for p in files)
    for path in files:
        texts = [path.read_bytes().decode("latin-1")]
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            texts.append("\n".join(str(v) for col in table.columns for v in col.to_pylist()))
        for text in texts:
            for marker in (MARKER, SAMPLE_MARKER):
                assert marker.lower() not in text.lower(), f"{marker} leaked into {path}"


def test_analyst_sees_the_fifth_org_rows(run: dict) -> None:
    total = run["manifest"]["accounting"]["total"]["released"]
    assert query_json(run["root"], "SELECT count(*) AS n FROM cases") == [{"n": total}]
    # Belgium: a country of exploitation that only the shelter network reports
    staged = (
        duckdb.connect()
        .execute(
            "SELECT org_id, count(*) FROM read_parquet(?) WHERE country_of_exploitation = 'BE' "
            "GROUP BY ALL",
            [str(run["data"] / "staging" / "*" / "*.parquet")],
        )
        .fetchall()
    )
    assert [org for org, _ in staged] == [ORG]
    # released as Belgium, or one of its regions where a type of exploitation would otherwise
    # be certain from the demographics (protected flags), always in classes of k or more
    # (the finest level column that is not NULL is the published value)
    sql = ("SELECT count(*) AS n FROM cases WHERE coalesce(country_of_exploitation, "
           "exploitation_subregion, exploitation_region) "
           "IN ('BE', 'Western Europe', 'Europe')")  # fmt: skip
    assert query_json(run["root"], sql)[0]["n"] >= K
    per_org = run["manifest"]["accounting"]["per_org"][ORG]
    assert per_org["released"] + per_org["held"] == per_org["staged"]
