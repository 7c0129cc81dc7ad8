"""A YAML document with a comment on every line, dumped by ruamel.yaml with ctdc's quoting.

``mapping init`` writes a file that a data officer reads line by line, so it
carries comments, and loads with ctdc's own reader, so every scalar must read
back as the text it was. The document is built as ruamel's commented maps and
lists, in the order it is written, and dumped; two rules of ctdc's own are
kept in the emitter:

- a scalar is written plain only when it reads back as the same text with
  both PyYAML's and ctdc's loader (``No``, ``00`` and ``~`` are quoted), and
  quoted the way ``ctdc.text`` escapes, so a control, bidi or separator
  character is never written as itself (``"\\u009b"``);
- no anchors or aliases (ctdc's reader refuses them), and never ``!!str``.

Full comment lines (a ``# value: TODO`` line, a blank line) are hung on the
value put just before them: ruamel keeps such lines in the end-of-line
comment of the value they follow.
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.emitter import Emitter
from ruamel.yaml.error import CommentMark
from ruamel.yaml.events import ScalarEvent
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from ctdc.errors import CtdcError
from ctdc.text import escape, escape_json, has_unsafe
from ctdc.yamlio import TextLoader, load_yaml_text

#: the column end-of-line comments start at, when the line leaves room
COMMENT_AT = 44
_STR = "tag:yaml.org,2002:str"


def _roundtrips(text: str, value: object) -> bool:
    for loader in (yaml.SafeLoader, TextLoader):
        try:
            if load_yaml_text(text, loader) != value:
                return False
        except (yaml.YAMLError, CtdcError):  # CtdcError: an anchor or alias in a sample value
            return False
    return True


@lru_cache(maxsize=4096)
def is_plain(value: str, *, key: bool = False, flow: bool = False) -> bool:
    """Whether ``value`` may be written unquoted and read back as this text with any loader.

    Cached: it parses YAML twice, and a scaffold asks again for each key and value
    it writes (``column``, ``values``, the same labels in several columns).
    """
    if not value or value != value.strip() or "\n" in value or has_unsafe(value):
        return False
    if key:
        return _roundtrips(f"{value}: ~", {value: None})
    if flow:
        return _roundtrips(f"{{k: {value}}}", {"k": value})
    return _roundtrips(f"k: {value}", {"k": value})


def quoted(value: str) -> str:
    """``value`` double-quoted, every control, bidi or separator character escaped."""
    return escape_json(json.dumps(value, ensure_ascii=False))


def q(value: str, *, key: bool = False) -> str:
    """``value`` as YAML text that reads back as itself: for the commented-out entries."""
    return value if is_plain(value, key=key) else quoted(value)


class _Emitter(Emitter):
    """ruamel's emitter with ctdc's choice of plain or quoted, and its escapes."""

    #: a key is written ``key: value`` up to this length (PyYAML reads 1024), not ``? key``
    MAX_SIMPLE_KEY_LENGTH = 512

    def analyze_scalar(self, scalar: Any) -> Any:
        """A line break is written escaped (``"\\n"``): no scalar spans lines."""
        analysis = super().analyze_scalar(scalar)
        analysis.multiline = False
        return analysis

    def process_tag(self) -> None:
        """Text is never tagged ``!!str``: plain only when it reads back as text anyway."""
        if isinstance(self.event, ScalarEvent) and str(self.event.ctag) == _STR:
            if self.style is None:
                self.style = self.choose_scalar_style()
            self.prepared_tag = None
            return
        super().process_tag()

    def choose_scalar_style(self) -> Any:
        event = self.event
        if str(event.ctag) == _STR and not event.style and isinstance(event.value, str):
            key = bool(self.simple_key_context) and not self.flow_level
            return "" if is_plain(event.value, key=key, flow=bool(self.flow_level)) else '"'
        return super().choose_scalar_style()

    def write_double_quoted(self, text: Any, split: Any = True) -> None:
        self.write_indicator(quoted(str(text)), True)

    def write_comment(self, comment: Any, pre: bool = False) -> None:
        """Two spaces at least before an end-of-line comment (ruamel leaves one)."""
        tight = comment.start_mark.column - self.column < 2
        if not pre and self.column and str(comment.value).startswith("#") and tight:
            self.stream.write(" ")
            self.column += 1
        super().write_comment(comment, pre)


class Empty:
    """A key with nothing under it but comments: written ``key:``, read as null."""


class _Representer(RoundTripRepresenter):
    pass


def _null(rep: RoundTripRepresenter, _: object) -> Any:
    return rep.represent_scalar("tag:yaml.org,2002:null", "null")


def _empty(rep: RoundTripRepresenter, _: object) -> Any:
    return rep.represent_scalar("tag:yaml.org,2002:null", "")


_Representer.add_representer(type(None), _null)
_Representer.add_representer(Empty, _empty)
_Representer.ignore_aliases = lambda self, data: True  # type: ignore[method-assign]


def comment_text(comment: str) -> str:
    """A comment's text, on one line: a line break (U+0085, U+2028 too) would end the
    comment, a C1 control makes the YAML unreadable, and a column name or value may hold
    either."""
    return "# " + escape(comment.replace("\n", " "))


def _line(text: str, comment: str = "") -> str:
    """A whole line of the YAML, its comment aligned at :data:`COMMENT_AT`."""
    if not comment:
        return text
    pad = max(COMMENT_AT - len(text), 2) if text else 0
    return f"{text}{' ' * pad}{comment_text(comment)}" if text else comment_text(comment)


class Doc:
    """The document, built in the order it is written: each value where it goes, and
    full comment lines hung on whatever was put last (ruamel keeps a comment line that
    follows a value in the end-of-line comment of that value)."""

    def __init__(self) -> None:
        self.root = CommentedMap()
        self._head: list[str] = []
        self._last: tuple[CommentedMap | CommentedSeq, Any] | None = None

    def put(self, where: CommentedMap, key: str, value: object, comment: str = "") -> None:
        """``key: value`` in the map ``where``, with an end-of-line comment."""
        where[key] = value
        self._hang(where, key, comment)

    def item(self, where: CommentedSeq, value: object, comment: str = "") -> None:
        """``- value`` at the end of the list ``where``, with an end-of-line comment."""
        where.append(value)
        self._hang(where, len(where) - 1, comment)

    def _hang(self, where: CommentedMap | CommentedSeq, key: Any, comment: str) -> None:
        if comment:
            where.yaml_add_eol_comment(comment_text(comment), key, column=COMMENT_AT)
        value = where[key]
        if not (
            isinstance(value, CommentedMap | CommentedSeq) and value and not value.fa.flow_style()
        ):
            self._last = (where, key)  # else the block's own items come next

    def line(self, text: str = "", comment: str = "", *, indent: int = 0) -> None:
        """A full line (blank, or a comment at ``indent``) after what was put last."""
        if text:
            full = _line(" " * indent + text, comment)
        else:  # a comment line of its own: its line breaks escaped, not joined
            full = " " * indent + "# " + escape(comment) if comment else ""
        if self._last is None:
            self._head.append(full)
            return
        where, key = self._last
        slot = where.ca.items.setdefault(key, [None, None, None, None])
        index = 2 if isinstance(where, CommentedMap) else 0
        if slot[index] is None:
            slot[index] = CommentToken("", CommentMark(0), None)
        before = str(slot[index].value)  # the emitter drops one final line break: keep one
        slot[index].value = before.removesuffix("\n") + "\n" + full + "\n"

    def dump(self) -> str:
        """The document as YAML text, trailing spaces removed."""
        if self._head:
            self.root.yaml_set_start_comment("\n".join([*self._head, ""]))
        out = YAML()
        out.Emitter = _Emitter
        out.Representer = _Representer
        out.indent(mapping=2, sequence=4, offset=2)
        out.width = 1 << 16  # never fold a long value
        buf = io.StringIO()
        out.dump(self.root, buf)
        return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


def flow_map(**items: object) -> CommentedMap:
    """A map written on one line: ``{column: Sexo}``."""
    m = CommentedMap(items)
    m.fa.set_flow_style()
    return m


def flow_list_or_one(fmt: str | tuple[str, ...]) -> object:
    """One value as itself, several as a flow list (``[a, b]``)."""
    if isinstance(fmt, str):
        return fmt
    seq = CommentedSeq(fmt)
    seq.fa.set_flow_style()
    return seq


def always_quoted(value: str) -> object:
    """A separator, quoted even where it could be plain: ``";"`` reads as one at a glance."""
    return DoubleQuotedScalarString(value)
