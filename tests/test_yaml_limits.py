"""YAML as an attack: alias bombs, merge keys, huge and deeply nested files, refused before parsing.

The reported attack: an alias bomb in a mapping's ``missing:`` (a few hundred
bytes whose nested aliases expand to billions of strings) kept ``ctdc
validate`` busy past 60 s at about 1 GB. Every YAML read now goes through
``ctdc.yamlio.read_yaml``, which scans the tokens first and refuses the first
anchor or alias (``unsafe-yaml``, exit 2, naming the file and line), a file
over ``MAX_YAML_BYTES`` unread, and nesting deeper than ``MAX_YAML_DEPTH``
(ten thousand ``[`` ended in a RecursionError traceback).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ctdc.cli import app
from ctdc.errors import CtdcError
from ctdc.limits import MAX_YAML_BYTES, MAX_YAML_DEPTH
from ctdc.mapping import load_mapping
from ctdc.schema import Schema, load_schema
from ctdc.yamlio import check_yaml_text, read_yaml

ROOT = Path(__file__).resolve().parents[1]

HEAD = """\
org: bomb-org
data_source: Hotline
source: {format: csv, encoding: utf-8, delimiter: ","}
case_id: ID
"""


def bomb(levels: int = 12, width: int = 9) -> str:
    """``missing:`` as a billion laughs: level n is ``width`` aliases of level n-1.

    Expanded, the last level alone is width**levels strings (9**12: 2.8e11);
    PyYAML shares aliased nodes, so loading is cheap and the blow-up comes when
    the mapping's ``missing`` list is read as text, as the old loader did.
    """
    lines = [HEAD + "missing:", "  - &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"  - &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _write(folder: Path, text: str, org: str = "bomb-org") -> Path:
    (folder / "pipelines").mkdir(exist_ok=True)
    path = folder / "pipelines" / f"{org}.yaml"
    path.write_text(text, encoding="utf-8")
    (folder / "export.csv").write_text("ID\n1\n", encoding="utf-8")
    return path


def _validate(folder: Path, org: str = "bomb-org") -> tuple[int, str]:
    old = os.environ.pop("CTDC_HOME", None)
    try:
        with contextlib.chdir(folder):
            result = CliRunner().invoke(app, ["validate", "--org", org, "export.csv"])
    finally:
        if old is not None:
            os.environ["CTDC_HOME"] = old
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


def test_alias_bomb_in_missing_is_refused_before_expansion(tmp_path: Path) -> None:
    path = _write(tmp_path, bomb())
    start = time.perf_counter()
    code, err = _validate(tmp_path)
    assert time.perf_counter() - start < 5  # the expanded bomb would need terabytes
    assert code == 2
    assert err.startswith(
        f"error[unsafe-yaml]: {path}: an anchor (&) at line 6: anchors and aliases are "
        "refused — fix: write every value out in full"
    ), err


@pytest.mark.parametrize(
    ("body", "line", "what"),
    [
        ("missing: [&a x]\n", 5, "an anchor"),  # an anchor alone is refused too
        (
            "missing: ['x']\nfields:\n  gender: {column: &c Sex}\n  citizenship: {column: *c}\n",
            7,
            "an anchor",
        ),
        ("fields:\n  gender:\n    <<: *g\n", 7, "an alias"),  # a merge key needs an alias
        ("description: &d >-\n  folded text\n", 5, "an anchor"),
    ],
)
def test_every_anchor_alias_and_merge_key_is_refused(
    tmp_path: Path, schema: Schema, body: str, line: int, what: str
) -> None:
    path = _write(tmp_path, HEAD + body)
    with pytest.raises(CtdcError) as caught:
        load_mapping(path, schema)
    assert caught.value.slug == "unsafe-yaml" and caught.value.exit_code == 2
    assert f"{what} " in caught.value.detail and f"at line {line}:" in caught.value.detail


def test_ampersands_and_asterisks_inside_values_are_plain_text(tmp_path: Path, schema) -> None:
    """Only YAML's own anchors and aliases are refused, not the characters in quoted text."""
    path = _write(tmp_path, HEAD + 'missing: ["*", "&", "a & b", "*a"]\ndescription: "R&D *x"\n')
    mapping = load_mapping(path, schema)
    assert {"*", "&", "a & b", "*a"} <= mapping.missing


def test_a_schema_with_an_alias_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "schemas" / "ctdc.yaml").read_text(encoding="utf-8")
    name = re.search(r"^- name: (\w+)$", text, re.M)
    assert name is not None
    evil = text.replace(name.group(0), f"- name: &n {name.group(1)}", 1)
    path = tmp_path / "ctdc.yaml"
    path.write_text(evil, encoding="utf-8")
    with pytest.raises(CtdcError) as caught:
        load_schema(path)
    assert caught.value.slug == "unsafe-yaml"
    assert f"at line {text[: name.start()].count(chr(10)) + 1}:" in caught.value.detail


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path, monkeypatch) -> None:
    text = HEAD + "missing: ['']\n"
    path = _write(tmp_path, text + "#" * (MAX_YAML_BYTES - len(text)) + "\n")
    assert path.stat().st_size == MAX_YAML_BYTES + 1

    def unread(*_args: object, **_kw: object) -> str:
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_text", unread)
    with pytest.raises(CtdcError) as caught:
        read_yaml(path)
    assert caught.value.slug == "unsafe-yaml"
    assert f"{MAX_YAML_BYTES + 1:,} bytes, over the limit of {MAX_YAML_BYTES:,}" in str(
        caught.value
    )
    monkeypatch.undo()
    code, err = _validate(tmp_path)
    assert code == 2 and err.startswith(f"error[unsafe-yaml]: {path}: 2,097,153 bytes"), err


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    path = _write(tmp_path, HEAD + "missing: " + "[" * 10_000 + "]" * 10_000 + "\n")
    code, err = _validate(tmp_path)
    assert code == 2
    assert err.startswith(f"error[unsafe-yaml]: {path}: nested deeper than {MAX_YAML_DEPTH}")


def test_depth_is_counted_in_block_and_flow_style() -> None:
    ok = "a: " + "[" * (MAX_YAML_DEPTH - 1) + "]" * (MAX_YAML_DEPTH - 1)
    check_yaml_text(ok)  # the document's mapping is one level: at the limit, accepted
    with pytest.raises(CtdcError):
        check_yaml_text("a: " + "[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH)
    block = (
        "".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_YAML_DEPTH + 1))
        + "  " * (MAX_YAML_DEPTH + 1)
        + "v\n"
    )
    with pytest.raises(CtdcError):
        check_yaml_text(block)


def test_committed_yaml_passes_the_checks() -> None:
    files = [*ROOT.glob("pipelines/*.yaml"), *ROOT.glob("schemas/*.yaml")]
    assert files
    for path in files:
        read_yaml(path)


def test_every_yaml_read_goes_through_the_checked_loader() -> None:
    """No module parses YAML around ``ctdc.yamlio`` (which is where the checks live)."""
    direct = re.compile(r"yaml\.(safe_load|load|full_load|unsafe_load|compose|load_all)\(")
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "src" / "ctdc").rglob("*.py")
        if p.name != "yamlio.py" and direct.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
