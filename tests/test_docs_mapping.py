"""docs/mapping.md's onboarding walkthrough, run step by step as the page shows it.

Each ``<!-- walkthrough: ... -->`` marker of the page is followed by one code
block, and says what the block is:

- ``file NAME``: a file the data officer has (the export): written as shown;
- ``run`` / ``run exit=N``: ``$ ctdc ...`` and the terminal's output: the
  command is run in-process in the walkthrough's folder and its output must be
  the one shown (trailing spaces aside), with that exit code (0 unless given);
- ``run quiet``: a command whose output the page does not show (it names a
  temp folder and a random key's fingerprint): only its exit code is checked;
- ``check NAME``: the file as a command left it (the scaffold, its date aside);
- ``patch NAME``: the officer's edits as a unified diff, applied to the file.

So the page cannot drift from what ``mapping init``, ``validate`` and ``ingest``
do; after the walkthrough, no CPF, RG or name of the export is anywhere in the
workspace's staging, and the staged values are the ones the mapping says.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from conftest import run_ctdc

ROOT = Path(__file__).resolve().parents[1]
STEP = re.compile(r"<!-- walkthrough: ([^>]*?) -->\s*```[\w-]*\n(.*?)```", re.S)
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")
DATE = re.compile(r"on \d{4}-\d{2}-\d{2}\.")


def steps() -> list[tuple[str, str]]:
    """(what the marker says, the block's text) in page order."""
    return STEP.findall((ROOT / "docs" / "mapping.md").read_text(encoding="utf-8"))


def apply_patch(text: str, diff: str) -> str:
    """``text`` with the hunks of a unified ``diff`` applied; every context and removed
    line must be the file's (an empty line in a hunk is an empty context line: Markdown
    editors strip the lone space)."""
    old, out, pos = text.splitlines(), [], 0
    lines = diff.splitlines()
    i = 0
    while i < len(lines):
        m = HUNK.match(lines[i])
        i += 1
        if not m:
            continue  # the --- and +++ header
        start = int(m.group(1)) - (0 if m.group(2) == "0" else 1)
        out += old[pos:start]
        pos = start
        while i < len(lines) and not lines[i].startswith("@@"):
            tag, body = (lines[i][:1] or " "), lines[i][1:]
            if tag in " -":
                assert old[pos] == body, f"patch line {i + 1}: {body!r} != {old[pos]!r}"
                pos += 1
            if tag in " +":
                out.append(body)
            i += 1
    return "\n".join(out + old[pos:]) + "\n"


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, list, list]]]:
    """The walkthrough run in a fresh folder: (folder, [(marker, shown, got)])."""
    where = tmp_path_factory.mktemp("walkthrough")
    seen = []
    for marker, block in steps():
        what, *args = marker.split()
        if what == "file":
            (where / args[0]).write_text(block, encoding="utf-8")
        elif what == "check":
            got = DATE.sub("on DATE.", (where / args[0]).read_text(encoding="utf-8"))
            seen.append((marker, _lines(DATE.sub("on DATE.", block)), _lines(got)))
        elif what == "patch":
            path = where / args[0]
            path.write_text(apply_patch(path.read_text(encoding="utf-8"), block), "utf-8")
        elif what == "run":
            command, *shown = block.strip("\n").splitlines()
            assert command.startswith("$ ctdc "), command
            result = run_ctdc(where, *shlex.split(command)[2:])
            exit_code = int(next((a[5:] for a in args if a.startswith("exit=")), "0"))
            assert result.exit_code == exit_code, (command, result.output)
            if "quiet" not in args:
                seen.append((marker + " " + command, _lines("\n".join(shown)),
                             _lines(result.output)))  # fmt: skip
        else:
            raise AssertionError(f"unknown walkthrough marker {marker!r}")
    return where, seen


def test_the_walkthrough_onboards_a_portuguese_export() -> None:
    markers = [m for m, _ in steps()]
    assert markers[0].startswith("file ") and markers[0].endswith(".csv")
    commands = " ".join(block.splitlines()[0] for m, block in steps() if m.startswith("run"))
    for step in ("ctdc mapping init", "ctdc validate", "ctdc init", "ctdc ingest"):
        assert step in commands, step
    assert any(m.startswith("patch ") for m in markers)


def test_every_output_shown_is_the_real_one(walked) -> None:
    _, seen = walked
    assert len(seen) >= 4
    for marker, shown, got in seen:
        assert shown == got, f"docs/mapping.md, {marker}: the page shows\n" + "\n".join(
            shown) + "\n\nbut the command gives\n" + "\n".join(got)  # fmt: skip


def test_nothing_identifying_reaches_staging_and_values_are_mapped(walked) -> None:
    where, _ = walked
    export = next(block for m, block in steps() if m.startswith("file "))
    header, *rows = [line.split(";") for line in export.splitlines()]
    col = {name: i for i, name in enumerate(header)}
    planted = [r[col[c]] for r in rows for c in ("CPF", "RG", "Nome completo", "Observações")]
    planted += [r[col["Data de nascimento"]] for r in rows]
    staged = sorted((where / "ctdc-data" / "staging").rglob("*.parquet"))
    assert staged
    for path in staged:
        raw = path.read_bytes()
        table = duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()
        text = "\n".join(str(v) for row in table for v in row)
        for value in (v for v in planted if v):
            assert value.encode() not in raw and value not in text, (value, path)
    got = duckdb.sql(
        f"SELECT gender, is_sexual_exploit, is_forced_labour, count(*) "
        f"FROM read_parquet('{staged[0]}') GROUP BY ALL"
    ).fetchall()
    sex = {"Feminino": "Female", "Masculino": "Male"}  # Não informado: NULL
    expected = Counter(
        (sex.get(r[col["Sexo"]]), "Exploração sexual" in kinds, "Trabalho forçado" in kinds)
        for r in rows
        for kinds in [{k.strip() for k in r[col["Tipo de exploração"]].split(",")}]
    )
    assert {(g, s, f): n for g, s, f, n in got} == dict(expected)
    nationality = dict(duckdb.sql(
        f"SELECT citizenship, count(*) FROM read_parquet('{staged[0]}') GROUP BY ALL"
    ).fetchall())  # fmt: skip
    assert nationality.get(None) == sum(r[col["Nacionalidade"]] == "Não informado" for r in rows)
    assert nationality["BR"] == sum(r[col["Nacionalidade"]] == "Brasil" for r in rows)
