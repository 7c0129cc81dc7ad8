"""Keyed pseudonyms: ``HMAC-SHA256(key, org_id + "\\x1f" + local_case_id)``, hex.

The organization id is inside the MAC so two organizations' case ``00123``
never collide, and the unit separator keeps ``("ab", "c")`` apart from
``("a", "bc")``. Without the key a pseudonym cannot be recomputed from a
guessed case id, which a plain hash would allow.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

import numpy as np

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


def pseudonym_digests(key: bytes, org: str, case_ids: Sequence[str]) -> list[bytes]:
    """The same MACs as :func:`pseudonymize`, as 32-byte digests (about 40% faster).

    HMAC spelled out with two SHA-256 states (RFC 2104), each primed once and
    copied per id, instead of ``hmac.HMAC.copy`` (which copies both and more).
    """
    block = 64  # SHA-256's block size
    k = hashlib.sha256(key).digest() if len(key) > block else key
    k = k.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in k))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in k))
    inner.update((org + SEPARATOR).encode("utf-8"))
    icopy, ocopy = inner.copy, outer.copy
    out = []
    append = out.append
    for case_id in case_ids:
        i = icopy()
        i.update(case_id.encode("utf-8"))
        o = ocopy()
        o.update(i.digest())
        append(o.digest())
    return out


def pseudonym_keys(digests: Sequence[bytes]) -> np.ndarray:
    """The first 16 bytes of each digest as two uint64 (n x 2), for duplicate detection."""
    if not digests:
        return np.zeros((0, 2), dtype=np.uint64)
    return np.frombuffer(b"".join(digests), dtype=np.uint64).reshape(len(digests), 4)[:, :2]
