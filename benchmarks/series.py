"""A simulated year of the release series (issue 11, point 6): delay against loss.

Each night, new records from ``ctdc sample`` exports are ingested for real into a
temporary workspace and ``harmonize()`` runs. Arrivals are skewed: the four
organizations send unequal shares (hotline 45%, casework 25%, agency 20%,
registry 10%), weekends bring 40% of a weekday's volume, and each organization's
nightly count is Poisson around its share of ``--per-night``. The series'
"today" is the simulated night (``today_utc`` is patched here in
``ctdc.harmonize.series_run`` and ``ctdc.harmonize.pipeline``), and each candidate
policy is set in the workspace policy (``series_hold_cells``, ``series_hold_days``)
with ``change_policy``.

Per (arrival rate, policy) the benchmark reports, from the private ledgers
(``<data>/series/<release>.parquet``): the share of live records held each night,
the median and 95th-percentile delay before publication (a record still pending
at the end counts as never published: infinite delay); from the last release:
Iyengar's LM and the cells suppressed of the *cumulative* release, scored by this
file against the staged input; and wall time per night (ingest, harmonize). The
baseline, in the same run: one ``harmonize(new_epoch=True)`` over the same
workspace after the last night, a one-shot anonymization of every record.

    python benchmarks/series.py                         # 365 nights, 100 and 20 per night
    python benchmarks/series.py --nights 60 --grid      # policy grid, shorter year
    python benchmarks/series.py --policies 3:30,inf:30  # chosen policies

Writes ``benchmarks/out/series-*.csv`` (per night, per run) and a dated markdown
section with a text chart of delay against loss (matplotlib is not in the venv).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from harness import OUT, ROOT, record, write_csv

K = 10
START = dt.date(2026, 1, 1)
SHARES = {"hotline-es": 0.45, "casework-ngo": 0.25, "intl-agency": 0.20, "registry-gov": 0.10}
WEEKEND = 0.4  # a weekend night's volume against a weekday's
#: the grid, most telling first: the provisional default, never hold, then the rest
GRID = [(3.0, 30), (math.inf, 30), (1.0, 30), (6.0, 30), (1.0, 7), (3.0, 7), (6.0, 7),
        (1.0, 90), (3.0, 90), (6.0, 90)]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Candidate:
    cells: float
    days: int
    #: new records join the release every this many days (``series_increment_days``)
    every: int = 1
    #: simulate the rhythm by a cron that harmonizes only every ``every`` nights instead
    cron: bool = False

    @property
    def name(self) -> str:
        c = "inf" if math.isinf(self.cells) else f"{self.cells:g}"
        how = "harmonize every" if self.cron else "increments every"
        rhythm = "" if self.every == 1 else f", {how} {self.every}d"
        return f"cells>{c}, wait {self.days}d{rhythm}"


def parse_policies(text: str) -> list[Candidate]:
    """``cells:days``, ``cells:days:every`` (the policy's rhythm) or ``cells:days:every:cron``
    (a cron that harmonizes every so many nights), comma-separated."""
    out = []
    for part in text.split(","):
        cells, days, *rest = part.split(":")
        out.append(Candidate(math.inf if cells == "inf" else float(cells), int(days),
                             int(rest[0]) if rest else 1, rest[1:] == ["cron"]))  # fmt: skip
    return out


def staged_pseudonyms(root: Path) -> list[str]:
    """Every staged record's pseudonym (the delay counts from the night it arrived)."""
    import pyarrow.parquet as pq

    if not (root / "staging").exists():
        return []
    return pq.read_table(root / "staging", columns=["case_pseudonym"]).column(0).to_pylist()


# ---------------------------------------------------------------- arrivals


def arrivals(nights: int, per_night: int, seed: int) -> list[dict[str, int]]:
    """Per night, records per organization (skewed shares, weekly rhythm, Poisson)."""
    rng = np.random.default_rng([seed, per_night])
    week = np.array([1, 1, 1, 1, 1, WEEKEND, WEEKEND])
    week = week / week.mean()
    out = []
    for night in range(nights):
        day = (START + dt.timedelta(days=night)).weekday()
        mean = per_night * week[day]
        out.append({org: int(rng.poisson(mean * share)) for org, share in SHARES.items()})
    return out


def exports(plan: list[dict[str, int]], seed: int) -> dict[str, object]:
    """One clean ``ctdc sample`` export per organization, long enough for the whole year."""
    from ctdc.sample.generator import build_export

    return {org: build_export(org, max(1, sum(n[org] for n in plan)), seed) for org in SHARES}


def night_file(export: object, start: int, stop: int, folder: Path, night: int) -> Path:
    """Rows ``start:stop`` of an export, written in the organization's own format."""
    part = dataclasses.replace(
        export, columns={c: v[start:stop] for c, v in export.columns.items()}
    )
    stem, ext = os.path.splitext(part.filename)
    path = folder / f"{stem}-night{night:03d}{ext}"
    path.write_bytes(part.to_bytes())
    return path


# ---------------------------------------------------------------- scoring


def leaf_cover(hierarchy: object) -> dict[str, int]:
    """Leaves covered by each value a hierarchy can publish (a value on several levels:
    the most, as the engine counts it); the root is published as NA."""
    rows = hierarchy.rows
    cover: dict[str, int] = {}
    for level in range(hierarchy.height - 1):
        counts = pd.Series([r[level] for r in rows]).value_counts()
        for v, c in counts.items():
            cover[v] = max(cover.get(v, 0), int(c))
    return cover


def score(released: pd.DataFrame, staged: pd.DataFrame, schema: object) -> dict[str, float]:
    """LM and suppressed cells of a release against the staged records it came from.

    LM (Iyengar, as the engine's report defines it): the mean over every QI cell of
    every staged record of (leaves covered - 1) / (leaves - 1); a published NA costs 1
    where the input had a value, 0 where it had none; a record not published (held)
    costs 1 per cell. ``lm_published`` is the same mean over published records only.
    """
    from ctdc.harmonize.settings import field_hierarchy

    qis = schema.quasi_identifiers
    rel = released.set_index("case_pseudonym")
    staged = staged.set_index("case_pseudonym")
    out_rows = staged.index.isin(rel.index)
    rel = rel.reindex(staged.index[out_rows])
    total = np.zeros(len(staged))
    cells = 0
    for q in qis:
        known = staged[q].notna().to_numpy()
        pub = rel[q]
        na = pub.isna().to_numpy()
        cost = np.where(na & known[out_rows], 1.0, 0.0)
        cells += int((na & known[out_rows]).sum())
        if schema[q].hierarchy is not None:
            # the hierarchy the release is made with: for the year, clipped to the years the
            # contract allows and relabelled ('2020-2026'), not the file's own ranges
            hierarchy = field_hierarchy(schema[q])
            cover = leaf_cover(hierarchy)
            leaves = len(hierarchy.rows)
            text = pub.astype("string").to_numpy(dtype=object, na_value=None)
            got = np.array([cover.get(v, 1) if v is not None else 1 for v in text])
            if any(v is not None and v not in cover for v in text):
                missing = sorted({v for v in text if v is not None and v not in cover})[:5]
                raise SystemExit(f"{q}: published values in no level of its hierarchy {missing}")
            cost = np.where(na, cost, (got - 1) / max(leaves - 1, 1))
        column = np.ones(len(staged))
        column[out_rows] = cost
        total += column
    n = len(staged) * len(qis)
    published = int(out_rows.sum()) * len(qis)
    return {
        "lm": total.sum() / n,
        "lm_published": total[out_rows].sum() / published if published else 0.0,
        "cells": cells,
        "published": int(out_rows.sum()),
    }


# ---------------------------------------------------------------- one simulated year


def read_ledger(data: Path, release_id: str) -> pd.DataFrame:
    """The private publication ledger of a release: ``<data>/series/<release>.parquet``."""
    return pd.read_parquet(data / "series" / f"{release_id}.parquet", dtype_backend="pyarrow")


def simulate(
    nights: int,
    per_night: int,
    policy: Candidate,
    seed: int,
    work: Path,
    progress: Path | None = None,
) -> tuple[list[dict], dict]:
    """Run the nights in a fresh workspace; per-night rows and the final summary."""
    import ctdc.harmonize.pipeline as pipeline
    import ctdc.harmonize.series_run as series_run
    from ctdc.harmonize import harmonize
    from ctdc.ingest import ingest_file
    from ctdc.mapping import load_mapping
    from ctdc.schema import load_schema
    from ctdc.store.policy import change_policy
    from ctdc.store.workspace import init_workspace

    shutil.rmtree(work, ignore_errors=True)
    (work / "exports").mkdir(parents=True)
    ws, _ = init_workspace(work / "data", k=K)
    hold = policy.cells if policy.cells != float("inf") else 1e9
    every = 1 if policy.cron else policy.every
    change_policy(ws, {"series_hold_cells": hold, "series_hold_days": policy.days,
                       "series_increment_days": every},
                  by="benchmark", reason="candidate series policy")  # fmt: skip
    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    key = ws.load_key()
    mappings = {o: load_mapping(ROOT / "pipelines" / f"{o}.yaml", schema) for o in SHARES}
    plan = arrivals(nights, per_night, seed)
    sources = exports(plan, seed)
    taken = dict.fromkeys(SHARES, 0)

    today = {"date": START.isoformat()}
    series_run.today_utc = lambda: today["date"]
    if hasattr(pipeline, "today_utc"):  # the input digest's day, while records are held
        pipeline.today_utc = series_run.today_utc

    rows: list[dict] = []
    first_seen: dict[str, str] = {}
    ledger = None
    for night, counts in enumerate(plan):
        today["date"] = (START + dt.timedelta(days=night)).isoformat()
        t0 = time.perf_counter()
        for org, n in counts.items():
            if n == 0:
                continue
            path = night_file(sources[org], taken[org], taken[org] + n, work / "exports", night)
            taken[org] += n
            ingest_file(ws, schema, mappings[org], path, key=key)
            path.unlink()
        t1 = time.perf_counter()
        for p in staged_pseudonyms(ws.root):  # the night each record arrived
            first_seen.setdefault(p, today["date"])
        if policy.cron and night % policy.every != policy.every - 1 and night != nights - 1:
            continue  # not a harmonize night: the records wait in staging
        try:
            result = harmonize(ws, schema)
        except Exception as exc:  # fewer than k staged on the first nights
            if getattr(exc, "slug", None) != "too-few-records":
                raise
            rows.append({"night": night, "arrived": sum(counts.values()), "live": None,
                         "held": None, "held_share": None, "ingest_s": t1 - t0,
                         "harmonize_s": time.perf_counter() - t1})  # fmt: skip
            continue
        t2 = time.perf_counter()
        ledger = read_ledger(ws.root, result.release_id)
        live = len(ledger)
        held = int((ledger["state"] == "pending").sum())
        rows.append({"night": night, "arrived": sum(counts.values()), "live": live,
                     "held": held, "held_share": held / live, "ingest_s": t1 - t0,
                     "harmonize_s": t2 - t1})  # fmt: skip
        if night % 10 == 0 or night == nights - 1:  # a year takes hours: show it moving
            print(f"   night {night}: {live} live, {held} held, harmonize {t2 - t1:.1f} s",
                  flush=True)  # fmt: skip
            if progress is not None:  # and keep what is done if the run is stopped
                write_csv(progress, rows)

    try:
        summary = summarize(ws, schema, policy, per_night, nights, rows, ledger, first_seen)
    except Exception:  # hours of nights are in the workspace: keep it to score again
        print(f"   summary failed; the workspace is kept in {work}", flush=True)
        raise
    shutil.rmtree(work, ignore_errors=True)
    return rows, summary


def summarize(
    ws: object,
    schema: object,
    policy: Candidate,
    per_night: int,
    nights: int,
    rows: list[dict],
    ledger: pd.DataFrame | None,
    first_seen: dict[str, str],
) -> dict:
    """Score the last night's cumulative release against a one-shot anonymization."""
    from ctdc.harmonize import harmonize
    from ctdc.harmonize.merge import merge_staging
    from ctdc.store.ledger import read_entries

    end = START + dt.timedelta(days=nights - 1)
    assert ledger is not None, "no night published anything"
    published = ledger[ledger["state"] == "published"]
    seen = pd.to_datetime(ledger["case_pseudonym"].map(first_seen))
    when = pd.to_datetime(ledger["published_on"].where(ledger["state"] == "published"))
    delay = (when - seen).dt.days.astype("float").fillna(math.inf).to_numpy()
    waited = (pd.Timestamp(end) - seen).dt.days.to_numpy()  # a held record's wait so far
    lower = np.where(np.isinf(delay), waited, delay)  # censored at the last night
    staged, _ = merge_staging(ws, read_entries(ws))
    cumulative = score(published, staged, schema)

    t0 = time.perf_counter()  # the baseline: everything anonymized at once, same records
    one = harmonize(ws, schema, new_epoch=True)
    one_s = time.perf_counter() - t0
    one_ledger = read_ledger(ws.root, one.release_id)
    baseline = score(one_ledger[one_ledger["state"] == "published"], staged, schema)
    harm = [r["harmonize_s"] for r in rows]
    shares = [np.nan if r["held_share"] is None else r["held_share"] for r in rows]
    summary = {
        "policy": policy.name,
        "per_night": per_night,
        "nights": nights,
        "records": len(staged),
        "held_end": int((ledger["state"] == "pending").sum()),
        "held_share_mean": float(np.nanmean(shares)),
        "held_share_max": float(np.nanmax(shares)),
        "delay_median": float(np.quantile(delay, 0.5, method="higher")),
        "delay_p95": float(np.quantile(delay, 0.95, method="higher")),
        "delay_p95_censored": float(np.quantile(lower, 0.95, method="higher")),
        "held_oldest_days": int(waited[np.isinf(delay)].max()) if np.isinf(delay).any() else 0,
        "published_same_night": float(np.mean(delay == 0)),
        "lm": cumulative["lm"],
        "lm_published": cumulative["lm_published"],
        "cells": cumulative["cells"],
        "one_shot_lm": baseline["lm"],
        "one_shot_cells": baseline["cells"],
        "one_shot_engine_lm": one.manifest.anonymization.loss_metric,
        "lm_vs_one_shot": cumulative["lm"] / baseline["lm"] if baseline["lm"] else math.inf,
        "cells_vs_one_shot": cumulative["cells"] / max(baseline["cells"], 1),
        "harmonize_s_median": float(np.median(harm)),
        "harmonize_s_last": harm[-1],
        "ingest_s_median": float(np.median([r["ingest_s"] for r in rows])),
        "one_shot_s": one_s,
        "end": end.isoformat(),
    }
    return summary


# ---------------------------------------------------------------- output


def text_chart(summaries: list[dict], width: int = 60, height: int = 16) -> list[str]:
    """Median delay (x) against LM relative to the one-shot (y), one letter per run."""
    pts = [(s["delay_median"], s["lm_vs_one_shot"]) for s in summaries]
    finite = [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)]
    if not finite:
        return []
    xmax = max(x for x, _ in finite) or 1.0
    ymin, ymax = min(y for _, y in finite), max(y for _, y in finite)
    ymax = ymax if ymax > ymin else ymin + 1.0
    grid = [[" "] * (width + 1) for _ in range(height + 1)]
    legend = []
    for i, (s, (x, y)) in enumerate(zip(summaries, pts, strict=True)):
        mark = chr(ord("A") + i % 26)
        legend.append(f"  {mark} = {s['per_night']}/night, {s['policy']}")
        if not (math.isfinite(x) and math.isfinite(y)):
            legend[-1] += " (off the chart: a median record never published)"
            continue
        col = round(x / xmax * width)
        row = height - round((y - ymin) / (ymax - ymin) * height)
        cell = grid[row][col]
        grid[row][col] = mark if cell == " " else "*"
    lines = [f"LM / one-shot LM (y: {ymin:.2f} .. {ymax:.2f}) against median delay "
             f"(x: 0 .. {xmax:g} days); * = several runs"]  # fmt: skip
    for r, cells in enumerate(grid):
        label = ymax - r / height * (ymax - ymin)
        lines.append(f"{label:5.2f} |" + "".join(cells))
    lines.append("      +" + "-" * (width + 1))
    return lines + legend


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nights", type=int, default=365)
    ap.add_argument("--per-night", default="100,20", help="arrival rates, comma-separated")
    ap.add_argument("--policies", default="3:30",
                    help="cells:days[:every[:cron]], comma-separated (inf ok; every: the "
                    "policy's series_increment_days, default 1; cron: harmonize only every so "
                    "many nights instead)")  # fmt: skip
    ap.add_argument("--grid", action="store_true",
                    help="cells {1,3,6} x days {7,30,90}, and inf:30 (never hold)")  # fmt: skip
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    os.environ.setdefault("CTDC_FSYNC", "off")  # a thrown-away workspace, as in the tests
    candidates = [Candidate(c, d) for c, d in GRID] if args.grid else parse_policies(args.policies)
    rates = [int(x) for x in args.per_night.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = (
        f"{dt.date.today().isoformat()}-series-{args.nights}n-{args.per_night.replace(',', '_')}"
    )
    summaries, nightly = [], []
    tmp = tempfile.mkdtemp(prefix="ctdc-series-")  # not a context: kept if a run fails late
    for rate in rates:
        for cand in candidates:
            print(f"-- {rate}/night, {cand.name}, {args.nights} nights", flush=True)
            tag = f"{cand.every}{'c' if cand.cron else 'e'}"
            partial = OUT / f"{stamp}-{rate}-{cand.days}d-{tag}-progress.csv"
            rows, summary = simulate(args.nights, rate, cand, args.seed, Path(tmp) / "ws",
                                     partial)  # fmt: skip
            nightly += [{"per_night": rate, "policy": cand.name, **r} for r in rows]
            summaries.append(summary)
            print({k: (round(v, 4) if isinstance(v, float) else v)
                   for k, v in summary.items()}, flush=True)  # fmt: skip
            write_csv(OUT / f"{stamp}-nights.csv", nightly)
            write_csv(OUT / f"{stamp}-runs.csv", summaries)
    shutil.rmtree(tmp, ignore_errors=True)
    table = [
        {
            "per night": s["per_night"],
            "policy": s["policy"],
            "records": s["records"],
            "held at end": s["held_end"],
            "held share (mean)": f"{s['held_share_mean']:.1%}",
            "delay median (d)": s["delay_median"],
            "delay p95 (d)": s["delay_p95"],
            "LM": round(s["lm"], 4),
            "LM one-shot": round(s["one_shot_lm"], 4),
            "LM vs one-shot": f"{s['lm_vs_one_shot']:.2f}x",
            "cells suppressed": s["cells"],
            "cells one-shot": s["one_shot_cells"],
            "harmonize s/night (median)": round(s["harmonize_s_median"], 2),
            "harmonize s (last night)": round(s["harmonize_s_last"], 2),
            "one-shot s": round(s["one_shot_s"], 2),
        }
        for s in summaries
    ]
    chart = text_chart(summaries)
    return record(
        f"Series, {args.nights} nights, {args.per_night} per night, k={K}",
        table,
        [
            "Per night: new `ctdc sample` records (seed "
            f"{args.seed}) ingested for real, then `harmonize()`; today = the simulated night.",
            "LM and cells: the cumulative release of the last night scored against the staged "
            "records (a held record costs 1 per cell); one-shot: `harmonize(new_epoch=True)` "
            "over the same workspace after the last night.",
            "Delay: published_on minus the night the record was staged; a record still "
            "pending at the end counts as infinite (the CSV's delay_p95_censored counts its "
            "wait so far instead).",
            "",
            "```",
            *chart,
            "```",
        ],
    )


if __name__ == "__main__":
    main()
