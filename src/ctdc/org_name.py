"""An organization id: what ``--org`` and a mapping's ``org:`` accept.

Apart from the mapping code so that a command can refuse a bad ``--org`` before
it imports the data stack (pandas, pyarrow, duckdb: over a second of a run).
"""

from __future__ import annotations

import re

from ctdc.errors import CtdcError

ORG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


def check_org_name(org: str) -> str:
    """``org`` itself if it is a valid organization id, else a ``bad-org-name`` error."""
    if not ORG_RE.fullmatch(org or ""):
        raise CtdcError("bad-org-name", f"{org!r} is not a valid organization id")
    return org
