"""A suppressed cell in a chart: drawn as missing, labelled "suppressed", never its number.

Safe tables made with ``ctdc.stats.protect`` over hand-made counts, so the
hidden numbers are known to the test (and to nothing the chart is given).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from ctdc.release_report.charts import SUPPRESSED, bars, categories, cells, heatmap
from ctdc.release_report.render import accessible_svg, to_svg
from ctdc.release_report.tables import band_label, size_bands
from ctdc.stats import CellCounts, SafeTable, protect

K = 5


def one_way(counts: dict[str, int]) -> SafeTable:
    names = tuple(counts)
    n = len(names)
    return protect(CellCounts(("region",), (names,), np.arange(n).reshape(n, 1),
                              np.array(list(counts.values()))), K)  # fmt: skip


def two_way(counts: dict[tuple[str, str], int]) -> SafeTable:
    rows = sorted({r for r, _ in counts})
    cols = sorted({c for _, c in counts})
    codes = np.array([[rows.index(r), cols.index(c)] for r, c in counts])
    order = np.lexsort(codes.T[::-1])
    values = np.array(list(counts.values()))[order]
    return protect(CellCounts(("gender", "age"), (tuple(rows), tuple(cols)), codes[order],
                              values), K)  # fmt: skip


def shown_text(svg: str) -> list[str]:
    """What a reader or a screen reader gets of the cells from an SVG: text nodes and the marks'
    aria labels (not the axes' and legends' descriptions, which count their values)."""
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    labels = re.findall(r'aria-label="([^"]*)"', svg)
    return texts + [t for t in labels if not re.match(r"(X-axis|Y-axis|Gradient legend)", t)]


def numbers(texts: list[str]) -> set[int]:
    return {int(n.replace(",", "")) for t in texts for n in re.findall(r"\d[\d,]*", t)}


@pytest.fixture(scope="module")
def hidden_bar() -> tuple[SafeTable, str]:
    """Africa 3 (primary), and one more hidden so the total cannot give it away."""
    table = one_way({"Africa": 3, "Americas": 1234, "Asia": 5678, "Europe": 4321})
    frame = cells(table, ["region"], "(null)")
    svg = to_svg(bars(frame, "region", categories(table, 0, "(null)"), axis="region", title="t"))
    return table, svg


def test_the_safe_table_hides_the_small_cell_and_a_complement(hidden_bar) -> None:
    table, _ = hidden_bar
    hidden = {c.values[0]: c.suppressed.value for c in table.cells if c.count is None}
    assert hidden == {"Africa": "primary", "Americas": "complementary"}


def test_a_suppressed_cell_has_no_count_in_the_chart_data(hidden_bar) -> None:
    table, _ = hidden_bar
    frame = cells(table, ["region"], "(null)")
    chart = bars(frame, "region", categories(table, 0, "(null)"), axis="region", title="t")
    spec = chart.to_dict()
    rows = [row for data in spec["datasets"].values() for row in data]
    for row in rows:
        if row["region"] in ("Africa", "Americas"):
            assert "count" not in row and row["label"] == SUPPRESSED
    text = json.dumps(spec)
    assert "1234" not in text and '"count": 3' not in text


def test_a_suppressed_bar_keeps_its_place_and_says_suppressed(hidden_bar) -> None:
    _, svg = hidden_bar
    texts = shown_text(svg)
    assert texts.count(SUPPRESSED) == 2
    assert {"Africa", "Americas", "Asia", "Europe"} <= set(texts)  # on the axis, all four
    assert 3 not in numbers(texts) and 1234 not in numbers(texts)
    assert {5678, 4321} <= numbers(texts)
    # two bars drawn, not four: a suppressed cell is missing, not a zero-length bar
    [group] = re.findall(r'<g class="mark-rect role-mark[^"]*"[^>]*>(.*?)</g>', svg)
    assert group.count("<path") == 2


def test_a_suppressed_heatmap_cell_is_grey_and_says_suppressed() -> None:
    table = two_way({("Female", "0-17"): 2, ("Female", "18+"): 812, ("Male", "0-17"): 41,
                     ("Male", "18+"): 377})  # fmt: skip
    hidden = [c for c in table.cells if c.count is None]
    assert len(hidden) == 4  # 2 hides its row and column, and so the whole table
    frame = cells(table, ["gender", "age"], "(null)")
    svg = to_svg(heatmap(frame, "gender", "age", categories(table, 0, "(null)"),
                         categories(table, 1, "(null)"), row_axis="gender",
                         column_axis="age", title="t"))  # fmt: skip
    texts = shown_text(svg)
    assert texts.count(SUPPRESSED) == 4
    assert not numbers(texts) & {2, 812, 41, 377}


def test_categories_follow_each_column_not_the_cell_order() -> None:
    table = two_way({("A", "z"): 50, ("A", "y"): 50, ("B", "x"): 50, ("B", "z"): 50})
    assert categories(table, 1, "(null)") == ["x", "y", "z"]


def test_size_bands_start_at_k() -> None:
    assert [band_label(*b) for b in size_bands(5)] == ["1-4", "5-9", "10-19", "20-49", "50-99",
                                                      "100-999", "1000+"]  # fmt: skip
    assert [band_label(*b) for b in size_bands(10)][:3] == ["1-9", "10-19", "20-49"]
    assert band_label(2, 2) == "2"


def test_alt_text_is_escaped_onto_the_svg_root() -> None:
    svg = accessible_svg('<svg xmlns="x"><text>a</text></svg>', 'a "b" <c> & d')
    assert svg.startswith('<svg role="img" aria-label="a &quot;b&quot; &lt;c&gt; &amp; d" ')
