"""DP utility, measured (issue 14, point 4): the k-anonymous release, DP count tables and DP
synthetic data scored against the true staged records.

A real workspace is built once (cached in ``benchmarks/out/dp-utility-<rows>-<seed>/``):
the four ``ctdc sample --rows N`` organizations generated, ingested and harmonized through
the library at k=10 (the demo's policy). The truth is :func:`ctdc.dp.records.true_records`,
the staged, de-duplicated records every product is made from, not the release. Each
product is made in a child interpreter (``harness.measure``: peak memory is the child's
VmHWM, input loading included; time is the child's CPU seconds, all threads, which a
shared machine disturbs less than wall time):

* **k-anonymous release**: one ``harmonize()`` (merge, anonymize, verify, audit, publish);
  no epsilon. A value it withholds (suppressed, or published coarser than the coding
  below) counts as ``(unknown)``; a record it removes counts as unknown in every variable.
* **DP counts, per table** (the steward answering one question): one OpenDP table per
  marginal at the full epsilon, with ctdc's own measurement
  (:func:`ctdc.dp.aggregates.count_measurement`: ``make_count_by_categories`` >> discrete
  Laplace) over every cell of the marginal's public domain. Answering all of them would
  spend epsilon times their number.
* **DP counts, split**: the same tables, the epsilon split evenly across all of them (the
  honest cost of publishing every marginal).
* **DP counts, one table**: one table over all main variables at the full epsilon, every
  marginal summed from it (post-processing: one epsilon pays for everything).
* **DP synthetic**: ``ctdc synthesize``'s table made by its own code
  (``ctdc.dp.synthetic.generate`` and ``synthetic_table``), fitted on all the true records,
  ``--synthetic-rows`` rows sampled. ``--synthetic-fields all`` (the default) is the
  command's default generator, the marginal model, on every released field;
  ``pac-synth`` is pac-synth on every released field (at 392,000 records its fit passed
  13 GB and 7 minutes without finishing, so the full run cannot use it); ``main`` and
  ``dense`` are pac-synth on the main variables' source fields (:data:`SOURCES`).
* **sampling floor**: ``--synthetic-rows`` rows drawn from the truth itself (no privacy):
  the error a synthetic table of that size would have if its generator were perfect.

The budget ledger is not charged: the measurement is built by the library, the noise drawn
on the in-memory truth. The metrics (``dp_metrics.py``) are computed on a common coding of
the main variables, :data:`MAIN`, at the levels below, each with an ``(unknown)`` bucket.

    python benchmarks/dp_utility.py --quick                   # ~5,000 records, minutes
    python benchmarks/dp_utility.py                           # --rows 100000: 392,000 records
    python benchmarks/plot_dp_utility.py benchmarks/out/<date>-dp-utility-100000.csv \\
        --out docs/img/dp-utility.svg                         # the chart, from the CSV
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dp_metrics as M
from harness import OUT, ROOT, measure, record, write_csv

K = 10
#: the common coding: one column of the release each (a level column where the variable has
#: a hierarchy: the level docs/analysts.md's examples group by)
MAIN = ["gender", "age_band_wide", "citizenship_region", "registration_period_wide",
        "data_source", "is_sexual_exploit", "is_forced_labour", "moc_threats"]  # fmt: skip
#: the released fields the main variables come from (what ``--synthetic-fields main`` fits)
SOURCES = ["gender", "age_band", "citizenship", "year_of_registration", "data_source",
           "is_sexual_exploit", "is_forced_labour", "moc_threats"]  # fmt: skip
ORDERS = (1, 2, 3)
BENCH = Path(__file__).resolve().parent
#: the interpreter of the marginal model (``dp_marginal_model.py``: mbi needs JAX, its own venv)
MBI_PYTHON = BENCH / ".venv-mbi" / "bin" / "python"

CHILD = """
import sys, time
sys.path.insert(0, {bench!r})
import {module} as U
"""
WORK = """
_c0 = time.process_time()
RESULT = U.{func}(*{args!r})
RESULT["cpu_s"] = time.process_time() - _c0
"""
HARMONIZE_SETUP = """
from pathlib import Path
from ctdc.harmonize import harmonize
from ctdc.store.policy import pinned_schema
from ctdc.store.workspace import open_workspace
ws = open_workspace(Path({data!r}))
schema = pinned_schema(ws)
"""
HARMONIZE_WORK = """
_c0 = time.process_time()
result = harmonize(ws, schema, k={k})
RESULT = {{"status": str(result.status), "cpu_s": time.process_time() - _c0}}
"""


# ---------------------------------------------------------------- the workspace


def build(rows: int, seed: int, folder: Path) -> dict:
    """Generate, ingest and harmonize once (cached with the harmonize measurement)."""
    stamp = folder / "harmonize.json"
    if stamp.exists():
        return json.loads(stamp.read_text())
    from ctdc.ingest import ingest_file
    from ctdc.mapping import load_mapping
    from ctdc.sample import generate_samples
    from ctdc.schema import load_schema
    from ctdc.store.workspace import init_workspace

    shutil.rmtree(folder, ignore_errors=True)
    print(f"generating and ingesting 4 x {rows:,} sample rows (once; cached)", flush=True)
    sample = generate_samples(folder / "exports", rows=rows, seed=seed)
    ws, _ = init_workspace(folder / "data", k=K)
    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    for org, file in sample.files.items():
        mapping = load_mapping(ROOT / "pipelines" / f"{org}.yaml", schema)
        ingest_file(ws, schema, mapping, file, key=ws.load_key())
    shutil.rmtree(folder / "exports")
    print("harmonizing (the k-anonymous release)", flush=True)
    fmt = {"data": str(folder / "data"), "k": K}
    m = measure("k-anonymous release", HARMONIZE_SETUP.format(**fmt), HARMONIZE_WORK.format(**fmt))
    if m.extra["status"] != "published":
        raise SystemExit(f"harmonize did not publish: {m.extra}")
    result = {"seconds": m.seconds, "peak_mb": m.peak_mb, "cpu_s": m.extra["cpu_s"]}
    _prepare(folder)
    stamp.write_text(json.dumps(result))
    return result


def _prepare(folder: Path) -> None:
    """Write what every child reads: the truth's released fields (truth.parquet, private:
    it stays in the benchmark's folder), its coding and the release's (codes.npz), and
    the domains (domains.json, from the public dictionary)."""
    from ctdc.dp.records import true_records
    from ctdc.dp.synthetic import hierarchies_of, synthesized_fields, synthetic_table
    from ctdc.store.policy import pinned_schema
    from ctdc.store.workspace import open_workspace

    ws = open_workspace(folder / "data")
    schema = pinned_schema(ws)
    truth = true_records(ws, list(schema.released))
    truth.to_parquet(folder / "truth.parquet")
    release_dir = (folder / "data" / "public" / "current").resolve()
    domains = public_domains(pd.read_parquet(release_dir / "dictionary.parquet"))
    (folder / "domains.json").write_text(json.dumps(domains))
    # the truth at the release's levels: the same derivation the synthetic table uses
    names = synthesized_fields(schema)
    leveled = synthetic_table(truth[names], schema, hierarchies_of(schema)).to_pandas()
    release = pd.read_parquet(release_dir / "cases.parquet", columns=MAIN)
    np.savez(folder / "codes.npz", truth=M.code_frame(leveled, domains),
             release=M.code_frame(release, domains))  # fmt: skip


def public_domains(dictionary: pd.DataFrame) -> dict[str, list[str]]:
    """Each main variable's published values (the release dictionary), then (unknown)."""
    out = {}
    for name in MAIN:
        values = dictionary.loc[dictionary["column"] == name, "values"].iloc[0]
        out[name] = [str(v["value"]) for v in values] + [M.UNKNOWN]
    return out


def load(folder: Path) -> tuple[dict[str, list[str]], np.ndarray, np.ndarray]:
    domains = json.loads((folder / "domains.json").read_text())
    codes = np.load(folder / "codes.npz")
    return domains, codes["truth"], codes["release"]


# ---------------------------------------------------------------- products (in children)


def dp_tables(folder: str, epsilon: float, mode: str) -> dict:
    """Noisy counts of every marginal, saved to ``dp-<mode>-<epsilon>.npz``. ``mode``:
    ``per-table`` (each at epsilon), ``split`` (each at epsilon / tables), ``one-table``
    (one table of all main variables at epsilon, marginals summed from it)."""
    from ctdc.dp.aggregates import count_measurement

    domains, truth, _ = load(Path(folder))
    sizes = [len(v) for v in domains.values()]
    sets = M.marginals(list(domains), ORDERS)
    out: dict[str, np.ndarray] = {}
    guaranteed = 0.0
    if mode == "one-table":
        meas, _, guaranteed = count_measurement(math.prod(sizes), epsilon)
        full = np.asarray(meas(M.cell_index(truth, sizes).tolist()), dtype=np.float64)
        cube = full.reshape(sizes)
        for s in sets:
            axes = tuple(j for j, n in enumerate(domains) if n not in s)
            out["|".join(s)] = cube.sum(axis=axes).ravel()
    else:
        each = epsilon if mode == "per-table" else epsilon / len(sets)
        for s in sets:
            idx = [list(domains).index(n) for n in s]
            sub = [sizes[j] for j in idx]
            meas, _, spent = count_measurement(math.prod(sub), each)
            cells = M.cell_index(truth[:, idx], sub).tolist()
            out["|".join(s)] = np.asarray(meas(cells), dtype=np.float64)
            guaranteed += spent
    np.savez(Path(folder) / f"dp-{mode}-{epsilon:g}.npz", **out)
    return {"tables": len(sets), "epsilon_spent": guaranteed}


def synthetic(folder: str, epsilon: float, rows: int, fields: str) -> dict:
    """``ctdc synthesize``'s table, made as it makes it (without the ledger), coded.
    ``fields``: ``all`` (every released field by the default generator, the marginal model,
    as the command), ``pac-synth`` (every released field by pac-synth), ``main`` (pac-synth on
    :data:`SOURCES` only; the other columns of the table are then NULL) or ``dense`` (the same
    fields, with FALSE and NULL given to pac-synth as values of their own, see
    :func:`dense`)."""
    from ctdc.dp.synthetic import (
        SynthesisParams,
        generate,
        hierarchies_of,
        synthesized_fields,
        synthetic_table,
    )
    from ctdc.dp.synthetic_pacsynth import decode, encode, fit_and_sample
    from ctdc.store.policy import pinned_schema
    from ctdc.store.workspace import open_workspace

    schema = pinned_schema(open_workspace(Path(folder) / "data"))
    truth = pd.read_parquet(Path(folder) / "truth.parquet")
    generator = "pac-synth" if fields != "all" else "marginal"
    params = SynthesisParams(epsilon, rows, generator=generator)
    params.check()
    names = synthesized_fields(schema) if fields in ("all", "pac-synth") else SOURCES
    domains, _, _ = load(Path(folder))
    if fields == "all":
        sampled, _ = generate(truth, schema, names, params)
        table = synthetic_table(sampled, schema, hierarchies_of(schema))
        codes = M.code_frame(table.to_pandas(), domains)
        np.save(Path(folder) / f"synthetic-{fields}-{epsilon:g}.npy", codes)
        return {"rows": len(codes)}
    encoded = encode(truth, schema, names)
    if fields == "dense":
        flags = [n for n in names if schema[n].type == "boolean"]
        encoded = dense(encoded, flags)
    raw, _ = fit_and_sample(encoded, params)
    if fields == "dense":
        raw = undense(raw, flags)
    table = synthetic_table(decode(raw, schema, names), schema, hierarchies_of(schema))
    codes = M.code_frame(table.to_pandas(), domains)
    np.save(Path(folder) / f"synthetic-{fields}-{epsilon:g}.npy", codes)
    return {"rows": len(codes)}


#: what ``dense`` gives pac-synth for a FALSE flag and for a NULL category
_FALSE, _NULL = "0", "null"


def dense(encoded: pd.DataFrame, flags: list[str]) -> pd.DataFrame:
    """ctdc's encoding with nothing left empty: a FALSE flag is ``0``, a NULL category
    ``null``. pac-synth never counts its empty value, so its sampler cannot know how often a
    value is empty; with few fields it fills nearly every one (measured: 87% of sampled
    rows TRUE on ``is_sexual_exploit`` where the truth has 32%)."""
    out = encoded.copy()
    for n in out.columns:
        out[n] = out[n].replace("", _FALSE if n in flags else _NULL)
    return out


def undense(raw: list[list[str]], flags: list[str]) -> list[list[str]]:
    """pac-synth's rows back to ctdc's encoding (``decode`` reads that)."""
    frame = pd.DataFrame(raw[1:], columns=raw[0], dtype=object)
    for n in frame.columns:
        frame[n] = frame[n].replace(_FALSE if n in flags else _NULL, "")
    return [raw[0], *frame.to_numpy().tolist()]


# ---------------------------------------------------------------- scoring


def score(domains: dict[str, list[str]], truth: np.ndarray, product: dict[str, np.ndarray],
          ask: bool = True) -> dict[str, float]:  # fmt: skip
    """Every metric of one product, from its count vector per marginal (``ask``: the
    analysts' questions too, which need the ctdc variables)."""
    names, sizes = list(domains), [len(v) for v in domains.values()]
    out: dict[str, float] = {}
    for order in ORDERS:
        errs = []
        for s in M.marginals(names, [order]):
            idx = [names.index(n) for n in s]
            true = M.marginal_counts(truth[:, idx], [sizes[j] for j in idx])
            errs.append(M.tvd(true, product["|".join(s)]))
        out[f"tvd{order} mean"], out[f"tvd{order} max"] = float(np.mean(errs)), max(errs)
    rare = np.zeros(4, dtype=np.int64)
    for s in M.marginals(names, [3]):
        idx = [names.index(n) for n in s]
        true = M.marginal_counts(truth[:, idx], [sizes[j] for j in idx])
        rare += M.rare_stats(true, product["|".join(s)], K)
    out["rare preserved"] = M.ratio(rare[1], rare[0])
    out["invented"] = M.ratio(rare[3], rare[2])
    out["pair both TRUE"] = both_true(domains, product, *PAIR)
    if ask:
        out.update(questions(domains, truth, product))
    return out


#: two flags never both TRUE in the sample's truth, which pac-synth can fabricate together
PAIR = ("is_sexual_exploit", "is_forced_labour")


def both_true(domains: dict[str, list[str]], product: dict[str, np.ndarray], a: str,
              b: str) -> float:  # fmt: skip
    """The share of a product's rows with flags ``a`` and ``b`` both TRUE (``a`` before ``b``
    in :data:`MAIN`)."""
    counts = product[f"{a}|{b}"].reshape(len(domains[a]), len(domains[b]))
    total = counts.sum()
    return (
        float(counts[domains[a].index("true"), domains[b].index("true")] / total) if total else 0.0
    )


def questions(domains: dict[str, list[str]], truth: np.ndarray,
              product: dict[str, np.ndarray]) -> dict[str, float]:  # fmt: skip
    """docs/analysts.md's two example questions, on the truth and on the product."""
    names = list(domains)

    def counts_of(s: tuple[str, ...], source: np.ndarray | None) -> np.ndarray:
        if source is None:
            return product["|".join(s)]
        idx = [names.index(n) for n in s]
        return M.marginal_counts(source[:, idx], [len(domains[n]) for n in s])

    q1 = ("citizenship_region", "registration_period_wide", "is_sexual_exploit")
    sizes = [len(domains[n]) for n in q1]
    unk = [domains[n].index(M.UNKNOWN) for n in q1]
    flag = domains["is_sexual_exploit"]
    true_c = counts_of(q1, truth)
    args = (sizes, unk, flag.index("true"), flag.index("false"))
    t1, p1 = M.share_by(true_c, *args), M.share_by(counts_of(q1, None), *args)
    cube = M.normalised_shape(true_c, sizes)
    keep = [[i for i in range(sizes[j]) if i != unk[j]] for j in range(2)]
    known = cube[np.ix_(*keep)][..., [flag.index("true"), flag.index("false")]].sum(axis=-1)
    e1, a1 = M.question_error(t1, p1, known, K)
    q2 = ("gender", "age_band_wide")
    sizes2 = [len(domains[n]) for n in q2]
    unk2 = [domains[n].index(M.UNKNOWN) for n in q2]
    true2 = counts_of(q2, truth)
    t2 = M.distribution_within(true2, sizes2, unk2)
    p2 = M.distribution_within(counts_of(q2, None), sizes2, unk2)
    grid = M.normalised_shape(true2, sizes2)
    keep2 = [[i for i in range(sizes2[j]) if i != unk2[j]] for j in range(2)]
    per_gender = grid[np.ix_(*keep2)].sum(axis=1, keepdims=True)
    e2, a2 = M.question_error(t2, p2, per_gender, K)
    return {"Q1 MAE": e1, "Q1 answered": a1, "Q2 MAE": e2, "Q2 answered": a2}


def frame_product(domains: dict[str, list[str]], codes: np.ndarray,
                  pad: int = 0) -> dict[str, np.ndarray]:  # fmt: skip
    """Count vectors of a table of rows; ``pad`` rows unknown in every variable (the
    records a k-anonymous release removed)."""
    if pad:
        unknown = np.array([[v.index(M.UNKNOWN) for v in domains.values()]] * pad)
        codes = np.vstack([codes, unknown])
    names = list(domains)
    out = {}
    for s in M.marginals(names, ORDERS):
        idx = [names.index(n) for n in s]
        out["|".join(s)] = M.marginal_counts(codes[:, idx], [len(domains[n]) for n in s])
    return out


# ---------------------------------------------------------------- the run


def child(name: str, func: str, *args: object, module: str = "dp_utility",
          python: Path | None = None) -> tuple[dict, float]:  # fmt: skip
    """Run ``func(*args)`` of ``module`` in a child (``python``: another venv's interpreter);
    (its result, peak MiB)."""
    setup = CHILD.format(bench=str(BENCH), module=module)
    m = measure(name, setup, WORK.format(func=func, args=args), python=python)
    return {**m.extra, "seconds": m.seconds}, m.peak_mb


def run(args: argparse.Namespace) -> list[dict]:
    folder = OUT / f"dp-utility-{args.rows}-{args.seed}"
    harm = build(args.rows, args.seed, folder)
    domains, truth, release = load(folder)
    n = len(truth)
    base = {"records": n, "released": len(release)}
    rows: list[dict] = []

    def add(
        product: str,
        eps: float | None,
        counts: dict[str, np.ndarray],
        cpu: float | None,
        peak: float | None,
        **extra: object,
    ) -> None:
        row = {"product": product, "epsilon": eps, **base, **extra,
               **score(domains, truth, counts), "cpu_s": cpu, "peak_mib": peak}  # fmt: skip
        rows.append(row)
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()},
              flush=True)  # fmt: skip
        write_csv(folder / "progress.csv", rows)

    add("k-anonymous release", None, frame_product(domains, release, pad=n - len(release)),
        harm["cpu_s"], harm["peak_mb"])  # fmt: skip
    rng = np.random.default_rng(args.seed)
    floor = truth[rng.choice(n, size=min(args.synthetic_rows, n), replace=False)]
    add(f"sampling floor ({len(floor):,} true rows)", None, frame_product(domains, floor),
        None, None)  # fmt: skip
    for eps in args.epsilons if args.dp else []:
        for mode in ("per-table", "split", "one-table"):
            res, peak = child(f"dp {mode} {eps}", "dp_tables", str(folder), eps, mode)
            counts = dict(np.load(folder / f"dp-{mode}-{eps:g}.npz"))
            add(f"DP counts, {mode}", eps, counts, res["cpu_s"], peak,
                epsilon_spent=round(res["epsilon_spent"], 4))  # fmt: skip
    for fields in args.synthetic_fields:
        label = {"all": "marginal model, all fields", "pac-synth": "pac-synth, all fields",
                 "main": f"pac-synth, {len(SOURCES)} fields",
                 "dense": f"pac-synth, {len(SOURCES)} fields, FALSE/NULL as values",
                 "mbi": "mbi spike (OpenDP + mbi, 8 main variables)"}[fields]  # fmt: skip
        for eps in args.epsilons:
            for rep in range(1, args.repeat + 1):  # pac-synth's output swings from run to run
                print(f"-- synthetic ({label}), epsilon {eps:g}, {args.synthetic_rows:,} rows, "
                      f"run {rep}", flush=True)  # fmt: skip
                if fields == "mbi":  # dp_marginal_model.py, in its own venv
                    res, peak = child(f"synthetic {fields} {eps}", "fit", str(folder), eps,
                                      args.synthetic_rows, module="dp_marginal_model",
                                      python=MBI_PYTHON)  # fmt: skip
                else:
                    res, peak = child(f"synthetic {fields} {eps}", "synthetic", str(folder),
                                      eps, args.synthetic_rows, fields)  # fmt: skip
                codes = np.load(folder / f"synthetic-{fields}-{eps:g}.npy")
                add(f"DP synthetic, {label}", eps, frame_product(domains, codes), res["cpu_s"],
                    peak, epsilon_spent=eps, synthetic_rows=len(codes), run=rep)  # fmt: skip
    return rows


def table(rows: list[dict]) -> list[dict]:
    """The markdown table: one line per product and epsilon (numbers as text, rounded)."""

    def f(v: object, digits: int = 3) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "—"
        return f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    def pair(r: dict, key: str) -> str:  # 4 digits: DP tables' errors are that small
        return f"{f(r[key + ' mean'], 4)} / {f(r[key + ' max'], 4)}"

    return [{"product": r["product"], "ε": f"{r['epsilon']:g}" if r["epsilon"] else "—",
             "1-way TVD mean / max": pair(r, "tvd1"), "2-way": pair(r, "tvd2"),
             "3-way": pair(r, "tvd3"),
             "Q1 MAE (answered)": f"{f(r['Q1 MAE'])} ({f(r['Q1 answered'], 2)})",
             "Q2 MAE (answered)": f"{f(r['Q2 MAE'])} ({f(r['Q2 answered'], 2)})",
             "rare kept": f(r["rare preserved"], 2), "invented": f(r["invented"], 2),
             "both TRUE": f(r["pair both TRUE"], 3),
             "CPU s": f(r["cpu_s"], 1), "peak MiB": f(r["peak_mib"], 0)}
            for r in rows]  # fmt: skip


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="ctdc sample rows per organization")
    ap.add_argument("--epsilons", default="0.5,1,2,4")
    ap.add_argument("--synthetic-rows", type=int, default=5_000)
    ap.add_argument("--synthetic-fields", default="all",
                    help="comma-separated: all (every released field by the marginal model, as "
                    "ctdc synthesize), pac-synth (every released field by pac-synth: over 13 GB "
                    "and 7 minutes of fit at 392,000 records), main (pac-synth on the main "
                    "variables' source fields), dense (same, FALSE/NULL as values), mbi "
                    "(dp_marginal_model.py: OpenDP + mbi on the main variables, in "
                    "benchmarks/.venv-mbi: make bench-mbi)")  # fmt: skip
    ap.add_argument("--repeat", type=int, default=1, help="synthetic fits per epsilon")
    ap.add_argument("--no-dp", dest="dp", action="store_false",
                    help="skip the DP count tables (to add synthetic rows to a run)")  # fmt: skip
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="--rows 1250 (about 5,000 records), epsilons 1,4, 1,000 synthetic rows",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.rows, args.epsilons, args.synthetic_rows = 1250, "1,4", 1000
    args.epsilons = [float(e) for e in args.epsilons.split(",")]
    args.synthetic_fields = args.synthetic_fields.split(",")
    os.environ.setdefault("CTDC_FSYNC", "off")  # a thrown-away workspace, as in the tests
    rows = run(args)
    stamp = f"{pd.Timestamp.today().date()}-dp-utility-{args.rows}"
    write_csv(OUT / f"{stamp}.csv", rows)
    n = rows[0]["records"]
    return record(
        f"DP utility, ctdc sample --rows {args.rows}, {n:,} records, k={K}",
        table(rows),
        [
            f"Main variables (common coding, `(unknown)` = NULL, suppressed or coarser): "
            f"{', '.join(MAIN)}. Marginals: all {len(M.marginals(MAIN, ORDERS))} of 1 to 3 "
            f"of them. TVD against the true staged records. Rare: 3-way cells with a true "
            f"count 1..{K - 1}; kept = product count >= 1; invented = product cells >= 1 with "
            f"true count 0. Q1: share of sexual exploitation by citizenship region and "
            f"9-year period; Q2: age band (wide) within gender; MAE over cells with >= {K} "
            f"true records, answered = share of them the product answers. Both TRUE: share of "
            f"rows with {PAIR[0]} and {PAIR[1]} both TRUE (none in `ctdc sample` data). "
            f"CPU s and peak MiB: the child process (input loading in the peak). Synthetic rows: "
            f"{args.synthetic_rows:,}; seed {args.seed} (the sample and the floor; the DP "
            "noise comes from OpenDP's and pac-synth's own generators and is not seeded)."
        ],
    )


if __name__ == "__main__":
    main()
