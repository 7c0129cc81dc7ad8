"""Protected flags that are quasi-identifiers: what the rule over the other QIs costs.

The merged staging of a workspace (``make demo DEMO=...``'s ``data`` folder) or a merged
Parquet file (``anonymize_ctdc.py``'s cache) is anonymized the way ``ctdc harmonize``
does it (the schema's QIs, hierarchies, pinned levels, sensitive fields, k), twice,
alternating: with today's protected flags (those that are not QIs) and with every
protected flag of the schema (the types of exploitation are QIs). Each release is
checked with DuckDB: k, the per-class rule (``check_protected``) and the rule over the
demographics (``check_protected_qi``). In-process; seconds are the fastest of ``--repeat``.

    python benchmarks/anonymize_qi_flags.py --data demo-run/data   # after `make demo`
    python benchmarks/anonymize_qi_flags.py --merged benchmarks/out/ctdc-merged-100000-5.parquet
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from ctdc.anonymize import anonymize, check_k_anonymity, check_protected, check_protected_qi
from ctdc.harmonize.settings import load_hierarchy, release_levels
from ctdc.schema import load_schema

ROOT = Path(__file__).resolve().parent.parent


def merged_frame(data: Path | None, merged: Path | None) -> pd.DataFrame:
    if merged is not None:
        return pd.read_parquet(merged)
    assert data is not None
    from ctdc.harmonize.merge import merge_staging
    from ctdc.store.ledger import live_entries, read_entries
    from ctdc.store.workspace import Workspace

    ws = Workspace(data)
    entries, _ = live_entries(read_entries(ws))
    frame, _ = merge_staging(ws, entries)
    return frame


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--merged", type=Path)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    frame = merged_frame(args.data, args.merged)
    chosen = release_levels(schema, {})
    hierarchies = {n: load_hierarchy(schema[n].hierarchy) for n in chosen}
    pinned = {n: lv for n, lv in chosen.items() if lv is not None}
    qis = list(schema.quasi_identifiers)
    protected = [f for f in schema.protected if f in schema.released]
    plain = [f for f in protected if f not in qis]
    in_qis = [f for f in protected if f in qis]
    runs = {"today (non-QI flags)": plain, "with QI flags": protected}
    best: dict[str, float] = {}
    out = {}
    for _ in range(args.repeat):
        for name, flags in runs.items():
            t0 = time.perf_counter()
            result = anonymize(frame, qis, args.k, hierarchies=hierarchies, levels=pinned,
                               sensitive=schema.names("sensitive"), protected=flags,
                               group_col="org_id")  # fmt: skip
            seconds = time.perf_counter() - t0
            best[name] = min(best.get(name, seconds), seconds)
            out[name] = result
    print(f"{len(frame):,} records, {len(qis)} QIs, k={args.k}; QI flags: {len(in_qis)}")
    print("| run | seconds (best) | removed | LM | k | per-class rule | QI-flag rule |")
    print("|---|---|---|---|---|---|---|")
    for name, result in out.items():
        rel, rep = result.frame, result.report
        k_ok = check_k_anonymity(rel, qis, args.k).passed
        p_ok = check_protected(rel, qis, plain).passed
        q = check_protected_qi(rel, qis, in_qis)
        bad = sum(q.violating_classes.values())
        print(f"| {name} | {best[name]:.2f} | {rep.records_suppressed:,} | "
              f"{rep.loss_metric:.4f} | {k_ok} | {p_ok} | "
              f"{'pass' if q.passed else f'{bad} groups fail'} |")  # fmt: skip


if __name__ == "__main__":
    main()
