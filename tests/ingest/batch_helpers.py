"""Hand-made test-org exports over time, and the ingest and harmonize the batch tests run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ctdc.harmonize import harmonize
from ctdc.ingest import IngestResult, ingest_file
from ctdc.schema import Schema
from ctdc.store.workspace import Workspace

#: release levels pinned: the assertions here are about batches, not about the anonymizer's
#: search, which at ``auto`` takes over a minute on these tiny, mostly empty exports
LEVELS = {"year_of_registration": 0, "age_band": 0, "citizenship": 0, "country_of_exploitation": 0}
GENERALIZE = [x for name in LEVELS for x in ("--generalize", f"{name}=0")]
HEADER = "ID;Nombre;Notas;Edad;Fecha;Sexo;Nac;Secuestro;Control"
COUNTRIES = ["Perú", "Colombia", "Venezuela"]
K = 2


def export(folder: Path, name: str, ids: range, *, bad: int = 0) -> Path:
    """A test-org export with the given case ids; the first ``bad`` rows have an unknown sex."""
    lines = [HEADER]
    for n, i in enumerate(ids):
        sex = "Varón" if n < bad else ("Mujer" if i % 3 else "Hombre")
        lines.append(f"{i:05d};Persona {i};nota {i};{18 + i % 30};{1 + i % 28:02d}/0{1 + i % 9}/"
                     f"{2019 + i % 4};{sex};{COUNTRIES[i % 3]};{'Sí' if i % 5 == 0 else 'No'};"
                     f"{'Deuda' if i % 2 else 'Amenazas'}")  # fmt: skip
    path = folder / name
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


def release(ws: Workspace, schema: Schema):
    return harmonize(ws, schema, k=K, levels=LEVELS)


def ingest(ws: Workspace, schema: Schema, mapping, path: Path, mode: str) -> IngestResult:
    return ingest_file(ws, schema, mapping, path, key=ws.load_key(), mode=mode)


def pseudonyms(ws: Workspace, result: IngestResult) -> set[str]:
    staged = pd.read_parquet(ws.staging_dir("test-org") / f"{result.batch_id}.parquet")
    return set(staged["case_pseudonym"])


def check_balanced(manifest: dict) -> dict:
    acc = manifest["accounting"]
    for row in [acc["total"], *acc["per_org"].values()]:
        assert row["balanced"]
        assert row["rows_read"] == row["staged"] + row["quarantined"]
        assert row["staged"] == (row["released"] + row["records_suppressed"]
                                 + row["duplicates_merged"] + row["held"] + row["withheld"]
                                 + row["withdrawn"])  # fmt: skip
    return acc["per_org"]["test-org"]
