"""DP utility on Adult: the same three products as ``dp_utility.py``, on the public benchmark.

Adult (30,162 records, ARX's hierarchies, ``../shared/bench/adult/``) is what the
anonymizer benchmarks already run on, so the k-anonymous product here is ctdc's engine
(``ctdc.anonymize.anonymize``, local recoding) on the six quasi-identifiers of
``anonymize_adult.py`` at k=10, not a whole harmonize: Adult has no ctdc schema. The DP
count tables are the same measurement (``dp_utility.dp_tables``, OpenDP through
``ctdc.dp.aggregates.count_measurement``), and the synthetic table is pac-synth with
ctdc's parameters (``ctdc.dp.synthetic.fit_and_sample``) on the eight variables below as
text (Adult has no NULL).

The common coding (:data:`LEVELS`) is a level of each variable's ARX hierarchy: age in
20-year bands, education, marital status, native country and occupation one level up,
sex, race and salary class as they are. A k-anonymous value published coarser than that
level, or suppressed, is ``(unknown)``; a finer one is rolled up. There are no analysts'
questions for Adult (docs/analysts.md is about ctdc releases).

    python benchmarks/dp_utility_adult.py --epsilons 1,4 --synthetic-rows 5000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dp_metrics as M
import dp_utility as U
from harness import OUT, ROOT, measure, record

ADULT = ROOT.parent / "shared" / "bench" / "adult"
#: variable -> hierarchy level of the common coding (0 = as recorded)
LEVELS = {"sex": 0, "age": 3, "race": 0, "marital-status": 1, "education": 1,
          "native-country": 1, "occupation": 1, "salary-class": 0}  # fmt: skip
QIS = ("age", "sex", "race", "marital-status", "education", "native-country")

ANON_SETUP = """
import pandas as pd
from ctdc.anonymize import Hierarchy, anonymize
frame = pd.read_csv({data!r}, sep=";", dtype=str, keep_default_na=False)
qis = {qis!r}
hier = {{q: Hierarchy.from_csv({adult!r} + f"/adult_hierarchy_{{q}}.csv", delimiter=";")
        for q in qis}}
"""
ANON_WORK = """
_c0 = time.process_time()
res = anonymize(frame, qis, {k}, hierarchies=hier)
res.frame.to_parquet({out!r})
RESULT = {{"cpu_s": time.process_time() - _c0, "released": len(res.frame)}}
"""


def tree(name: str) -> list[list[str]]:
    """ARX hierarchy rows: leaf, level 1, ..., ``*``."""
    text = (ADULT / f"adult_hierarchy_{name}.csv").read_text(encoding="utf-8")
    return [line.split(";") for line in text.splitlines() if line]


def rollup(values: pd.Series, rows: list[list[str]], level: int) -> pd.Series:
    """Each value at ``level``: a finer value rolled up, a coarser one (or NA) unknown."""
    up = {row[j]: row[level] for row in rows for j in range(level + 1)}
    return values.astype(object).map(up)


def coded(frame: pd.DataFrame, domains: dict[str, list[str]]) -> np.ndarray:
    rolled = pd.DataFrame({n: rollup(frame[n], tree(n), lv) for n, lv in LEVELS.items()})
    return M.code_frame(rolled, domains)


def prepare(folder: Path) -> dict:
    """Truth and k-anonymous codes, domains, and the anonymizer's measurement; cached."""
    stamp = folder / "anonymize.json"
    if stamp.exists():
        return json.loads(stamp.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    truth = pd.read_csv(ADULT / "adult.csv", sep=";", dtype=str, keep_default_na=False)
    domains = {n: [*dict.fromkeys(r[lv] for r in tree(n)), M.UNKNOWN]
               for n, lv in LEVELS.items()}  # fmt: skip
    fmt = {"data": str(ADULT / "adult.csv"), "adult": str(ADULT), "qis": QIS, "k": U.K,
           "out": str(folder / "anonymized.parquet")}  # fmt: skip
    m = measure("ctdc anonymize, Adult", ANON_SETUP.format(**fmt), ANON_WORK.format(**fmt))
    released = pd.read_parquet(folder / "anonymized.parquet")
    (folder / "domains.json").write_text(json.dumps(domains))
    np.savez(folder / "codes.npz", truth=coded(truth, domains),
             release=coded(released, domains))  # fmt: skip
    result = {"cpu_s": m.extra["cpu_s"], "peak_mb": m.peak_mb}
    stamp.write_text(json.dumps(result))
    return result


def synthetic(folder: str, epsilon: float, rows: int) -> dict:
    """pac-synth with ctdc's parameters on the eight variables, coded (in a child)."""
    from ctdc.dp.synthetic import SynthesisParams
    from ctdc.dp.synthetic_pacsynth import fit_and_sample

    truth = pd.read_csv(ADULT / "adult.csv", sep=";", dtype=str, keep_default_na=False)
    params = SynthesisParams(epsilon, rows, generator="pac-synth")
    raw, _ = fit_and_sample(truth[list(LEVELS)], params)
    sampled = pd.DataFrame(raw[1:], columns=raw[0]).replace("", None)
    domains, _, _ = U.load(Path(folder))
    np.save(Path(folder) / f"synthetic-{epsilon:g}.npy", coded(sampled, domains))
    return {"rows": len(sampled)}


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epsilons", default="1,4")
    ap.add_argument("--synthetic-rows", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    epsilons = [float(e) for e in args.epsilons.split(",")]
    os.environ.setdefault("CTDC_FSYNC", "off")
    folder = OUT / "dp-utility-adult"
    anon = prepare(folder)
    domains, truth, release = U.load(folder)
    n, rows = len(truth), []

    def add(product: str, eps: float | None, counts: dict, cpu: object, peak: object) -> None:
        rows.append({"product": product, "epsilon": eps, "records": n,
                     **U.score(domains, truth, counts, ask=False), "cpu_s": cpu,
                     "peak_mib": peak})  # fmt: skip
        print(rows[-1], flush=True)

    add("k-anonymous (ctdc engine)", None,
        U.frame_product(domains, release, pad=n - len(release)), anon["cpu_s"],
        anon["peak_mb"])  # fmt: skip
    pick = np.random.default_rng(args.seed).choice(n, size=min(args.synthetic_rows, n),
                                                   replace=False)  # fmt: skip
    add(f"sampling floor ({len(pick):,} true rows)", None,
        U.frame_product(domains, truth[pick]), None, None)  # fmt: skip
    for eps in epsilons:
        for mode in ("per-table", "split", "one-table"):
            res, peak = U.child(f"adult dp {mode} {eps}", "dp_tables", str(folder), eps, mode)
            add(f"DP counts, {mode}", eps, dict(np.load(folder / f"dp-{mode}-{eps:g}.npz")),
                res["cpu_s"], peak)  # fmt: skip
        m = measure(f"adult synthetic {eps}",
                    U.CHILD.format(bench=str(U.BENCH)).replace("dp_utility as U",
                                                                "dp_utility_adult as U"),
                    U.WORK.format(func="synthetic", args=(str(folder), eps,
                                                          args.synthetic_rows)))  # fmt: skip
        codes = np.load(folder / f"synthetic-{eps:g}.npy")
        add("DP synthetic", eps, U.frame_product(domains, codes), m.extra["cpu_s"], m.peak_mb)
    U.write_csv(OUT / f"{pd.Timestamp.today().date()}-dp-utility-adult.csv", rows)
    blank = {"Q1 MAE": None, "Q1 answered": None, "Q2 MAE": None, "Q2 answered": None}
    notes = [
        f"Variables at these ARX hierarchy levels: {LEVELS}; the k-anonymous product is "
        f"ctdc's engine on {', '.join(QIS)}. Synthetic rows: {args.synthetic_rows:,}. "
        "Metrics as in the ctdc table; there are no analysts' questions for Adult."
    ]
    table = U.table([{**r, **blank} for r in rows])
    return record(f"DP utility on Adult, {n:,} records, k={U.K}", table, notes)


if __name__ == "__main__":
    main()
