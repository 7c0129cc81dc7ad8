"""Charts to inline SVG (vl-convert), and the one self-contained HTML page around them.

vl-convert runs Vega-Lite and Vega in an embedded engine and returns SVG, so
the page needs no JavaScript, no CDN and no network to be read: every chart
is an ``<svg>`` element in the file. Rendering refuses every external URL
(``allowed_base_urls=[]``): the data is inline in each spec. The page's
Content-Security-Policy (``default-src 'none'``) makes a browser refuse any
fetch too, should a later change add one by mistake.

Every text that comes from the release (category labels, titles) is escaped
here (``html.escape``) or by Vega's SVG writer; the page is built from a few
fixed fragments, not a template engine.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

import vl_convert

from ctdc.release_report.charts import Chart
from ctdc.release_report.figures import Figure

_SVG_OPEN = re.compile(r"<svg\b")
_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; max-width: 1100px;
       margin: 0 auto; padding: 0 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2.4rem; }
h3 { margin: 0 0 .5rem; }
.banner { padding: .6rem .9rem; border-radius: 4px; }
.banner.public { background: #eef5fb; border: 1px solid #9cc3e5; }
.banner.private { background: #fdecea; border: 1px solid #e45756; font-weight: 600; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .15rem 1rem; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; }
figure.chart { margin: 1.6rem 0; padding: 1rem; border: 1px solid #e3e3e3; border-radius: 6px; }
figure.chart svg { max-width: 100%; height: auto; }
figcaption { color: #444; margin-top: .5rem; }
table { border-collapse: collapse; margin-top: .5rem; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .15rem .5rem; text-align: left; }
td.suppressed { color: #666; font-style: italic; }
details summary { cursor: pointer; color: #245; margin-top: .4rem; }
nav ol ol { display: flex; flex-wrap: wrap; gap: 0 1.6rem; padding-left: 1.2rem; }
"""


@dataclass(frozen=True)
class PageMeta:
    """What the page's header says about the release and the report."""

    release_id: str
    k: int
    l: int | None  # noqa: E741 -- the letter of l-diversity
    created_at: str
    generated_at: str
    ctdc_version: str
    records: str
    """records released, as a safe table published it"""
    k_check: str
    private: bool


@dataclass(frozen=True)
class Section:
    """A heading of the page, a paragraph of HTML (fixed text, escaped values) and figures."""

    key: str
    title: str
    intro_html: str
    figures: Sequence[Figure]


def to_svg(chart: Chart) -> str:
    """The chart as an SVG document, rendered by vl-convert with no URL allowed.

    Altair's JSON-schema validation is left to the tests (it took a third of
    a report's time): vl-convert compiles the spec and refuses a broken one.
    """
    return _svg(chart.to_json(validate=False))


@functools.lru_cache(maxsize=32)
def _svg(spec: str) -> str:
    """One spec's SVG, kept: a private report draws the public report's charts again."""
    return str(vl_convert.vegalite_to_svg(spec, allowed_base_urls=[]))


def accessible_svg(svg: str, alt: str) -> str:
    """The SVG as one image for assistive technology, named by its alt text."""
    return _SVG_OPEN.sub(f'<svg role="img" aria-label="{html.escape(alt)}"', svg, count=1)


def data_table(figure: Figure) -> str:
    """The figure's cells as an HTML table: the numbers the chart draws, none more."""
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h in figure.columns)
    rows = []
    for _, record in figure.data.iterrows():
        tds = []
        for column, _ in figure.columns:
            text = str(record[column])
            css = ' class="suppressed"' if text == "suppressed" else ""
            tds.append(f"<td{css}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def figure_html(figure: Figure, svg: str) -> str:
    """A ``<figure>``: title, inline SVG with alt text, caption, and the data as a table."""
    return (
        f'<figure class="chart" id="{html.escape(figure.key)}">'
        f"<h3>{html.escape(figure.title)}</h3>"
        f"{accessible_svg(svg, figure.alt)}"
        f"<figcaption>{html.escape(figure.note)}</figcaption>"
        f"<details><summary>Data</summary>{data_table(figure)}</details>"
        "</figure>"
    )


def _header(meta: PageMeta) -> str:
    kind = "Private report" if meta.private else "Public report"
    banner = (
        '<p class="banner private">Private: per-organization figures and the risk before '
        "anonymization. Keep it in the workspace; never publish or send it.</p>"
        if meta.private else
        '<p class="banner public">Public: every number is a safe aggregate of the public '
        f"release (no count below k = {meta.k}, none that the totals give away).</p>"
    )  # fmt: skip
    facts = [
        ("release", meta.release_id), ("published", meta.created_at), ("k", str(meta.k)),
        ("l", "none" if meta.l is None else str(meta.l)), ("records released", meta.records),
        ("independent k check", meta.k_check), ("report made", meta.generated_at),
        ("ctdc", meta.ctdc_version),
    ]  # fmt: skip
    rows = "".join(f"<dt>{html.escape(a)}</dt><dd>{html.escape(b)}</dd>" for a, b in facts)
    return (f"<header><h1>{kind}: release {html.escape(meta.release_id)}</h1>{banner}"
            f'<dl class="meta">{rows}</dl></header>')  # fmt: skip


def _contents(sections: Sequence[Section]) -> str:
    items = []
    for s in sections:
        inner = "".join(f'<li><a href="#{html.escape(f.key)}">{html.escape(f.title)}</a></li>'
                        for f in s.figures)  # fmt: skip
        items.append(f'<li><a href="#{html.escape(s.key)}">{html.escape(s.title)}</a>'
                     f"<ol>{inner}</ol></li>")  # fmt: skip
    return f'<nav aria-label="Contents"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'


def page(meta: PageMeta, sections: Sequence[Section]) -> str:
    """The whole report: one HTML file, its charts inline, nothing fetched."""
    body = []
    for section in sections:
        figures = "".join(figure_html(f, to_svg(f.chart)) for f in section.figures)
        body.append(f'<section id="{html.escape(section.key)}">'
                    f"<h2>{html.escape(section.title)}</h2>{section.intro_html}{figures}"
                    "</section>")  # fmt: skip
    title = f"ctdc {'private' if meta.private else 'public'} report: {meta.release_id}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>"
        f"{_header(meta)}{_contents(sections)}<main>{''.join(body)}</main>"
        "<footer><p>Made by <code>ctdc report</code> (docs/report.md). Every count of the "
        "release comes from ctdc's safe aggregates (docs/stats.md): a suppressed cell is "
        "drawn as missing and says <em>suppressed</em>.</p></footer>"
        "</body></html>\n"
    )
