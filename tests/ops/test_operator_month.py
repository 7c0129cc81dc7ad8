"""An operator's month, played through the CLI as cron would run it: nightly harmonizes with
and without new data, a rollback and a prune, a failed run, and what `status` and the logs say.

Every export row carries marker values (names, notes, case ids, a bad cell): none may reach a
log line, the status output or anything the commands print.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ops_fixtures import HEADER, MARKERS, all_log_text, log_lines, marked_export, project

from conftest import run_ctdc


def ctdc(root: Path, *args: str):
    return run_ctdc(root, "--data-dir", "data", *args)


def releases(root: Path) -> list[dict]:
    result = ctdc(root, "releases", "list", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["releases"]


def current(root: Path) -> str:
    (now,) = [r["release_id"] for r in releases(root) if r["current"]]
    return now


def more_cases(path: Path, first: int, rows: int) -> Path:
    """``rows`` more marked cases, ids from ``first``: another night's new data."""
    lines = [HEADER] + [
        f"CASEMARK{i:03d};Eva NOMBREMARK {i};NOTAMARK {i};{25 + i % 2 * 10};01/02/2020;"
        f"{'Mujer' if i % 2 else 'Hombre'};Perú;No;"
        for i in range(first, first + rows)
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


@pytest.mark.slow
def test_an_operators_month(tmp_path: Path) -> None:
    root = project(tmp_path)
    printed: list[str] = []

    def nightly(*args: str, code: int = 0) -> None:
        """One cron line: `--quiet` prints nothing on success, whatever the format."""
        result = ctdc(root, "--quiet", *args)
        printed.append(result.stdout + result.stderr)
        assert result.exit_code == code, result.stderr
        if code == 0:
            assert result.stdout == "" and result.stderr == "", args

    # night 1: the first export, the first release
    marked_export(root / "week1.csv", rows=12)
    nightly("ingest", "--org", "test-org", "week1.csv")
    nightly("harmonize", "--json")
    (first,) = [r["release_id"] for r in releases(root)]

    # night 2: nothing new, nothing published
    nightly("harmonize", "--json")
    assert [r["release_id"] for r in releases(root)] == [first]

    # night 3: new cases, a second release
    more_cases(root / "week2.csv", 100, 12)
    nightly("ingest", "--org", "test-org", "week2.csv")
    nightly("harmonize")
    second = current(root)
    assert second != first and len(releases(root)) == 2

    # the second release was a mistake: roll back to the first; the next nights build on it
    nightly("releases", "rollback", first, "--reason", "wrong export sent")
    assert current(root) == first
    nightly("harmonize")
    listed = {r["release_id"]: r for r in releases(root)}
    assert listed[second]["rolled_back"] and not listed[second]["current"]
    assert current(root) != second  # the rollback survived the night

    # a prune keeps the current release only
    nightly("releases", "prune", "--keep", "1", "--reason", "end of month")
    assert [r["release_id"] for r in releases(root)] == [current(root)]

    # a failed run (k above the records) exits 1 and status says so
    nightly("harmonize", "--k", "500", code=1)
    status = ctdc(root, "status", "--json")
    assert status.exit_code == 0
    doc = json.loads(status.stdout)
    last = doc["last_run"]
    assert (last["command"], last["outcome"], last["exit_code"], last["slug"]) == (
        "harmonize",
        "failed",
        1,
        "too-few-records",
    )
    assert "last-run-failed" in {w["code"] for w in doc["warnings"]}
    assert doc["release"]["release_id"] == current(root)

    # the log: one JSON object per line, stamped, with a run id; start and end of each run
    lines = log_lines(root / "data" / "logs" / "ctdc.log")
    assert all(line["ts"] and line["run_id"] for line in lines)
    ended = [(line["command"], line["outcome"]) for line in lines if line["event"] == "end"]
    for done in [("ingest", "ok"), ("harmonize", "ok"), ("releases rollback", "ok"),
                 ("releases prune", "ok"), ("harmonize", "failed")]:  # fmt: skip
        assert done in ended, done
    shown = all_log_text(root / "data") + status.stdout + status.stderr + "".join(printed)
    assert [m for m in MARKERS if m.lower() in shown.lower()] == []
