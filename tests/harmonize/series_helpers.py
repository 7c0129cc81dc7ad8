"""Exports, nights and diffs for the release-series tests (test_series*.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ctdc.harmonize import harmonize
from ctdc.ingest import ingest_file
from ctdc.schema import Schema
from ctdc.store.publication import read_ledger
from ctdc.store.workspace import Workspace

K = 3
HEADER = "ID;Nombre;Notas;Edad;Fecha;Sexo;Nac;Secuestro;Control"
COUNTRIES = ["Perú", "Colombia", "Venezuela"]
LEVELS = {"year_of_registration": 0, "citizenship": 0, "country_of_exploitation": 0}


def export(folder: Path, name: str, ids: list[int], *, age_shift: int = 0) -> Path:
    """A test-org export; ages in three bands and two years, so classes of k form easily."""
    lines = [HEADER]
    for i in ids:
        lines.append(f"{i:05d};P {i};n;{20 + i % 3 + age_shift};01/02/{2019 + i % 2};"
                     f"{'Mujer' if i % 4 else 'Hombre'};{COUNTRIES[i % 3]};"
                     f"{'Sí' if i % 7 == 0 else 'No'};"
                     f"{'Deuda' if i % 2 else 'Amenazas'}")  # fmt: skip
    path = folder / name
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


def night(ws: Workspace, schema: Schema, org, path: Path, mode: str = "append"):
    ingest_file(ws, schema, org, path, key=ws.load_key(), mode=mode)
    return harmonize(ws, schema, k=K, levels=LEVELS)


def cases(result) -> str:
    return str(result.path / "cases.parquet")


def diff(new: str, old: str, exclude: list[str] | None = None) -> pd.DataFrame:
    """``new EXCEPT ALL old``, whole rows or without ``exclude`` (the attacker's queries)."""
    cols = f"* EXCLUDE ({', '.join(exclude)})" if exclude else "*"
    sql = f"SELECT {cols} FROM read_parquet(?) EXCEPT ALL SELECT {cols} FROM read_parquet(?)"
    return duckdb.execute(sql, [new, old]).df()


def k_anonymous(rows: pd.DataFrame, qis: list[str]) -> bool:
    """Every combination of quasi-identifier values occurs 0 or >= K times in ``rows``."""
    if rows.empty:
        return True
    return bool((rows.groupby(qis, dropna=False).size() >= K).all())


def published_forms(ws: Workspace, release_id: str, qis: list[str]) -> pd.DataFrame:
    ledger = read_ledger(ws.root, release_id)
    assert ledger is not None
    return ledger[ledger["state"] == "published"].set_index("case_pseudonym")[qis].astype(str)
