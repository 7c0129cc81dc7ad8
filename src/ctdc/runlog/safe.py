"""What a log line may hold: numbers, booleans and short plain tokens, nothing else.

The facts a command logs are chosen by hand (``ctdc.runlog.facts``); this is
the second wall. A string is kept only if it looks like an id, a slug or a
count's label: letters, digits and ``._:+-``, at most ``MAX_TOKEN`` characters.
A name with a space, a sentence, a path, a 64-digit pseudonym or hash, or a
control character becomes ``REDACTED``, so a mistake upstream costs a word in
the log, never a person's data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import Enum

#: long enough for a release id (``20250101T020000Z-1a2b3c4d-2``), too short for a
#: pseudonym or a SHA-256 (64 hex digits)
MAX_TOKEN = 40
REDACTED = "<redacted>"
_TOKEN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:+-]{{0,{MAX_TOKEN - 1}}}")

#: JSON values a log line holds
Safe = None | bool | int | float | str | list["Safe"] | dict[str, "Safe"]


def safe_token(value: str) -> str:
    """``value`` if it is a plain short token, else ``REDACTED``."""
    return value if _TOKEN.fullmatch(value) else REDACTED


def safe(value: object) -> Safe:
    """``value`` made fit for a log line (recursively); anything unknown is ``REDACTED``."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # NaN is not JSON
    if isinstance(value, Enum):
        return safe(value.value)
    if isinstance(value, str):
        return safe_token(value)
    if isinstance(value, Mapping):
        return {safe_token(str(k)): safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe(v) for v in value]
    return REDACTED
