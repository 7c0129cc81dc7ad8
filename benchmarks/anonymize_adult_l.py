"""Anonymizer on Adult with distinct l-diversity (salary-class, l=2): ctdc against anjana.

Same data, QIs, hierarchies, k and scoring as ``anonymize_adult.py`` (LM and k
computed here, not by the tools), plus the sensitive column: every class must
hold both salary classes. Measured in one run, alternating:

* ctdc with k only (the baseline the l run is held to: LM within 1.5x, time
  within 2x, at most k - 1 records removed);
* ctdc with ``sensitive=['salary-class'], l=2``, on Adult and on shuffled copies
  (the release must be the same, record for record: rows carry an id);
* anjana's ``l_diversity`` (5% suppression allowed, as in its k run);
* the per-record lower bounds on LM, with k only and with l: what no release can go
  below (``ctdc.anonymize.loss_lower_bound``), so that each release's distance from
  the possible is known, not only their ratio.

    python benchmarks/anonymize_adult_l.py --repeat 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from anonymize_adult import (
    DEFAULT_ADULT,
    DEFAULT_ANJANA_PY,
    QIS,
    SETUP_ANJANA,
    SETUP_OURS,
    SUPPRESSION_PCT,
    Tree,
    revision,
    score,
)
from ctdc.anonymize import Hierarchy, loss_lower_bound
from harness import OUT, Measurement, measure, record

K, L, SENSITIVE = 10, 2, "salary-class"

WORK_OURS = """
kwargs = {kwargs}
res = anonymize(frame, qis, {k}, hierarchies=hier, **kwargs)
res.frame[list(qis) + [{s!r}, "row"]].to_parquet({out!r})
rep = res.report.to_dict()
RESULT = {{"released": len(res.frame), "engine_lm": rep.get("loss_metric")}}
"""
WORK_ANJANA = """
out = l_diversity(frame, [], list(qis), {s!r}, {k}, {l}, {supp}, hier)
out[list(qis) + [{s!r}]].to_parquet({out!r})
RESULT = {{"released": len(out)}}
"""


def with_ids(adult: Path, seed: int | None) -> Path:
    """Adult as text with a row id, in file order or shuffled with ``seed`` (cached)."""
    path = OUT / f"adult-rows-{'ordered' if seed is None else f'shuffled{seed}'}.parquet"
    if not path.exists():
        df = pd.read_csv(adult / "adult.csv", sep=";", dtype=str, keep_default_na=False)
        df["row"] = np.arange(len(df), dtype=np.int64)
        if seed is not None:
            df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        OUT.mkdir(parents=True, exist_ok=True)
        df.to_parquet(path)
    return path


def ours(data: Path, adult: Path, out: Path, name: str, l_div: bool) -> Measurement:
    kwargs = {"sensitive": [SENSITIVE], "l": L} if l_div else {}
    fmt = {"data": str(data), "adult": str(adult), "qis": list(QIS), "k": K}
    work = WORK_OURS.format(kwargs=kwargs, s=SENSITIVE, out=str(out), k=K)
    return measure(name, SETUP_OURS.format(**fmt), work)


def anjana(python: Path, csv: Path, adult: Path, out: Path) -> Measurement:
    fmt = {"data": str(csv), "adult": str(adult), "qis": list(QIS), "k": K}
    setup = SETUP_ANJANA.format(budget=600, **fmt).replace(
        "from anjana.anonymity import k_anonymity", "from anjana.anonymity import l_diversity"
    )
    work = WORK_ANJANA.format(s=SENSITIVE, k=K, l=L, supp=SUPPRESSION_PCT, out=str(out))
    return measure(f"anjana l_diversity, <={SUPPRESSION_PCT}% suppression", setup, work,
                   python=python)  # fmt: skip


def min_diversity(path: Path) -> int | None:
    """Fewest distinct known salary classes in a class (DuckDB GROUP BY, NULL a group)."""
    cols = ", ".join(f'"{q}"' for q in QIS)
    sql = (f'SELECT min(d) FROM (SELECT count(DISTINCT "{SENSITIVE}") AS d '
           f"FROM read_parquet(?) GROUP BY {cols})")  # fmt: skip
    row = duckdb.connect().execute(sql, [str(path)]).fetchone()
    return None if row is None else row[0]


def bounds(adult: Path) -> dict[str, float]:
    """LM of the per-record lower bounds (``ctdc.anonymize.loss_lower_bound``), with k only
    and with l: no such release can lose less on these hierarchies."""
    frame = pd.read_csv(adult / "adult.csv", sep=";", dtype=str, keep_default_na=False)
    hier = {q: Hierarchy.from_csv(adult / f"adult_hierarchy_{q}.csv", delimiter=";") for q in QIS}
    out = {}
    for t, kwargs in (("k", {}), ("l", {"sensitive": [SENSITIVE], "l": L})):
        floor = loss_lower_bound(frame, list(QIS), K, hierarchies=hier, **kwargs)
        out[t] = float(floor.sum()) / (len(frame) * len(QIS))
    return out


def release_hash(path: Path) -> str:
    """The release record by record (sorted by row id), hashed."""
    df = pd.read_parquet(path).sort_values("row").reset_index(drop=True)
    return hashlib.sha256(pd.util.hash_pandas_object(df).to_numpy().tobytes()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--adult", type=Path, default=DEFAULT_ADULT)
    ap.add_argument("--repeat", type=int, default=5, help="runs of each (the fastest counts)")
    ap.add_argument("--shuffles", default="1,2,3", help="seeds of shuffled copies")
    ap.add_argument("--anjana-python", type=Path, default=DEFAULT_ANJANA_PY)
    args = ap.parse_args(argv)
    adult: Path = args.adult.resolve()
    csv = adult / "adult.csv"
    if not csv.exists():
        print(f"Adult data not found in {adult}: skipped")
        return ""
    anjana_py: Path | None = args.anjana_python if args.anjana_python.exists() else None
    trees = {q: Tree.from_csv(adult / f"adult_hierarchy_{q}.csv") for q in QIS}
    rows_in = len(pd.read_parquet(with_ids(adult, None), columns=["row"]))
    data = with_ids(adult, None)
    outs = {t: OUT / f"adult-l-{t}.parquet" for t in ("k", "l", "anjana")}
    runs: dict[str, list[Measurement]] = {"k": [], "l": [], "anjana": []}
    for _ in range(args.repeat):  # alternating, so that all see the same machine
        runs["k"].append(ours(data, adult, outs["k"], f"ctdc k={K}", l_div=False))
        runs["l"].append(ours(data, adult, outs["l"], f"ctdc k={K}, l={L}", l_div=True))
        if anjana_py:
            runs["anjana"].append(anjana(anjana_py, csv, adult, outs["anjana"]))
    best = {t: min(ms, key=lambda m: m.seconds) for t, ms in runs.items() if ms}
    scored = {t: score(outs[t], rows_in, trees, None) for t in best}
    base_t, base_lm = best["k"].seconds, scored["k"].lm
    table = []
    for t, m in best.items():
        o = scored[t]
        table.append({
            "name": m.name, "seconds": round(m.seconds, 3),
            "time vs ctdc k-only": f"{m.seconds / base_t:.2f}x",
            "records removed": o.removed, "LM": round(o.lm, 4),
            "LM vs ctdc k-only": f"{o.lm / base_lm:.2f}x",
            "k (GROUP BY)": o.k_groupby, "min distinct salary (GROUP BY)": min_diversity(outs[t]),
        })  # fmt: skip
    bound = bounds(adult)
    for t, name in (("k", f"lower bound, k={K}"), ("l", f"lower bound, k={K}, l={L}")):
        table.append({"name": name, "LM": round(bound[t], 4),
                      "LM vs ctdc k-only": f"{bound[t] / base_lm:.2f}x"})  # fmt: skip
    reference = release_hash(outs["l"])
    same = []
    for seed in [int(s) for s in args.shuffles.split(",") if s]:
        out = OUT / f"adult-l-shuffled{seed}.parquet"
        ours(with_ids(adult, seed), adult, out, f"ctdc l, shuffled {seed}", l_div=True)
        same.append(f"seed {seed}: {'same' if release_hash(out) == reference else 'DIFFERENT'}")
    notes = [
        f"Adult: {rows_in:,} rows, QIs {', '.join(QIS)}, k={K}, distinct l={L} over "
        f"{SENSITIVE}; ARX hierarchies. LM, k and diversity computed by the benchmark.",
        f"Code: {revision()}. Seconds: the fastest of {args.repeat} alternating runs; all (s): "
        + "; ".join(f"{t} " + ", ".join(f"{m.seconds:.3f}" for m in ms)
                    for t, ms in runs.items() if ms) + ".",
        f"Row order: the l release on shuffled copies, record by record (row ids): "
        f"{', '.join(same)} (release hash {reference}).",
        f"k-only release: {release_hash(outs['k'])}.",
        f"Against the lower bounds: the k-only release loses {base_lm / bound['k']:.2f}x its "
        f"bound, the l release {scored['l'].lm / bound['l']:.2f}x its bound.",
    ]  # fmt: skip
    if not anjana_py:
        notes.append("anjana's venv missing (`make bench` creates it): anjana skipped.")
    print(json.dumps({t: m.extra for t, m in best.items()}))
    return record(f"Anonymizer on Adult k={K} l={L}", table, notes)


if __name__ == "__main__":
    main()
