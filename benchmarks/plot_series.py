"""The release series' delay-versus-loss trade-off, drawn from `series.py`'s runs CSVs.

One point per policy (a class is held while publishing it would cost over N cells a
record, for at most D days): x the median delay before publication (p95 as a bar),
y the cumulative LM against a one-shot anonymization of the same records; one panel per
arrival rate. Altair and vl-convert are ctdc's own dependencies (the HTML report), so the
picture needs nothing more than the venv.

    python benchmarks/plot_series.py benchmarks/out/2026-12-01-series-40n-*-runs.csv \\
        --out docs/img/series-tradeoff.svg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import altair as alt
import pandas as pd

from harness import write_svg


def tradeoff(runs: pd.DataFrame) -> alt.FacetChart:
    """Delay (median, p95) against LM / one-shot LM, a panel per arrival rate."""
    runs = runs.assign(
        rate=runs["per_night"].astype(str) + " per night",
        p95=pd.to_numeric(runs["delay_p95"], errors="coerce"),
    )
    base = alt.Chart().encode(  # no data of its own: the facet splits the layers
        y=alt.Y(
            "lm_vs_one_shot:Q", title="cumulative LM / one-shot LM", scale=alt.Scale(zero=False)
        ),
        color=alt.Color("policy:N", title="hold policy"),
        tooltip=["policy", "delay_median", "delay_p95", "lm_vs_one_shot", "cells_vs_one_shot"],
    )
    bars = base.mark_rule(opacity=0.4).encode(
        x=alt.X("delay_median:Q", title="delay before publication, days (median; bar to p95)"),
        x2="p95:Q",
    )
    points = base.mark_point(filled=True, size=80).encode(x="delay_median:Q")
    goal = alt.Chart(pd.DataFrame({"y": [2.0]})).mark_rule(strokeDash=[4, 4]).encode(y="y:Q")
    return (
        alt.layer(bars, points, goal, data=runs)
        .properties(width=320, height=240)
        .facet(column=alt.Column("rate:N", title=None))
        .resolve_scale(x="independent")
        .properties(title="Release series: delay against loss (dashed: the 2x goal)")
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="series.py *-runs.csv files")
    ap.add_argument("--out", type=Path, required=True, help="an .svg file")
    args = ap.parse_args(argv)
    runs = pd.concat([pd.read_csv(p) for p in args.runs], ignore_index=True)
    write_svg(tradeoff(runs), args.out)
    print(f"wrote {args.out} ({len(runs)} runs)")


if __name__ == "__main__":
    main()
