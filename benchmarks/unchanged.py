"""A nightly run with nothing new, against the full harmonize of the same workspace.

The operator's cron line runs ``ctdc harmonize`` every night; most nights nothing
changed. harmonize compares the run's inputs (live batches, withdrawals, the epoch's
settings and schema fingerprint, the series policy, ctdc's version; docs/releases.md)
with the current release's *before* it merges, so such a night should cost a blink,
whatever the size of the workspace.

The workspace: the four ``ctdc sample`` organizations at ``--rows`` rows each,
ingested once into ``benchmarks/out/unchanged-<rows>-<seed>/ingested`` (cached). Each
run copies it and measures, in the same run:

1. the baseline: the first ``harmonize()`` of the copy (merge, anonymize, verify, audit,
   publish), in a child process (wall time and peak memory);
2. ``harmonize()`` again in a child process, in-process timing (nothing new);
3. ``python -m ctdc harmonize --quiet`` as cron runs it: the whole process, imports
   included (median of ``--repeat`` runs).

    python benchmarks/unchanged.py --rows 100000     # 392,000 records
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import OUT, ROOT, measure, record

K = 10

SETUP = """
from pathlib import Path
from ctdc.harmonize import harmonize
from ctdc.store.policy import pinned_schema
from ctdc.store.workspace import open_workspace
ws = open_workspace(Path({data!r}))
schema = pinned_schema(ws)
"""
WORK = """
result = harmonize(ws, schema, k={k})
RESULT = {{"status": str(result.status), "records": result.manifest.files.cases_rows}}
"""


def ingested(rows: int, seed: int) -> Path:
    """The four sample organizations generated and ingested once; cached."""
    folder = OUT / f"unchanged-{rows}-{seed}" / "ingested"
    if (folder / "data" / "ledger").is_dir():
        return folder
    from ctdc.ingest import ingest_file
    from ctdc.mapping import load_mapping
    from ctdc.sample import generate_samples
    from ctdc.schema import load_schema
    from ctdc.store.workspace import init_workspace

    shutil.rmtree(folder, ignore_errors=True)
    print(f"generating and ingesting 4 x {rows:,} sample rows (once; cached)", flush=True)
    sample = generate_samples(folder / "exports", rows=rows, seed=seed)
    ws, _ = init_workspace(folder / "data")
    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    for org, file in sample.files.items():
        mapping = load_mapping(ROOT / "pipelines" / f"{org}.yaml", schema)
        ingest_file(ws, schema, mapping, file, key=ws.load_key())
    shutil.rmtree(folder / "exports")
    return folder


def cli_seconds(data: Path, repeat: int) -> tuple[list[float], list[float]]:
    """Wall seconds of ``python -m ctdc --data-dir DATA harmonize --quiet``, each run, and
    its CPU seconds (user + system): the wall time of a shared, loaded machine swings, the
    CPU time is what an idle one would wait."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    wall, cpu = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "ctdc", "--data-dir", str(data),
                               "harmonize", "--quiet", "--k", str(K)],
                              capture_output=True, text=True, env=env, cwd=ROOT)  # fmt: skip
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(f"ctdc harmonize failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall, cpu


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows per organization")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5, help="CLI runs with nothing new")
    args = ap.parse_args(argv)
    os.environ.setdefault("CTDC_FSYNC", "off")  # a thrown-away copy, as in the tests
    source = ingested(args.rows, args.seed)
    work = source.parent / "run"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source / "data", work / "data", symlinks=True)
    data = work / "data"
    fmt = {"data": str(data), "k": K}
    full = measure("full harmonize (baseline: merge, anonymize, verify, audit, publish)",
                   SETUP.format(**fmt), WORK.format(**fmt))  # fmt: skip
    same = measure("harmonize() again, nothing new (in-process)", SETUP.format(**fmt),
                   WORK.format(**fmt))  # fmt: skip
    if full.extra["status"] != "published" or same.extra["status"] != "unchanged":
        raise SystemExit(f"unexpected statuses: {full.extra} then {same.extra}")
    runs, cpus = cli_seconds(data, args.repeat)
    cli = statistics.median(runs)
    records = full.extra["records"]
    rows = [
        {"name": full.name, "seconds": round(full.seconds, 2), "peak_mb": round(full.peak_mb),
         "records": records, "vs full": "1.00x"},
        {"name": same.name, "seconds": round(same.seconds, 3), "peak_mb": round(same.peak_mb),
         "records": records, "vs full": f"{same.seconds / full.seconds:.4f}x"},
        {"name": f"`python -m ctdc harmonize --quiet`, nothing new (median of {len(runs)})",
         "seconds": round(cli, 3), "peak_mb": "", "records": records,
         "vs full": f"{cli / full.seconds:.4f}x"},
    ]  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    return record(
        f"Nothing new, {args.rows:,} rows per organization, k={K}",
        rows,
        [
            f"Input: the 4 sample organizations (`ctdc sample --rows {args.rows} --seed "
            f"{args.seed}`), ingested once; each run harmonizes a fresh copy.",
            "The CLI row is the whole process (interpreter start and imports included); "
            f"each run: {', '.join(f'{s:.2f}' for s in runs)} s wall, "
            f"{', '.join(f'{s:.2f}' for s in cpus)} s CPU (user + system).",
        ],
    )


if __name__ == "__main__":
    main()
