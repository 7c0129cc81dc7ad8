"""The pseudonymization key file: one key, or a chain of keys after rotations, and its fingerprint.

A fresh workspace's key file holds 32 random bytes. A rotation (``ctdc key
rotate``) appends a new key instead of replacing the old one, and the file
then holds the chain as text: the header line :data:`CHAIN_HEADER`, then one
key per line in hex, oldest first. Every MAC is taken through the whole
chain, ``MAC = HMAC(k_n, ... HMAC(k_2, HMAC(k_1, message)))``, so a person
keeps one pseudonym across rotations (staging is re-keyed with the new key
only), while a copy of an older key file alone no longer links staging to
case ids. See docs/key.md.

The **fingerprint** names a key chain without revealing it: the first 16 hex
digits of the chain MAC of a fixed label (no pseudonym message can equal it:
those always hold a ``\\x1f``). It is safe to print, and is stored beside
the key, in every ledger entry and in every staging file.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from ctdc.errors import CtdcError

KEY_BYTES = 32
CHAIN_HEADER = b"ctdc-key-chain-v1\n"
FINGERPRINT_LABEL = b"ctdc key fingerprint v1"
FINGERPRINT_HEX = 16
#: the key-value metadata of a staging Parquet file naming the key that made its pseudonyms
STAGING_FINGERPRINT_META = b"ctdc.key_fingerprint"


def parse_chain(blob: bytes) -> tuple[bytes, ...]:
    """The keys of a key file's content, oldest first (a file without the header is one key)."""
    if not blob.startswith(CHAIN_HEADER):
        return (blob,)
    lines = blob[len(CHAIN_HEADER) :].split()
    try:
        keys = tuple(bytes.fromhex(line.decode("ascii")) for line in lines)
    except (UnicodeDecodeError, ValueError):
        keys = ()
    if not keys or any(len(k) < KEY_BYTES for k in keys):
        raise CtdcError("bad-key", "the key chain is damaged: a line is not a 32-byte hex key")
    return keys


def chain_blob(keys: Sequence[bytes]) -> bytes:
    """A key file's content for ``keys``: the single key itself, or the chain as text."""
    if len(keys) == 1:
        return bytes(keys[0])
    return CHAIN_HEADER + b"".join(k.hex().encode("ascii") + b"\n" for k in keys)


def chain_mac(keys: Sequence[bytes], message: bytes) -> bytes:
    """``HMAC(k_n, ... HMAC(k_1, message))``: the 32-byte MAC through the whole chain."""
    digest = hmac.new(keys[0], message, hashlib.sha256).digest()
    for key in keys[1:]:
        digest = hmac.new(key, digest, hashlib.sha256).digest()
    return digest


def fingerprint(blob: bytes) -> str:
    """The key file's fingerprint: a keyed hash of a fixed label, never the key itself."""
    return chain_mac(parse_chain(blob), FINGERPRINT_LABEL).hex()[:FINGERPRINT_HEX]
