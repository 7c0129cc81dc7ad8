"""The public manifest: what an analyst may know about a release, built from the private one.

The full manifest stays in the workspace: it names every batch (the first
bits of each export's SHA-256, so anyone holding a file could confirm that it
went in) and gives accounting and suppression per organization (so a night's
one new record could be traced to its organization). The public manifest is
built from an allow-list, never by deleting keys from the private one, so a
field added to the private manifest later stays private until it is listed
here. It holds:

* the release id, time, ctdc version, schema name/version/SHA-256, k, l, the
  quasi-identifiers, the release levels and the pinned policy's public part;
* the independent k check's verdict;
* overall counts only, rounded to ``COUNTS_ROUNDED_TO`` (released records,
  suppressed cells per quasi-identifier), and said to be rounded;
* the SHA-256 of the public files (they are public anyway);
* the previous *public* release's id.
"""

from __future__ import annotations

from typing import Any

#: every count in the public manifest is rounded to the nearest multiple of this
COUNTS_ROUNDED_TO = 10
#: the parts of the workspace's pinned release policy an analyst may see
PUBLIC_POLICY_KEYS = ("k", "k_floor", "l", "levels", "quasi_identifiers", "schema_sha256")


def rounded(n: int, to: int = COUNTS_ROUNDED_TO) -> int:
    """``n`` to the nearest multiple of ``to`` (halves up): 4 -> 0, 5 -> 10, 1234 -> 1230."""
    return (int(n) + to // 2) // to * to


def public_manifest(private: dict[str, Any], *, file_sha256: dict[str, str],
                    previous_release: str | None) -> dict[str, Any]:  # fmt: skip
    """The public manifest of the release ``private`` describes.

    ``file_sha256`` maps each public file to its SHA-256; ``previous_release``
    is the id the public ``current`` pointed at before (None for the first).
    """
    schema = private.get("schema", {})
    anonymization = private.get("anonymization", {})
    check = private.get("k_check", {})
    l_div = check.get("l_diversity")
    doc: dict[str, Any] = {
        "manifest": "public",
        "release_id": private["release_id"],
        "created_at": private["created_at"],
        "ctdc_version": private.get("ctdc_version"),
        "schema": {key: schema.get(key) for key in ("name", "version", "sha256")},
        "k": private["k"],
        "l": private.get("l"),
        "quasi_identifiers": list(private.get("quasi_identifiers", [])),
        "sensitive": list(private.get("sensitive", [])),
        "generalization_levels": dict(private.get("generalization_levels", {})),
        "counts_rounded_to": COUNTS_ROUNDED_TO,
        "records_released": rounded(private["accounting"]["total"]["released"]),
        "cells_suppressed": {
            str(qi): rounded(n) for qi, n in anonymization.get("cells_suppressed", {}).items()
        },
        "k_check": {
            "method": check.get("method"),
            "passed": bool(check.get("passed")),
            "l_diversity_passed": None if not l_div else not any(l_div["classes_below_l"].values()),
        },
        "files": {name: {"sha256": sha} for name, sha in sorted(file_sha256.items())},
        "previous_release": previous_release,
    }
    policy = private.get("policy")
    if isinstance(policy, dict):
        doc["policy"] = {key: policy[key] for key in PUBLIC_POLICY_KEYS if key in policy}
    return doc
