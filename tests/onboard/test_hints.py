"""Every commented line of a scaffold, uncommented as an editor does, by itself.

Data officers uncomment lines of the draft; one hint line once became a wrong
mapping entry that way. Here every full comment line of a scaffold that has
each kind of line (suggestions, TODOs, a mapped multi-value column with
labels left, a commented-out multi-value column, an unplaced column, the
header's prose) is uncommented in turn and the file is loaded. The only
outcomes allowed:

- a suggestion (``# value: Target  # ...: check it, then uncomment``): loads,
  and the mapping is the draft's plus exactly that entry;
- ``# value: TODO``: refused (``bad-mapping``), naming that line (``TODO`` is no
  schema value, no flag, no country code and not true or false);
- any other line: refused, or loads as the draft (no effect).

Never a mapping that differs from the draft in anything the line does not say.
The commented-out multi-value column is also uncommented as a block, as it
says to (``fill in, uncomment``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from ctdc.errors import CtdcError
from ctdc.mapping import Mapping, load_mapping
from ctdc.mapping.spec import normalize
from ctdc.onboard import Scaffold, build_scaffold
from ctdc.schema import Schema

HEADER = ["Código do caso", "Nome", "Data de nascimento", "Data de entrada", "Sexo",
          "Nacionalidade", "Sequestro", "Meios de controle", "Tipo de exploração",
          "Canal"]  # fmt: skip
ROWS = [
    ["C-1", "Ana", "01/02/1990", "03/04/2023", "Feminino", "Brasil", "Sim", "Threats",
     "Exploração sexual", "Disque 100"],
    ["C-2", "Bia", "02/03/1991", "04/05/2023", "M", "Brazl", "Não", "Ameaças",
     "Trabalho forçado", "Polícia"],
    ["C-3", "Caio", "03/04/1992", "05/06/2023", "Fem", "Atlântida", "Talvez", "Threats, Ameaças",
     "Exploração sexual", "N/D"],
    ["C-4", "Duda", "04/05/1993", "06/07/2023", "T", "Brasil", "Sim", "Threats",
     "Trabalho forçado", "Polícia"],
    ["C-5", "Eva", "05/06/1994", "07/08/2023", "Outro", "Não informado", "Não", "Ameaças",
     "Exploração sexual", "Disque 100"],
]  # fmt: skip
SUGGESTION = re.compile(r"^(\s*)# (.+?): (\S+)\s+# .*check it, then uncomment$")
TODO = re.compile(r"^\s*# .+: TODO(\s+#.*)?$")


@pytest.fixture(scope="module")
def draft(tmp_path_factory: pytest.TempPathFactory, schema: Schema) -> tuple[Scaffold, Path]:
    where = tmp_path_factory.mktemp("hints")
    export = where / "export.csv"
    export.write_text("\n".join(";".join(r) for r in [HEADER, *ROWS]) + "\n", encoding="utf-8")
    return build_scaffold(export, "hints-br", schema), where


def uncomment(line: str) -> str:
    """An editor's toggle-comment: the first ``#`` and one space after it go."""
    return re.sub(r"^(\s*)# ?", r"\1", line, count=1)


def load_text(text: str, where: Path, schema: Schema) -> Mapping:
    path = where / "hints-br.yaml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path, schema)


def with_entry(base: Mapping, key: str, target: object) -> set[str]:
    """The draft plus ``key: target`` in one field's or one multi column's values (reprs)."""
    out = set()
    for name, rule in base.fields.items():
        values = {**(rule.values or {}), normalize(key): target}
        out.add(_frozen(replace(base, fields={**base.fields, name: replace(rule, values=values)})))
    for i, rule in enumerate(base.multi):
        values = {**rule.values, normalize(key): target}
        multi = (*base.multi[:i], replace(rule, values=values), *base.multi[i + 1 :])
        out.add(_frozen(replace(base, multi=multi)))
    return out


def _frozen(m: Mapping) -> str:
    """What a mapping says, comparable: its repr shows every value (it holds dicts), the
    hash of the file's text aside (an uncommented comment changes the text anyway)."""
    return repr(replace(m, sha256=""))


def test_the_draft_has_every_kind_of_hint(draft) -> None:
    s, _ = draft
    lines = s.text.splitlines()
    assert any(SUGGESTION.match(line) for line in lines)
    assert any(TODO.match(line) for line in lines)
    assert any(line.startswith("  # - column: ") for line in lines)  # a commented multi block
    assert "  - column: Meios de controle" in s.text  # a mapped multi with labels left
    assert "#     Canal" in s.text  # an unplaced column, named in the header


def test_each_comment_line_uncommented_alone(draft, schema: Schema) -> None:
    s, where = draft
    base = load_text(s.text, where, schema)
    lines = s.text.splitlines()
    checked = {"suggestion": 0, "todo": 0, "other": 0}
    for i, line in enumerate(lines):
        if not line.lstrip().startswith("#"):
            continue
        text = "\n".join([*lines[:i], uncomment(line), *lines[i + 1 :]]) + "\n"
        try:
            got: Mapping | None = load_text(text, where, schema)
            error = ""
        except CtdcError as exc:
            got, error = None, f"{exc.slug}: {exc}"
        if m := SUGGESTION.match(line):
            checked["suggestion"] += 1
            key, target = m.group(2).strip('"'), m.group(3).strip('"')
            value: object = None if target == "null" else target
            assert got is not None, (line, error)
            assert _frozen(got) in with_entry(base, key, value), line
        elif TODO.match(line):
            checked["todo"] += 1
            assert got is None and error.startswith("bad-mapping") and f"line {i + 1}" in error, (
                line, error)  # fmt: skip
        else:
            checked["other"] += 1
            assert got is None or _frozen(got) == _frozen(base), line
    assert all(checked.values()), checked


def test_the_commented_multi_block_uncommented_whole(draft, schema: Schema) -> None:
    """As it is: refused on its TODO labels; with each TODO replaced: one more multi rule."""
    s, where = draft
    lines = s.text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  # - column: "))
    end = start + 1
    while end < len(lines) and lines[end].startswith("  #  "):
        end += 1
    block = [uncomment(line) for line in lines[start:end]]
    with pytest.raises(CtdcError, match="TODO"):
        load_text("\n".join([*lines[:start], *block, *lines[end:]]) + "\n", where, schema)
    flags = {"Exploração sexual": "is_sexual_exploit", "Trabalho forçado": "is_forced_labour"}
    filled = [re.sub(r"^(\s*)(.+): TODO", lambda m: f"{m[1]}{m[2]}: {flags[m[2]]}", line)
              for line in block]  # fmt: skip
    got = load_text("\n".join([*lines[:start], *filled, *lines[end:]]) + "\n", where, schema)
    base = load_text(s.text, where, schema)
    assert len(got.multi) == len(base.multi) + 1
    rule = got.multi[-1]
    assert rule.column == "Tipo de exploração"
    assert rule.values == {normalize(k): v for k, v in flags.items()}
