"""Run every benchmark (``make bench``); each prints a dated markdown table of ratios.

Benchmarks are never tests: nothing here fails on a slow machine. Copy the
tables from ``benchmarks/out/`` into ``docs/benchmarks.md`` when they change.

    python benchmarks/run.py            # the full sizes (minutes)
    python benchmarks/run.py --quick    # small sizes, to check the scripts work
    python benchmarks/run.py --only anonymize_adult   # one benchmark (repeatable)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import anonymize_adult
import anonymize_adult_l
import anonymize_ctdc  # after the path insert: benchmarks/ is not a package
import ingest

#: (module, full-size arguments, quick arguments or None: full runs only)
BENCHMARKS = [
    (
        ingest,
        ["--rows", "1000000", "--xlsx-rows", "100000", "--json-rows", "200000"],
        ["--rows", "20000", "--xlsx-rows", "2000", "--json-rows", "2000"],
    ),
    (ingest, ["--rows", "10000000", "--xlsx-rows", "0"], None),  # memory at 10M: ~4 minutes
    (anonymize_adult, ["--scales", "10,100"], ["--scales", "2"]),
    (anonymize_adult_l, ["--repeat", "5"], ["--repeat", "1", "--shuffles", "1"]),
    (anonymize_ctdc, ["--rows", "100000"], ["--rows", "2000"]),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    names = sorted({m.__name__ for m, _, _ in BENCHMARKS})
    ap.add_argument("--only", action="append", choices=names, help="run only this benchmark")
    args = ap.parse_args()
    quick, only = args.quick, set(args.only or names)
    for module, full, small in BENCHMARKS:
        if (quick and small is None) or module.__name__ not in only:
            continue
        print(f"== {module.__name__}", flush=True)
        module.main(small if quick else full)


if __name__ == "__main__":
    main()
