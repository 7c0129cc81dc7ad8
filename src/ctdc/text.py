"""Hostile text made safe to show, and values described without being shown.

Whatever ctdc prints or exports may come from an export: a file name, a
column name, a cell. Two things can go wrong when it is shown as is:

- **the terminal obeys it**: ESC starts a control sequence (clear the screen,
  rewrite the window title, a hyperlink), C1 controls (U+0080-U+009F, e.g.
  U+009B, the one-byte CSI) do the same on many terminals, and bidi controls
  (U+202E RIGHT-TO-LEFT OVERRIDE and its family) make a line read in an order
  other than the one it is stored in ("Trojan Source"). A lone surrogate
  cannot even be encoded, so printing it fails;
- **a person's data leaks**: a raw row or an identifier ends up in the
  terminal, a cron mail or a ``--json`` log.

:func:`escape` answers the first: every such character becomes visible text,
``\\xNN`` below U+0100 and ``\\uNNNN`` above, so that a reader sees that it
is there and where. :func:`describe` answers the second: it says what a value
looks like (its length and its kinds of characters) without a character of
it. Which values may be shown at all is decided by the caller
(``ctdc.ingest.redact`` for ingest and validate).
"""

from __future__ import annotations

import re
import unicodedata

#: characters never shown as themselves: C0 controls (tab and line feed are kept
#: only where the caller asks), DEL, C1 controls, the bidi controls (embeddings,
#: overrides, isolates, marks, the Arabic letter mark), the Unicode line and
#: paragraph separators (line breaks to YAML and to some terminals), lone
#: surrogates (no encoding can write them) and the two non-characters U+FFFE/U+FFFF
UNSAFE_CLASS = (
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_UNSAFE_RE = re.compile(UNSAFE_CLASS)

#: how many distinct punctuation marks or symbols a description names
DESCRIBED_SYMBOLS = 6


def _code(ch: str) -> str:
    cp = ord(ch)
    return f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}"


def has_unsafe(text: str, *, keep: str = "") -> bool:
    """True when :func:`escape` would change ``text``."""
    return any(ch not in keep for ch in _UNSAFE_RE.findall(text))


def escape(text: object, *, keep: str = "") -> str:
    """``text`` with every unsafe character (:data:`UNSAFE_CLASS`) written as ``\\xNN``/``\\uNNNN``.

    ``keep`` lists characters to leave alone where they are harmless and
    meaningful: ``"\\n"`` for a message that may span lines, ``"\\t\\n\\r"``
    for a CSV cell (the CSV writer quotes them). A backslash already in the
    text is left as it is: the escaped form is for reading, not for parsing.
    """
    value = str(text)
    if not _UNSAFE_RE.search(value):
        return value
    return _UNSAFE_RE.sub(lambda m: m.group() if m.group() in keep else _code(m.group()), value)


def escape_json(text: str) -> str:
    """JSON text with unsafe characters as ``\\uNNNN`` escapes (still valid JSON, same data).

    For ``json.dumps(..., ensure_ascii=False)`` output, which writes C1 and
    bidi controls and lone surrogates as themselves (it escapes C0 controls in
    strings already). Outside strings JSON holds none of these characters but
    its own layout (line feed, tab, carriage return), which is left alone.
    """
    return _UNSAFE_RE.sub(
        lambda m: m.group() if m.group() in "\t\n\r" else f"\\u{ord(m.group()):04x}", text
    )


_QUOTED_RE = re.compile(r"'[^']*'|\"[^\"]*\"")


def without_quoted(message: str) -> str:
    """A library's exception message with every quoted part replaced by ``'…'``.

    Parsers quote the text they choke on (``could not convert string to float:
    'Ana Pérez'``): that text is a cell of the export, so it is cut out before
    the message is shown; the rest still says what went wrong.
    """
    return _QUOTED_RE.sub("'…'", message)


def _class_of(ch: str) -> str:
    if _UNSAFE_RE.match(ch):
        return "control"
    if ch.isalpha():
        return "letters" if ch.isascii() else "non-ASCII letters"
    if ch.isdigit():
        return "digits"
    if ch.isspace():
        return "spaces"
    if unicodedata.category(ch)[0] in "PS":
        return "symbol"
    return "other characters"


def describe(value: object, *, length: int | None = None) -> str:
    """What ``value`` looks like, without a character of it: ``17 chars: letters, '@', '.'``.

    Lengths and character kinds are what a data officer needs to find a value
    in their own system (a 400-character cell is a remark, ``digits, '+'`` a
    phone number) without the summary carrying the value itself. Control
    characters (escaped) and then punctuation marks and symbols are named, up
    to :data:`DESCRIBED_SYMBOLS`, since they tell formats and damage apart and
    are not a person's data. ``length`` gives the full length when ``value`` is
    only the start of a longer text.
    """
    text = str(value)
    size = len(text) if length is None else length
    if not size:
        return "empty"
    kinds: dict[str, None] = {}
    named: dict[str, dict[str, None]] = {"control": {}, "symbol": {}}
    for ch in text:
        kind = _class_of(ch)
        if kind in named:
            named[kind][ch] = None
        else:
            kinds[kind] = None
    order = ("letters", "non-ASCII letters", "digits", "spaces", "other characters")
    parts = [k for k in order if k in kinds]
    marks = [*named["control"], *named["symbol"]]
    parts += [f"'{escape(m)}'" for m in marks[:DESCRIBED_SYMBOLS]]
    if len(marks) > DESCRIBED_SYMBOLS:
        parts.append(f"{len(marks) - DESCRIBED_SYMBOLS} other symbols")
    return f"{size:,} {'char' if size == 1 else 'chars'}: {', '.join(parts)}"
