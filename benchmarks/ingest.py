"""Ingest speed and memory against a bare DuckDB ``read_csv`` -> Parquet copy of the same file.

The baseline does the least any ingest must do (read every value as text, write
Parquet); ctdc also maps vocabularies, validates, quarantines, drops identifiers
and pseudonymizes. The ratio is what matters: both run in this same process tree,
one after the other, on the same file.

    python benchmarks/ingest.py --rows 1000000
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import OUT, ROOT, measure, record

SETUP_CTDC = """
import shutil
from pathlib import Path
from ctdc.ingest import ingest_file, load_mapping
from ctdc.schema import load_schema
from ctdc.store.workspace import init_workspace
"""

WORK_CTDC = """
root = Path({data!r})
shutil.rmtree(root, ignore_errors=True)
ws, _ = init_workspace(root)
schema = load_schema({schema!r})
mapping = load_mapping(Path({mapping!r}), schema)
r = ingest_file(ws, schema, mapping, Path({csv!r}), key=ws.load_key())
RESULT = {{"rows": r.rows_read, "staged": r.staged, "quarantined": r.quarantined}}
"""

SETUP_DUCKDB = "import duckdb\n"
WORK_DUCKDB = """
con = duckdb.connect()
con.execute("SET threads = 2")
n = con.execute(
    "COPY (SELECT * FROM read_csv(?, all_varchar = true, header = true)) "
    "TO {out!r} (FORMAT parquet, COMPRESSION zstd)", [{csv!r}]
).fetchone()[0]
RESULT = {{"rows": n}}
"""


def export_csv(rows: int, seed: int) -> Path:
    """The registry's CTDC-coded CSV at ``rows`` rows (cached in benchmarks/out/)."""
    path = OUT / f"registry-gov-{rows}-{seed}.csv"
    if not path.exists():
        from ctdc.sample.generator import build_export

        OUT.mkdir(parents=True, exist_ok=True)
        path.write_bytes(build_export("registry-gov", rows, seed).to_bytes())
    return path


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    csv = export_csv(args.rows, args.seed)
    paths = {
        "csv": str(csv),
        "data": str(OUT / "ingest-workspace"),
        "schema": str(ROOT / "schemas" / "ctdc.yaml"),
        "mapping": str(ROOT / "pipelines" / "registry-gov.yaml"),
        "out": str(OUT / "baseline.parquet"),
    }
    base = measure("duckdb read_csv -> parquet", SETUP_DUCKDB, WORK_DUCKDB.format(**paths))
    ours = measure("ctdc ingest", SETUP_CTDC, WORK_CTDC.format(**paths))
    rows = []
    for m in (base, ours):
        row = m.row()
        row["rows/s"] = int(m.extra["rows"] / m.seconds)
        row["time vs baseline"] = f"{m.seconds / base.seconds:.2f}x"
        row["memory vs baseline"] = f"{m.peak_mb / base.peak_mb:.2f}x"
        rows.append(row)
    size = csv.stat().st_size / 2**20
    return record(
        f"Ingest {args.rows:,}-row CSV",
        rows,
        [f"File: registry-gov CSV from `ctdc sample`, {size:,.0f} MB, seed {args.seed}."],
    )


if __name__ == "__main__":
    main()
