"""A tiny real workspace (two organizations, real ingest and harmonize); ways to break its release.

Every broken release is a copy of the real public folder whose ``cases.parquet``
is rewritten with pyarrow: the audit must catch each fault on real Parquet.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import TEST_MAPPING
from ctdc.harmonize import harmonize
from ctdc.ingest import ingest_file
from ctdc.mapping import load_mapping
from ctdc.schema import Schema
from ctdc.store.public import PublicArea
from ctdc.store.workspace import Workspace, init_workspace

K = 3
HEADER = "ID;Nombre;Notas;Edad;Fecha;Sexo;Nac;Secuestro;Control"
#: planted in a dropped column of every export: must never be published
MARKER = "ZQXMARKERJW"
#: each class gets every pattern once: no means of control is TRUE in a whole class
CONTROLS = ("Deuda", "", "Amenazas", "Deuda,Amenazas")
ORGS = {"org-alpha": "Perú", "org-beta": "Chile"}


@dataclass(frozen=True)
class Published:
    ws: Workspace
    schema: Schema
    public: Path
    release: Path


def export_lines(org_index: int, country: str) -> list[str]:
    """2 years x 2 sexes x 2 ages (a minor, an adult) x the 4 control patterns: 32 records."""
    lines = []
    i = 0
    for year in (2020, 2021):
        for sex in ("Mujer", "Hombre"):
            for age in (15, 25):
                for control in CONTROLS:
                    i += 1
                    lines.append(
                        f"{org_index}{i:04d};{MARKER} {i};nota;{age};01/02/{year};"
                        f"{sex};{country};No;{control}"
                    )
    return lines


def build(root: Path, schema: Schema) -> Published:
    ws, _ = init_workspace(root / "data", k_floor=2, k=K)
    for n, (org, country) in enumerate(ORGS.items(), start=1):
        mapping = root / f"{org}.yaml"
        mapping.write_text(TEST_MAPPING.replace("org: test-org", f"org: {org}"), encoding="utf-8")
        export = root / f"{org}.csv"
        export.write_bytes(
            ("\n".join([HEADER, *export_lines(n, country)]) + "\n").encode("latin-1")
        )
        ingest_file(ws, schema, load_mapping(mapping, schema), export, key=ws.load_key())
    result = harmonize(ws, schema, k=K)
    return Published(ws, schema, ws.root / "public", result.public_path)


def copy_public(pub: Published, dest: Path) -> tuple[PublicArea, Path]:
    """A copy of the public folder (modes and the ``current`` symlink kept) and its release."""
    shutil.copytree(pub.public, dest, symlinks=True)
    return PublicArea(dest), dest / "releases" / pub.release.name


def rewrite_cases(
    release: Path,
    change: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    extra: dict[str, pa.DataType] | None = None,
    compression: str = "zstd",
    metadata: dict[str, str] | None = None,
    statistics: bool = True,
) -> None:
    """Read ``cases.parquet``, change its rows in pandas, write it back with the same types."""
    path = release / "cases.parquet"
    table = pq.read_table(path)
    frame = change(table.to_pandas(types_mapper=pd.ArrowDtype))
    schema = table.schema
    for name, dtype in (extra or {}).items():
        schema = schema.append(pa.field(name, dtype))
    out = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    out = out.replace_schema_metadata(metadata)
    mode = path.stat().st_mode & 0o777
    pq.write_table(out, path, compression=compression, write_statistics=statistics)
    path.chmod(mode)


def qi_key(frame: pd.DataFrame, qis: list[str]) -> pd.Series:
    """One text key per row: its quasi-identifier tuple (NULL spelled out)."""
    return frame[qis].astype("string").fillna("<NULL>").agg("|".join, axis=1)


_BUILT: list[Published] = []


@pytest.fixture
def pub(schema: Schema, tmp_path_factory: pytest.TempPathFactory) -> Published:
    """One tiny published workspace per process for every audit test module: each test breaks
    a copy, never it (a fixture imported into two modules would be built once per module)."""
    if not _BUILT:
        _BUILT.append(build(tmp_path_factory.mktemp("audit"), schema))
    return _BUILT[0]
