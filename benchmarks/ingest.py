"""Ingest speed and memory against a baseline that reads the same file in the same run.

- CSV (the registry's CTDC-coded export): ctdc ingest against a bare DuckDB
  ``read_csv`` -> Parquet copy of the same file (read every value as text,
  write Parquet: the least any ingest must do). ctdc also maps vocabularies,
  validates, quarantines, finds duplicate case ids, drops identifiers and
  pseudonymizes.
- XLSX (the case-management export): ctdc ingest against openpyxl's
  read-only iteration of the same sheet (``values_only``), which is what
  ctdc's XLSX reader is built on: the floor for any reader that, like ctdc,
  never evaluates formulas and bounds what a crafted workbook can unpack.
  DuckDB's Excel reader is an extension it would have to download.
- JSON array (the international agency's export): ctdc ingest against
  ``json.load`` of the same file -- the whole-document parse an array reader
  without streaming does before it can start. The point is memory: ctdc's
  reader streams the array, so its peak should stay flat as the file grows.

Both run in this same process tree, one after the other, each in a fresh
child (peak memory = that child's VmHWM).

    python benchmarks/ingest.py --rows 1000000 --xlsx-rows 100000 --json-rows 200000
    python benchmarks/ingest.py --rows 10000000 --xlsx-rows 0   # memory at 10M (minutes)

The 10M-row CSV is the 1M file's records ten times over with changed case ids;
like the XLSX (the generator writes XLSX slowly) it is cached in benchmarks/out/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import OUT, ROOT, measure, record

SETUP_CTDC = """
import shutil
from pathlib import Path
from ctdc.ingest import ingest_file
from ctdc.mapping import load_mapping
from ctdc.schema import load_schema
from ctdc.store.workspace import init_workspace
"""

WORK_CTDC = """
root = Path({data!r})
shutil.rmtree(root, ignore_errors=True)
ws, _ = init_workspace(root)
schema = load_schema({schema!r})
mapping = load_mapping(Path({mapping!r}), schema)
r = ingest_file(ws, schema, mapping, Path({file!r}), key=ws.load_key())
RESULT = {{"rows": r.rows_read, "staged": r.staged, "quarantined": r.quarantined}}
"""

SETUP_DUCKDB = "import duckdb\n"
WORK_DUCKDB = """
con = duckdb.connect()
con.execute("SET threads = 2")
n = con.execute(
    "COPY (SELECT * FROM read_csv(?, all_varchar = true, header = true)) "
    "TO {out!r} (FORMAT parquet, COMPRESSION zstd)", [{file!r}]
).fetchone()[0]
RESULT = {{"rows": n}}
"""

SETUP_JSON = "import json\n"
WORK_JSON = """
with open({file!r}, encoding="utf-8") as fh:
    n = len(json.load(fh))
RESULT = {{"rows": n}}
"""

SETUP_OPENPYXL = "import openpyxl\n"
WORK_OPENPYXL = """
wb = openpyxl.load_workbook({file!r}, read_only=True, data_only=True)
ws = wb["Cases"]
ws.reset_dimensions()
n = sum(1 for row in ws.iter_rows(min_row=2, values_only=True) if any(v is not None for v in row))
wb.close()
RESULT = {{"rows": n}}
"""


def export_csv(rows: int, seed: int) -> Path:
    """The registry's CTDC-coded CSV at ``rows`` rows (cached in benchmarks/out/).

    Above 1M rows: the 1M file's records repeated byte for byte, each copy's
    case ids (the first column) prefixed with the copy's number so that they
    stay unique.
    """
    path = OUT / f"registry-gov-{rows}-{seed}.csv"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    if rows <= 1_000_000:
        from ctdc.sample.generator import build_export

        path.write_bytes(build_export("registry-gov", rows, seed).to_bytes())
        return path
    base, copies = 1_000_000, -(-rows // 1_000_000)
    header, _, body = export_csv(base, seed).read_bytes().partition(b"\n")
    records = body.rstrip(b"\n").split(b"\n")
    # one record per line and the case id first: a prefix keeps each copy's ids unique
    assert len(records) == base and all(r[:1].isdigit() for r in records[:1000])
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        out.write(header + b"\n")
        for k in range(copies):
            part = records[: min(base, rows - k * base)]
            out.write(b"\n".join(b"%d" % k + r for r in part) + b"\n")
    tmp.rename(path)
    return path


def _sample_export(org: str, ext: str, rows: int, seed: int) -> Path:
    """``ctdc sample``'s export of ``org`` at ``rows`` rows, cached in benchmarks/out/
    (writing a large XLSX takes minutes)."""
    path = OUT / f"{org}-{rows}-{seed}.{ext}"
    if not path.exists():
        from ctdc.sample.generator import build_export

        OUT.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(build_export(org, rows, seed).to_bytes())
        tmp.rename(path)
    return path


def export_xlsx(rows: int, seed: int) -> Path:
    """The case-management XLSX."""
    return _sample_export("casework-ngo", "xlsx", rows, seed)


def export_json(rows: int, seed: int) -> Path:
    """The international agency's JSON array."""
    return _sample_export("intl-agency", "json", rows, seed)


def _rows(base, ours) -> list[dict]:
    rows = []
    for m in (base, ours):
        row = m.row()
        row["rows/s"] = int(m.extra["rows"] / m.seconds)
        row["time vs baseline"] = f"{m.seconds / base.seconds:.2f}x"
        row["memory vs baseline"] = f"{m.peak_mb / base.peak_mb:.2f}x"
        rows.append(row)
    return rows


def _paths(file: Path, org: str) -> dict[str, str]:
    """What the work templates are formatted with: the file and the org's mapping."""
    return {
        "file": str(file),
        "data": str(OUT / "ingest-workspace"),
        "schema": str(ROOT / "schemas" / "ctdc.yaml"),
        "mapping": str(ROOT / "pipelines" / f"{org}.yaml"),
        "out": str(OUT / "baseline.parquet"),
    }


def _one_file(
    file: Path, org: str, seed: int, baseline: str, setup: str, work: str, title: str
) -> str:
    """ctdc ingest of ``file`` against ``baseline`` reading the same file, in the same run."""
    paths = _paths(file, org)
    base = measure(baseline, setup, work.format(**paths))
    ours = measure("ctdc ingest", SETUP_CTDC, WORK_CTDC.format(**paths))
    size = file.stat().st_size / 2**20
    kind = file.suffix.lstrip(".").upper()
    return record(
        title,
        _rows(base, ours),
        [f"File: {org} {kind} from `ctdc sample`, {size:,.1f} MB, seed {seed}."],
    )


def bench_csv(rows: int, seed: int) -> str:
    return _one_file(export_csv(rows, seed), "registry-gov", seed, "duckdb read_csv -> parquet",
                     SETUP_DUCKDB, WORK_DUCKDB, f"Ingest {rows:,}-row CSV")  # fmt: skip


def bench_xlsx(rows: int, seed: int) -> str:
    return _one_file(export_xlsx(rows, seed), "casework-ngo", seed,
                     "openpyxl read-only iteration", SETUP_OPENPYXL, WORK_OPENPYXL,
                     f"Ingest {rows:,}-row XLSX")  # fmt: skip


def bench_json(rows: int, seed: int) -> str:
    """Two sizes, so that the memory of each reader can be seen to grow or not."""
    table = []
    for n in (rows // 2, rows):
        paths = _paths(export_json(n, seed), "intl-agency")
        base = measure(f"{n:,} records: json.load", SETUP_JSON, WORK_JSON.format(**paths))
        ours = measure(f"{n:,} records: ctdc ingest", SETUP_CTDC, WORK_CTDC.format(**paths))
        table += _rows(base, ours)
    size = export_json(rows, seed).stat().st_size / 2**20
    return record(
        f"Ingest {rows:,}-record JSON array",
        table,
        [f"File: intl-agency JSON array from `ctdc sample`, {size:,.0f} MB at {rows:,} records, "
         f"seed {seed}; half that size first."],
    )  # fmt: skip


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="CSV rows (0: no CSV run)")
    ap.add_argument("--xlsx-rows", type=int, default=100_000, help="XLSX rows (0: no XLSX run)")
    ap.add_argument("--json-rows", type=int, default=0, help="JSON array records (0: no run)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    out = []
    if args.rows:
        out.append(bench_csv(args.rows, args.seed))
    if args.xlsx_rows:
        out.append(bench_xlsx(args.xlsx_rows, args.seed))
    if args.json_rows:
        out.append(bench_json(args.json_rows, args.seed))
    return "\n".join(out)


if __name__ == "__main__":
    main()
