"""YAML reading for hand-written config: strings stay strings, errors know their line.

PyYAML's default (YAML 1.1) turns ``No`` into False, ``NA`` stays but ``00``
becomes 0 and ``1e3`` a float — fatal in a vocabulary where ``No``, ``00``
(CTDC's unknown country) and ``-99`` are source codes. Here only ``true``,
``false`` and ``null``/``~`` are typed; every other plain scalar is text.

Every YAML file ctdc reads (mappings, schemas) goes through :func:`read_yaml`,
which refuses before parsing what could make the parse itself the attack:

- anchors (``&a``) and aliases (``*a``): a "billion laughs" of nested aliases
  is a few hundred bytes that expand into gigabytes as soon as anything walks
  the result (a ``missing:`` list of lists of lists...). The file is scanned
  token by token and refused at the first anchor or alias, so nothing is
  expanded; hand-written configuration does not need them;
- a file over :data:`~ctdc.limits.MAX_YAML_BYTES`, refused unread;
- nesting deeper than :data:`~ctdc.limits.MAX_YAML_DEPTH` (PyYAML composes
  nodes recursively, so ten thousand ``[`` would end in a RecursionError).

The refusal is the catalogued ``unsafe-yaml`` error, with the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ctdc.errors import CtdcError
from ctdc.limits import MAX_YAML_BYTES, MAX_YAML_DEPTH

#: libyaml's parser when PyYAML was built with it (its wheels are): the pure-Python one is
#: ~10x slower, and every command reads the schema and a mapping
_FAST: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TextLoader(_FAST):  # type: ignore[valid-type,misc]
    """The safe loader with only null and true/false as implicit types."""


TextLoader.yaml_implicit_resolvers = {}
TextLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
TextLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


def _fast(loader: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """The libyaml twin of PyYAML's plain ``SafeLoader`` (same constructor and resolver)."""
    return _FAST if loader is yaml.SafeLoader else loader


_OPENS = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken,
          yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)  # fmt: skip
_CLOSES = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def _unsafe(path: Path | str | None, detail: str) -> CtdcError:
    return CtdcError("unsafe-yaml", detail, file=path)


def check_yaml_text(text: str, path: Path | str | None = None) -> None:
    """Refuse anchors, aliases and deep nesting in ``text``, by its tokens: nothing is built.

    A YAML syntax error is left to the parser that follows (``yaml.YAMLError``),
    which callers already turn into ``bad-mapping`` or ``bad-schema``.
    """
    if len(text) > MAX_YAML_BYTES:
        raise _unsafe(path, f"{len(text):,} characters, over the limit of {MAX_YAML_BYTES:,}")
    try:
        _check_tokens(text, path, _FAST)
    except yaml.YAMLError:
        # libyaml reads ahead and stops at its own nesting limit before a token reaches
        # the count here: the pure-Python scanner streams, so it names the real problem
        try:
            _check_tokens(text, path, yaml.SafeLoader)
        except yaml.YAMLError:
            return


def _check_tokens(text: str, path: Path | str | None, loader: type[yaml.SafeLoader]) -> None:
    depth = 0
    for token in yaml.scan(text, Loader=loader):
        line = token.start_mark.line + 1
        if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
            what = "an anchor (&)" if isinstance(token, yaml.AnchorToken) else "an alias (*)"
            raise _unsafe(path, f"{what} at line {line}: anchors and aliases are refused")
        if isinstance(token, _OPENS):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise _unsafe(path, f"nested deeper than {MAX_YAML_DEPTH} levels at line {line}")
        elif isinstance(token, _CLOSES):
            depth -= 1


def load_yaml_text(text: str, loader: type[yaml.SafeLoader] = yaml.SafeLoader,
                   path: Path | str | None = None) -> Any:  # fmt: skip
    """``yaml.load`` of ``text`` after :func:`check_yaml_text`."""
    check_yaml_text(text, path)
    return yaml.load(text, Loader=_fast(loader))


def read_yaml_text(path: Path) -> str:
    """The text of a YAML file, refused unread if it is over :data:`MAX_YAML_BYTES`."""
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise _unsafe(path, f"{size:,} bytes, over the limit of {MAX_YAML_BYTES:,}")
    return path.read_text(encoding="utf-8")


def read_yaml(path: Path, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """Every YAML file ctdc reads: size, anchors, aliases and depth checked, then parsed safely.

    ``loader`` is ``yaml.SafeLoader`` (schemas) or :class:`TextLoader` (mappings).
    """
    return load_yaml_text(read_yaml_text(path), loader, path)


def load_text_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse ``path`` (checked as :func:`read_yaml`); return the data and the node tree (for
    line numbers)."""
    text = read_yaml_text(path)
    check_yaml_text(text, path)
    loader = TextLoader(text)
    try:  # parsed once: the data is constructed from the node tree the line numbers come from
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()
    return data, node


def line_of(node: yaml.Node | None, *keys: str | int) -> int | None:
    """1-based line of the value at ``keys`` (or of the deepest key found)."""
    line = None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == key), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line
