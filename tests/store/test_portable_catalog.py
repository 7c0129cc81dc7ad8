"""The public folder's views travel: ``views.sql`` in a copy, ``catalog.duckdb`` in DuckDB 1.x.

Issue 12 point 3: the catalog's views read absolute paths, so a copied folder
still read the old place (or nothing), and DuckDB 1.x's CLI could not open a
catalog written in DuckDB 2's storage format. One workspace is harmonized for
the module with the real CLI; each test then runs exactly what the docs tell an
analyst to run, with the DuckDB 1.x CLI the dev extra installs (``duckdb-cli``)
and with the Python DuckDB of the project, and compares the answers with the
Parquet files themselves.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, harmonized_project
from ctdc.store.catalog import STORAGE_VERSION, view_statements, views_sql
from ctdc.store.public import hierarchy_files

RECORDS = 60
#: the public folder docs/public-folder.md's commands name
DOC_PUBLIC = "/srv/ctdc/public"


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public folder of a workspace that ``ctdc harmonize`` published once."""
    root = harmonized_project(tmp_path_factory.mktemp("portable"), RECORDS, seed=31,
                              controls=("Deuda", "", "Amenazas"))  # fmt: skip
    return root / "data" / "public"


def duckdb_cli() -> Path:
    """The DuckDB 1.x command-line shell of the ``duckdb-cli`` dev dependency."""
    cli = Path(sys.executable).parent / "duckdb"
    if not cli.is_file():
        pytest.fail(f"no DuckDB CLI at {cli}: install the dev extra (pip install -e '.[dev]')")
    return cli


def _cli(cwd: Path, *args: str, stdin: str = "") -> list[str]:
    """The CLI's CSV answer lines (no header), run in ``cwd`` as an analyst would."""
    done = subprocess.run([str(duckdb_cli()), "-csv", "-noheader", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0 and "Error" not in done.stdout + done.stderr, done
    return done.stdout.split()


def _rows(path: Path) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows)


@pytest.fixture
def copied(public: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the whole public folder elsewhere, with the original renamed away meanwhile,
    so nothing can still read the old place."""
    copy = tmp_path / "mirror" / "ctdc-public"
    shutil.copytree(public, copy, symlinks=True)
    away = public.with_name("public-renamed")
    os.rename(public, away)
    try:
        yield copy
    finally:
        os.rename(away, public)


def test_the_cli_is_duckdb_1() -> None:
    """What the portability tests prove holds for DuckDB before 2.0 (the storage break)."""
    version = subprocess.run([str(duckdb_cli()), "--version"], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
    assert version.startswith("v1."), version


def test_views_sql_has_relative_paths_only(public: Path) -> None:
    text = (public / "views.sql").read_text(encoding="utf-8")
    tables = hierarchy_files(public / "current")
    assert tables and text == views_sql(tables)
    assert str(public.resolve()) not in text and str(public) not in text
    literals = [part for stmt in view_statements(None, tables) for part in stmt.split("'")[1::2]]
    assert literals and all(not p.startswith("/") and ".." not in p for p in literals), literals
    assert (public / "views.sql").stat().st_mode & 0o777 == 0o644


def test_a_copied_public_folder_answers_through_views_sql(copied: Path) -> None:
    """Both documented commands, in the copy, with the original gone: counts as in the Parquet."""
    release = (copied / "current").resolve()
    assert release.is_relative_to(copied)
    cases, dictionary = _rows(release / "cases.parquet"), _rows(release / "dictionary.parquet")
    assert cases > 0
    building = copied / "releases" / ".tmp-unverified"  # a publish under way: not in the log
    shutil.copytree(release, building)
    # cd <public> && duckdb -c ".read views.sql" -c "SELECT ..."
    answer = _cli(copied, "-c", ".read views.sql", "-c", "SELECT count(*) FROM cases",
                  "-c", "SELECT count(*) FROM dictionary", "-c",
                  "SELECT release_id FROM release_log")  # fmt: skip
    assert answer == [str(cases), str(dictionary), release.name]
    # cd <public> && duckdb -init views.sql (then the analyst's SQL on stdin)
    answer = _cli(copied, "-init", "views.sql", stdin="SELECT count(*) FROM cases;\n")
    assert answer == [str(cases)]
    # the same file from Python's DuckDB (2.x here), in the copy
    before = Path.cwd()
    os.chdir(copied)
    try:
        con = duckdb.connect()
        con.execute((copied / "views.sql").read_text(encoding="utf-8"))
        assert con.execute("SELECT count(*) FROM cases").fetchone() == (cases,)
        con.close()
    finally:
        os.chdir(before)


def test_catalog_opens_in_duckdb_1(public: Path, tmp_path: Path) -> None:
    """``duckdb -readonly <public>/catalog.duckdb`` from any directory, in a 1.x CLI."""
    rows = _rows(public / "current" / "cases.parquet")
    assert _cli(tmp_path, "-readonly", str(public / "catalog.duckdb"), "-c",
                "SELECT count(*) FROM cases") == [str(rows)]  # fmt: skip
    # the file header: b"DUCK", then the storage version number; 64 is DuckDB 0.10 to 1.1's
    header = (public / "catalog.duckdb").read_bytes()[8:20]
    assert header[:4] == b"DUCK" and int.from_bytes(header[4:], "little") == 64
    assert STORAGE_VERSION == "v1.1.0"


def _doc_blocks() -> list[tuple[str, str]]:
    """(language, body) of every ``sh`` and ``python`` block of docs/public-folder.md."""
    text = (ROOT / "docs" / "public-folder.md").read_text(encoding="utf-8")
    return re.findall(r"```(sh|python)\n(.*?)```", text, flags=re.S)


def _run_doc_line(line: str, cwd: Path, public: Path) -> str:
    """One documented command, as typed, the analyst's SQL on stdin; its output."""
    args = shlex.split(line.replace(DOC_PUBLIC, str(public)))
    tool = Path(sys.executable).parent / args[0]
    done = subprocess.run([str(tool), *args[1:]], cwd=cwd, input="SELECT count(*) FROM cases;\n",
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0 and "Error" not in done.stdout + done.stderr, (line, done)
    return done.stdout


@pytest.mark.slow
def test_the_commands_of_docs_public_folder_work(
    public: Path, copied: Path, tmp_path: Path
) -> None:
    """Every ``duckdb`` and ``frictionless`` line and the Python block of the doc, as written:
    the ``cd`` ones in a copy (the original renamed away), the catalog's in place."""
    rows = str(_rows(copied / "current" / "cases.parquet"))
    away = public.with_name("public-renamed")
    ran = []
    for lang, body in _doc_blocks():
        if lang == "python":
            out = io.StringIO()
            before = Path.cwd()
            os.chdir(copied)
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(body, "docs/public-folder.md", "exec"), {})
            finally:
                os.chdir(before)
            assert out.getvalue().strip() == f"[({rows},)]"
            ran.append("python")
            continue
        for line in body.splitlines():
            line = line.split("  #")[0].strip()
            if not line.startswith(("duckdb", "frictionless")):
                continue
            if DOC_PUBLIC in line:  # in place, from elsewhere: the original, back for a moment
                os.rename(away, public)
                try:
                    out = _run_doc_line(line, tmp_path, public)
                finally:
                    os.rename(public, away)
            else:
                out = _run_doc_line(line, copied, public)
            assert ("VALID" if line.startswith("frictionless") else rows) in out.split(), line
            ran.append(line.split()[0])
    assert sorted(ran) == ["duckdb", "duckdb", "duckdb", "frictionless", "python"]
