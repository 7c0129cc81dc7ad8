"""A spreadsheet or JSON scalar as the text a person would have typed for it."""

from __future__ import annotations

import datetime as dt
from typing import Any


def cell_text(value: Any) -> str:
    """``None`` -> "", dates -> ISO, whole floats without ``.0``, lists joined with ``;``.

    Nested objects have no text form: the caller reports them (``TypeError``).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ";".join(cell_text(v) for v in value)
    if isinstance(value, dict):
        raise TypeError("nested objects are not supported")
    return str(value)
