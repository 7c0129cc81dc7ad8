"""``ctdc stats`` in-process: each output format, and each error as one line with its exit code."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pytest
from stats_fixtures import write_public

from conftest import run_ctdc

#: (region, sex) -> rows: one small cell (a, f: 2 rows) in a table of otherwise large ones
GROUPS = {("a", "f"): 2, ("a", "m"): 20, ("b", "f"): 30, ("b", "m"): 40, (None, "f"): 12,
          (None, "m"): 15}  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working directory whose ``data/public`` holds a release with k=5 (no workspace)."""
    regions, sexes, flags = [], [], []
    for (region, sex), n in GROUPS.items():
        regions += [region] * n
        sexes += [sex] * n
        flags += [i % 2 == 0 for i in range(n)]
    table = pa.table({"region": regions, "sex": sexes, "is_flagged": flags})
    write_public(tmp_path / "data" / "public", table, k=5)
    return tmp_path


def _stats(project: Path, *args: str) -> tuple[int, str, str]:
    result = run_ctdc(project, "--data-dir", "data", "stats", *args)
    return result.exit_code, result.stdout, result.stderr


def test_table(project: Path) -> None:
    code, out, _ = _stats(project, "--by", "region,sex")
    assert code == 0
    assert "release 20260101T000000Z-0123abcd, k=5" in out
    flat = " ".join(out.split())  # the caption wraps at the table's width
    for word in ("region", "sex", "count", "suppressed", "(null)", "(all)", "primary",
                 "complementary", "1 primary (below k), 3 complementary",
                 "a combination not listed has count 0"):  # fmt: skip
        assert word in flat
    small = next(line for line in out.splitlines() if "primary" in line)
    assert " 2 " not in small  # the hidden count is blank, never printed


def test_csv(project: Path) -> None:
    code, out, _ = _stats(project, "--by", "region", "--by", "sex", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["region", "sex", "level", "count", "suppressed"]
    cell = next(r for r in rows if r["region"] == "a" and r["sex"] == "f")
    assert cell == {"region": "a", "sex": "f", "level": "cell", "count": "",
                    "suppressed": "primary"}  # fmt: skip
    null_row = next(r for r in rows if r["region"] == "(null)" and r["sex"] == "(all)")
    assert null_row["level"] == "margin" and null_row["count"] == "27"
    assert rows[-1] == {"region": "(all)", "sex": "(all)", "level": "total", "count": "119",
                        "suppressed": ""}  # fmt: skip


def test_json_with_share_and_where(project: Path) -> None:
    code, out, _ = _stats(project, "--by", "sex", "--share", "is_flagged", "--where",
                          "region IS DISTINCT FROM 'a'", "--format", "json")  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert {key: doc[key] for key in ("k", "by", "where", "share")} == {
        "k": 5,
        "by": ["sex"],
        "where": "region IS DISTINCT FROM 'a'",
        "share": "is_flagged",
    }
    assert doc["records"] == [
        {"sex": "f", "level": "cell", "count": 42, "share": 21 / 42, "suppressed": None,
         "share_suppressed": None},
        {"sex": "m", "level": "cell", "count": 55, "share": 28 / 55, "suppressed": None,
         "share_suppressed": None},
        {"sex": "(all)", "level": "total", "count": 97, "share": 49 / 97, "suppressed": None,
         "share_suppressed": None},
    ]  # fmt: skip


def test_k_raised_and_release_option(project: Path) -> None:
    code, out, _ = _stats(project, "--by", "region", "--k", "25", "--format", "json",
                          "--release", str(project / "data" / "public"))  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["k"] == 25
    # a (22) is below 25; in one column its complement is the smallest other cell, (null)
    assert [r["count"] for r in doc["records"]] == [None, 70, None, 119]
    assert [r["suppressed"] for r in doc["records"]] == ["primary", None, "complementary", None]


@pytest.mark.parametrize(
    ("args", "code", "start", "words"),
    [
        (["--by", "regoin"], 2, "error[bad-option]",
         ["--by column 'regoin' is not in release", "region, sex, is_flagged"]),
        (["--by", "region", "--share", "sex"], 2, "error[bad-option]",
         ["'sex' is VARCHAR, not BOOLEAN", "is_flagged"]),
        (["--by", "region", "--where", "age > 3"], 2, "error[bad-sql]",
         ['Binder Error: Referenced column "age" not found']),
        (["--by", "region", "--where", "region IN (SELECT content FROM read_text('x'))"], 2,
         "error[query-refused]", ["read_text"]),
        (["--by", "region", "--k", "4"], 2, "error[bad-option]", ["below the release's k 5"]),
        (["--by", "region", "--release", "elsewhere"], 3, "error[no-release]",
         ["no current release in elsewhere"]),
    ],
)  # fmt: skip
def test_errors(project: Path, args: list[str], code: int, start: str,
                words: list[str]) -> None:  # fmt: skip
    exit_code, out, err = _stats(project, *args)
    assert exit_code == code
    assert out == ""
    assert err.startswith(start) and len(err.strip().splitlines()) == 1, err
    flat = " ".join(err.split())
    for word in words:
        assert word in flat


def test_listed_in_help(project: Path) -> None:
    result = run_ctdc(project, "--help")
    assert "stats" in result.stdout
