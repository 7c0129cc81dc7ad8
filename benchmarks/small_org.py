"""What a small organization loses when it is released alone versus with the others.

The demo's four organizations (``ctdc sample --rows 2000 --seed 7``, the Makefile's
demo) and one small organization (the same generator at ``--small-rows``, one of the
four): two workspaces, each ingested and harmonized at k through the library, as
``ctdc harmonize`` does it. One holds the small organization alone; the other holds it
with the other three demo organizations. For the small organization's records the
script reads the published rows from the release's series ledger (the private copy that
still has the organization), joins them to the staged records, and counts per
quasi-identifier the cells suppressed (a recorded value published as NA), "not recorded"
withheld (an input NA published as suppressed), and generalized, and Iyengar's LM over
those records (a removed or held record loses every cell).

    python benchmarks/small_org.py                      # hotline-es, 200 records
    python benchmarks/small_org.py --org registry-gov --small-rows 100
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from ctdc.anonymize import Hierarchy
from ctdc.harmonize import harmonize
from ctdc.harmonize.merge import merge_staging
from ctdc.harmonize.settings import field_hierarchy
from ctdc.ingest import ingest_file
from ctdc.mapping import load_mapping
from ctdc.sample import generate_samples
from ctdc.schema import Schema, load_schema
from ctdc.store.ledger import live_entries, read_entries
from ctdc.store.publication import read_ledger
from ctdc.store.workspace import Workspace, init_workspace

ROOT = Path(__file__).resolve().parent.parent


def build(
    root: Path, schema: Schema, exports: dict[str, Path], k: int
) -> tuple[Workspace, str, float]:
    """A workspace with ``exports`` ingested and harmonized once; its release id, LM."""
    ws, _ = init_workspace(root, k_floor=2)
    key = ws.load_key()
    for org, path in exports.items():
        mapping = load_mapping(ROOT / "pipelines" / f"{org}.yaml", schema)
        ingest_file(ws, schema, mapping, path, key=key)
    result = harmonize(ws, schema, k=k)
    return ws, result.release_id, float(result.manifest.anonymization.loss_metric)


def cell_cost(hierarchy: Hierarchy | None) -> dict[str, float]:
    """Iyengar's loss of each generalized label of ``hierarchy`` (a leaf costs 0)."""
    if hierarchy is None:
        return {}
    n = len(hierarchy.rows)
    covered: dict[str, set[str]] = {}
    for row in hierarchy.rows:
        for label in row[1:-1]:
            covered.setdefault(label, set()).add(row[0])
    return {label: (len(leaves) - 1) / max(n - 1, 1) for label, leaves in covered.items()}


def org_losses(ws: Workspace, release: str, org: str, schema: Schema) -> dict[str, object]:
    """Per QI, the small organization's cells suppressed / withheld / generalized, and LM."""
    entries, _ = live_entries(read_entries(ws))
    staged, _ = merge_staging(ws, entries)
    staged = staged[staged["org_id"] == org].set_index("case_pseudonym")
    ledger = read_ledger(ws.root, release)
    assert ledger is not None
    rows = ledger[(ledger["org_id"] == org) & (ledger["state"] == "published")]
    rows = rows.set_index("case_pseudonym")
    qis = schema.quasi_identifiers
    out: dict[str, object] = {"records": len(staged), "released": len(rows)}
    loss = float(len(staged) - len(rows)) * len(qis)  # a record not released loses every cell
    for q in qis:
        status = rows[schema.status_columns[q]].astype(str)
        was_na = staged[q].reindex(rows.index).isna().to_numpy()
        suppressed = (status == "suppressed").to_numpy()
        generalized = (status == "generalized").to_numpy()
        costs = cell_cost(field_hierarchy(schema[q]) if schema[q].hierarchy else None)
        labels = rows[q].astype("string")[generalized]
        out[q] = (int((suppressed & ~was_na).sum()), int((suppressed & was_na).sum()),
                  int(generalized.sum()))  # fmt: skip
        loss += float((suppressed & ~was_na).sum()) + 0.1 * float((suppressed & was_na).sum())
        loss += float(sum(costs[str(v)] for v in labels))
    out["lm"] = loss / (len(staged) * len(qis)) if len(staged) else 0.0
    return out


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--org", default="hotline-es", help="the small organization")
    ap.add_argument("--small-rows", type=int, default=200, help="its rows")
    ap.add_argument("--rows", type=int, default=2000, help="rows of each other organization")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args(argv)
    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    with tempfile.TemporaryDirectory(prefix="ctdc-small-org-") as tmp:
        root = Path(tmp)
        small = generate_samples(root / "small", rows=args.small_rows, seed=args.seed).files
        others = generate_samples(root / "demo", rows=args.rows, seed=args.seed).files
        runs = {}
        for name, exports in (
            ("alone", {args.org: small[args.org]}),
            (
                "with the others",
                {**{o: p for o, p in others.items() if o != args.org}, args.org: small[args.org]},
            ),
        ):
            start = time.perf_counter()
            ws, release, lm = build(root / name.replace(" ", "-"), schema, exports, args.k)
            seconds = time.perf_counter() - start
            runs[name] = (org_losses(ws, release, args.org, schema), lm, seconds)
    return table(args, schema, runs)


def table(args: argparse.Namespace, schema: Schema, runs: dict) -> str:
    today = dt.date.today().isoformat()
    names = list(runs)
    lines = [
        f"**{args.org}, {args.small_rows} rows, released alone and with the demo's other "
        f"three organizations ({args.rows} rows each, seed {args.seed}), k={args.k} "
        f"({today}; `benchmarks/small_org.py`)**",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, key in (("records staged / released", None), ("LM of its records", "lm")):
        cells = []
        for n in names:
            losses = runs[n][0]
            cells.append(f"{losses['records']} / {losses['released']}" if key is None
                         else f"{losses[key]:.4f}")  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| LM of the whole release | " + " | ".join(f"{runs[n][1]:.4f}" for n in names)
                 + " |")  # fmt: skip
    lines.append("| harmonize, s | " + " | ".join(f"{runs[n][2]:.1f}" for n in names) + " |")
    lines.append(
        "| *its cells: suppressed / not recorded withheld / generalized* | |"
        + " |" * (len(names) - 1)
    )
    for q in schema.quasi_identifiers:
        lines.append(f"| {q} | " + " | ".join("{} / {} / {}".format(*runs[n][0][q]) for n in names)
                     + " |")  # fmt: skip
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    main()
