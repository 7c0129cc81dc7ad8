"""Keyed pseudonyms: ``HMAC-SHA256(key, org_id + "\\x1f" + local_case_id)``, hex.

The organization id is inside the MAC so two organizations' case ``00123``
never collide, and the unit separator keeps ``("ab", "c")`` apart from
``("a", "bc")``. Without the key a pseudonym cannot be recomputed from a
guessed case id, which a plain hash would allow.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

SEPARATOR = "\x1f"


def pseudonymize(key: bytes, org: str, case_ids: Iterable[str]) -> list[str]:
    """One hex pseudonym per case id (the org prefix is MACed once and copied)."""
    prefix = hmac.new(key, (org + SEPARATOR).encode("utf-8"), hashlib.sha256)
    out = []
    for case_id in case_ids:
        mac = prefix.copy()
        mac.update(case_id.encode("utf-8"))
        out.append(mac.hexdigest())
    return out
