"""YAML reading for hand-written config: strings stay strings, errors know their line.

PyYAML's default (YAML 1.1) turns ``No`` into False, ``NA`` stays but ``00``
becomes 0 and ``1e3`` a float — fatal in a vocabulary where ``No``, ``00``
(CTDC's unknown country) and ``-99`` are source codes. Here only ``true``,
``false`` and ``null``/``~`` are typed; every other plain scalar is text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


class TextLoader(yaml.SafeLoader):
    """SafeLoader with only null and true/false as implicit types."""


TextLoader.yaml_implicit_resolvers = {}
TextLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
TextLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


def load_text_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse ``path``; return the data and the node tree (for line numbers)."""
    text = path.read_text(encoding="utf-8")
    node = yaml.compose(text, Loader=TextLoader)
    data = yaml.load(text, Loader=TextLoader)
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
