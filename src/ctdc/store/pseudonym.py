"""Keyed pseudonyms: ``HMAC-SHA256(key, org_id + "\\x1f" + local_case_id)``, hex.

The organization id is inside the MAC so two organizations' case ``00123``
never collide, and the unit separator keeps ``("ab", "c")`` apart from
``("a", "bc")``. Without the key a pseudonym cannot be recomputed from a
guessed case id, which a plain hash would allow.

``key`` is a key file's content (``ctdc.store.keys``): after a rotation it
is a chain, and each pseudonym is then MACed again by every later key, in
order, exactly as :func:`rekey` turned the staged ones.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

import numpy as np

from ctdc.store.keys import chain_mac, parse_chain

SEPARATOR = "\x1f"


def pseudonymize(key: bytes, org: str, case_ids: Iterable[str]) -> list[str]:
    """One hex pseudonym per case id (the org prefix is MACed once and copied)."""
    first, *later = parse_chain(key)
    prefix = hmac.new(first, (org + SEPARATOR).encode("utf-8"), hashlib.sha256)
    out = []
    for case_id in case_ids:
        mac = prefix.copy()
        mac.update(case_id.encode("utf-8"))
        out.append(chain_mac(later, mac.digest()).hex() if later else mac.hexdigest())
    return out


def _macs(key: bytes, prefix: bytes, messages: Iterable[bytes]) -> list[bytes]:
    """``HMAC-SHA256(key, prefix + m)`` for each message, as 32-byte digests.

    HMAC spelled out with two SHA-256 states (RFC 2104), each primed once and
    copied per message, instead of ``hmac.HMAC.copy`` (which copies both and more).
    """
    block = 64  # SHA-256's block size
    k = hashlib.sha256(key).digest() if len(key) > block else key
    k = k.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in k))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in k))
    inner.update(prefix)
    icopy, ocopy = inner.copy, outer.copy
    out: list[bytes] = []
    append = out.append
    for message in messages:
        i = icopy()
        i.update(message)
        o = ocopy()
        o.update(i.digest())
        append(o.digest())
    return out


def pseudonym_digests(key: bytes, org: str, case_ids: Sequence[str]) -> list[bytes]:
    """The same MACs as :func:`pseudonymize`, as 32-byte digests (about 40% faster)."""
    first, *later = parse_chain(key)
    out = _macs(first, (org + SEPARATOR).encode("utf-8"), (c.encode("utf-8") for c in case_ids))
    for next_key in later:
        out = rekey_digests(next_key, out)
    return out


def rekey_digests(key: bytes, digests: Sequence[bytes]) -> list[bytes]:
    """``HMAC(key, digest)`` of each digest: the step a key rotation adds to every pseudonym."""
    return _macs(key, b"", digests)


def rekey(key: bytes, pseudonyms: Iterable[str]) -> list[str]:
    """Hex pseudonyms MACed once more with ``key`` (a rotation's new key): still hex."""
    return [d.hex() for d in rekey_digests(key, [bytes.fromhex(p) for p in pseudonyms])]


def pseudonym_keys(digests: Sequence[bytes]) -> np.ndarray:
    """The first 16 bytes of each digest as two uint64 (n x 2), for duplicate detection."""
    if not digests:
        return np.zeros((0, 2), dtype=np.uint64)
    return np.frombuffer(b"".join(digests), dtype=np.uint64).reshape(len(digests), 4)[:, :2]
