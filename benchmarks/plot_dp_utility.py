"""The DP utility chart, drawn from `dp_utility.py`'s CSV: error against epsilon.

One panel per marginal order (1-, 2-, 3-way); y the mean total variation distance over
the marginals of that order; one line per product with an epsilon (DP counts per table,
split, one table; DP synthetic); the k-anonymous release, which has no epsilon, as a
dashed horizontal line, and so is the synthetic table's sampling floor (true rows of the
same number). The y axis is logarithmic (errors span five decades); a TVD under 1e-5 is
drawn at 1e-5. Altair and vl-convert are ctdc's own dependencies (the HTML report).

    python benchmarks/plot_dp_utility.py benchmarks/out/2026-12-02-dp-utility-100000.csv \\
        --out docs/img/dp-utility.svg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import altair as alt
import pandas as pd

from harness import write_svg

#: the DP tables' errors span five decades: a log scale, anything smaller drawn at this
FLOOR = 1e-5


def long_form(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per product, epsilon and marginal order, with its mean TVD (averaged over
    the runs of a product repeated at one epsilon, ``--repeat``)."""
    frames = []
    for order in (1, 2, 3):
        part = runs[["product", "epsilon", f"tvd{order} mean"]].rename(
            columns={f"tvd{order} mean": "tvd"}
        )
        frames.append(part.assign(marginals=f"{order}-way marginals"))
    data = pd.concat(frames, ignore_index=True)
    keys = ["product", "epsilon", "marginals"]
    data = data.groupby(keys, dropna=False, sort=False, as_index=False)["tvd"].mean()
    return data.assign(tvd=data["tvd"].clip(lower=FLOOR))


def chart(runs: pd.DataFrame) -> alt.FacetChart:
    """Lines for the products with an epsilon, rules for those without."""
    data = long_form(runs)
    has_eps = data["epsilon"].notna()
    ticks = sorted(float(e) for e in data.loc[has_eps, "epsilon"].unique())
    lines = (
        alt.Chart()
        .transform_filter("isValid(datum.epsilon)")
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "epsilon:Q",
                title="epsilon (log scale)",
                scale=alt.Scale(type="log"),
                axis=alt.Axis(values=ticks),
            ),
            y=alt.Y(
                "tvd:Q",
                title="mean total variation distance (log scale)",
                scale=alt.Scale(type="log", domain=[FLOOR, 1]),
            ),
            color=alt.Color("product:N", title="product"),
            tooltip=["product", "epsilon", alt.Tooltip("tvd:Q", format=".4f")],
        )
    )
    rules = (
        alt.Chart()
        .transform_filter("!isValid(datum.epsilon)")
        .mark_rule(strokeDash=[6, 3])
        .encode(y="tvd:Q", color="product:N", tooltip=["product", "tvd"])
    )
    assert has_eps.any(), "no product with an epsilon in the CSV"
    return (
        alt.layer(lines, rules, data=data)
        .properties(width=260, height=240)
        .facet(column=alt.Column("marginals:N", title=None))
        .properties(
            title="DP utility: error against epsilon (dashed: no epsilon; log y, floor 1e-5)"
        )
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+", help="dp_utility.py CSVs (rows added up)")
    ap.add_argument("--out", type=Path, required=True, help="an .svg file")
    args = ap.parse_args(argv)
    runs = pd.concat([pd.read_csv(p) for p in args.runs], ignore_index=True)
    write_svg(chart(runs), args.out)
    print(f"wrote {args.out} ({len(runs)} rows)")


if __name__ == "__main__":
    main()
