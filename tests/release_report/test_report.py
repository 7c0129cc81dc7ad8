"""``ctdc report`` on a real release: the safe aggregates, what is public, the files, a browser.

One release of the four sample organizations (module fixture, as in
tests/test_docs_analysts.py), its public and private reports built once.
The browser test renders the public page in Debian's headless Chromium and
counts, chart by chart, the marks Vega drew in the live DOM.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import SHARED_K, copy_of_sample, run_ctdc
from ctdc.audit import audit_release
from ctdc.release_report import (
    REPORT_FILE,
    private_report,
    public_report,
    workspace_area,
    write_report,
)
from ctdc.release_report.figures import STATUS_LABELS, flows, public_figures, variable_label
from ctdc.release_report.render import figure_html, to_svg
from ctdc.release_report.tables import class_keys
from ctdc.stats import CellCounts, protect, safe_table
from ctdc.store.ledger import read_entries

# the slow tier: the public and private reports of a whole sample release, built once
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ORGS = ("hotline-es", "casework-ngo", "intl-agency", "registry-gov")
K = SHARED_K
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists(
    "/usr/bin/chromium") else None)  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, shared_sample: Path) -> SimpleNamespace:
    """A copy of the shared release of the four samples, and both reports written."""
    tmp = tmp_path_factory.mktemp("report") / "copy"
    ws, schema = copy_of_sample(shared_sample, tmp)
    area = workspace_area(ws)
    public = public_report(area.root, schema)
    private = private_report(ws, schema)
    return SimpleNamespace(
        tmp=tmp, ws=ws, schema=schema, area=area, public=public, private=private,
        tables=public.tables,
        public_path=write_report(ws, public), private_path=write_report(ws, private),
    )  # fmt: skip


def test_every_table_is_what_safe_table_publishes(built) -> None:
    """The report's one-sandbox tables are ``ctdc.stats.safe_table``'s, cell for cell (every
    kind of table; all are made by the same function, and each safe_table opens a sandbox)."""
    tables = built.tables
    sample = [
        *list(tables.statuses.values())[:3],
        *tables.periods,
        *list(tables.exploitation.values())[:2],
        *tables.gender_age,
        tables.flows,
    ]
    for table in sample:
        assert table == safe_table(built.area.root, list(table.by)), table.by
    assert built.private.tables == tables


def test_class_sizes_are_the_records_per_class_band(built) -> None:
    """Counted again with DuckDB over the public file, then protected as the report does."""
    import duckdb

    cases = built.area.root / "current" / "cases.parquet"
    keys = ", ".join(f'"{c}"' for c in class_keys(built.schema, built.schema.quasi_identifiers))
    sizes = [n for (n,) in duckdb.sql(f"SELECT count(*) FROM '{cases}' GROUP BY {keys}").fetchall()]
    assert min(sizes) >= K
    table = built.tables.class_sizes
    assert table.total.count == sum(sizes)
    for cell in table.cells:
        lo, _, hi = cell.values[0].rstrip("+").partition("-")
        top = int(hi) if hi else (int(lo) if not cell.values[0].endswith("+") else 10**9)
        inside = [n for n in sizes if int(lo) <= n <= top]
        assert cell.count == sum(inside), cell


def _check_cells(data, table, names) -> None:
    """The figure's rows are the table's cells: the count where published, else none."""
    assert len(data) == len(table.cells)
    for (_, row), cell in zip(data.iterrows(), table.cells, strict=True):
        for name, value in zip(names, cell.values, strict=True):
            assert value is None or row[name] == value
        if cell.count is None:
            assert row["count"] is None
        else:
            assert row["count"] == cell.count
        assert row["label"] == ("suppressed" if cell.count is None else f"{cell.count:,}")


def test_every_figure_draws_the_safe_aggregates(built) -> None:
    figures = {f.key: f for f in public_figures(built.tables, built.schema)}
    tables = built.tables
    status = figures["statuses"].data.copy()
    status["status"] = status["status"].map({v: k for k, v in STATUS_LABELS.items()})
    offset = 0
    for qi, table in tables.statuses.items():  # one variable after the other, in table order
        rows = status.iloc[offset : offset + len(table.cells)]
        assert set(rows["variable"]) == {variable_label(built.schema, qi)}
        _check_cells(rows, table, ["status"])
        offset += len(table.cells)
    assert offset == len(status)
    _check_cells(figures["class-sizes"].data, tables.class_sizes, ["class_size"])
    periods = figures["periods"].data
    for table, level in zip(tables.periods, ("nine-year", "three-year"), strict=True):
        _check_cells(periods[periods["level"] == level], table, ["period"])
    ages = figures["gender-age"].data
    for table in tables.gender_age:
        _check_cells(ages[ages["level"] == table.by[1]], table, ["gender", "age"])
    _check_cells(figures["flows"].data, tables.flows, ["citizenship", "exploitation"])
    kinds = figures["exploitation"].data
    for (_, row), table in zip(kinds.iterrows(), tables.exploitation.values(), strict=True):
        true = [c.count for c in table.cells if c.values == ("true",)]
        assert row["count"] == (true[0] if true else 0)


def test_every_chart_is_a_valid_vega_lite_spec(built) -> None:
    """Rendering skips Altair's JSON-schema validation (vl-convert compiles the spec): not here."""
    for figure in built.private.figures:
        assert figure.chart.to_dict(validate=True)["$schema"].startswith("https://vega.github.io")


def test_a_suppressed_flow_is_drawn_as_missing_and_says_so(built) -> None:
    """The real release's tables happen to need no suppression: swap in one that does."""
    regions = ("Africa", "Americas", "Asia")
    codes = np.array([[0, 0], [0, 1], [1, 1], [2, 2], [2, 0]])
    counts = np.array([3, 400, 250, 180, 60])
    table = protect(CellCounts(("citizenship_region", "exploitation_region"),
                               (regions, regions), codes, counts), K)  # fmt: skip
    assert sum(c.count is None for c in table.cells) >= 2
    figure = flows(dataclasses.replace(built.tables, flows=table))
    hidden = figure.data[figure.data["count"].isna()]
    assert set(hidden["label"]) == {"suppressed"}
    page = figure_html(figure, to_svg(figure.chart))
    cells_text = re.findall(r"<text[^>]*>([^<]*)</text>", page) + re.findall(r"<td[^>]*>([^<]*)<",
                                                                             page)  # fmt: skip
    assert cells_text.count("suppressed") == 2 * len(hidden)  # in the chart and the data table
    assert "3" not in cells_text and "suppressed" in figure.note


def test_the_public_page_has_no_organization_and_no_private_number(built) -> None:
    page = built.public.html
    for org in ORGS:
        assert org not in page
        assert org in built.private.html
    risk = {f.key: f for f in built.private.figures}["risk"].data
    before = risk[risk["when"] == "before"]
    assert len(before) == 4
    for text in before["label"]:  # e.g. 0.966, 93.6% (1,467 of 1,568)
        assert text in built.private.html
        assert text not in page
    assert "Intake per organization" not in page and "Quarantine reasons" not in page


def test_the_public_page_needs_no_network_and_runs_no_script(built) -> None:
    page = built.public.html
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!#)""", page)  # anchors only
    assert not re.search(r"url\((?!#)", page)  # SVG clip paths refer to ids in the page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert page.count('<svg role="img" aria-label="') == len(built.public.figures)
    for figure in built.public.figures:
        assert f'id="{figure.key}"' in page and f'href="#{figure.key}"' in page


def test_the_private_page_has_intake_per_organization(built) -> None:
    figures = {f.key: f for f in built.private.figures}
    intake = figures["intake"].data
    entries = read_entries(built.ws)
    for org in ORGS:
        staged = intake[(intake["org"] == org) & (intake["kind"] == "staged")]["count"].sum()
        assert staged == sum(e.staged for e in entries if e.org == org) > 0
    reasons = figures["quarantine"].data
    assert reasons["count"].sum() == sum(e.quarantined for e in entries)
    assert {"intake", "quarantine", "risk", "statuses", "flows"} <= set(figures)


def test_files_modes_and_places(built) -> None:
    assert built.public_path == built.area.root / REPORT_FILE
    assert stat.S_IMODE(built.public_path.stat().st_mode) == built.area.file_mode == 0o644
    assert built.private_path == built.ws.root / "reports" / f"{built.private.release_id}.html"
    assert stat.S_IMODE(built.private_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(built.private_path.parent.stat().st_mode) == 0o700
    assert built.public_path.read_text(encoding="utf-8") == built.public.html
    leftovers = [p.name for p in built.area.root.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers


def test_the_audit_passes_with_the_report_in_the_public_folder(built) -> None:
    release = built.area.root / "current"
    report = audit_release(built.ws, built.schema, release.resolve(), k=K)
    assert report.passed, [(c.name, c.detail) for c in report.failed]
    markers = report["markers and bytes"]
    assert "organization id" in markers.detail  # the ids were looked for, in report.html too


def test_the_cli_writes_a_report_and_keeps_the_private_one_out_of_public(built) -> None:
    root = built.tmp
    out = root / "mine.html"
    result = run_ctdc(root, "--data-dir", "data", "report", "--private", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"private report of release {built.private.release_id}: {out}\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and "casework-ngo" in out.read_text()
    result = run_ctdc(root, "--data-dir", "data", "report", "--private", "--quiet", "--out",
                      str(built.area.root / "leak.html"))  # fmt: skip
    assert result.exit_code == 2 and "bad-option" in result.stderr
    assert not (built.area.root / "leak.html").exists()


def _marks(svg: str) -> dict[str, int]:
    """Vega's drawn items per mark type in one chart: ``<path>``s of rect/symbol/line/area
    marks and ``<text>``s of text marks (role-mark groups hold the items, no axis or legend)."""
    counts: dict[str, int] = {}
    for kind, body in re.findall(r'<g class="mark-(\w+) role-mark[^"]*"[^>]*>(.*?)</g>', svg,
                                 re.S):  # fmt: skip
        items = body.count("<text") if kind == "text" else body.count("<path")
        counts[kind] = counts.get(kind, 0) + items
    return counts


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: .ci/run installs Debian's package")
def test_chromium_renders_every_chart_with_its_marks(built, tmp_path: Path) -> None:
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    url = built.public_path.as_uri()
    shot = tmp_path / "public-report.png"
    dom = subprocess.run([*flags, "--dump-dom", f"--screenshot={shot}", "--window-size=1200,5200",
                          url], capture_output=True, text=True, timeout=120,
                         check=True).stdout  # fmt: skip
    print(f"screenshot of the public report: {shot}")
    assert shot.stat().st_size > 10_000
    assert f"release {built.public.release_id}" in dom
    figures = re.findall(r'<figure class="chart" id="([\w-]+)">(.*?)</figure>', dom, re.S)
    assert [key for key, _ in figures] == [f.key for f in built.public.figures]
    for (key, body), figure in zip(figures, built.public.figures, strict=True):
        assert body.count("<svg") == 1, key
        marks = _marks(body)
        drawn = (marks.get("rect", 0), marks.get("text", 0))
        published = int(figure.data["count"].notna().sum())
        hidden = len(figure.data) - published
        heat = key in ("statuses", "gender-age", "flows")
        # a bar per published cell; a heatmap also draws a grey cell per suppressed one
        assert drawn[0] == published + (hidden if heat else 0) > 0, (key, marks)
        assert drawn[1] == len(figure.data), (key, marks)  # every cell labelled
