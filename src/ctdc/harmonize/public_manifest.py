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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ctdc.harmonize.manifest import ReleaseManifest, SchemaRef

#: every count in the public manifest is rounded to the nearest multiple of this
COUNTS_ROUNDED_TO = 10
#: the parts of the workspace's pinned release policy an analyst may see
PUBLIC_POLICY_KEYS = (
    "k",
    "k_floor",
    "l",
    "levels",
    "quasi_identifiers",
    "schema_sha256",
    "licence",
)


def rounded(n: int, to: int = COUNTS_ROUNDED_TO) -> int:
    """``n`` to the nearest multiple of ``to`` (halves up): 4 -> 0, 5 -> 10, 1234 -> 1230."""
    return (int(n) + to // 2) // to * to


@dataclass(frozen=True)
class PublicCheck:
    """The independent check's verdict, without its class counts."""

    method: str
    passed: bool
    #: None when l-diversity was not asked for
    l_diversity_passed: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "passed": self.passed,
                "l_diversity_passed": self.l_diversity_passed}  # fmt: skip

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> PublicCheck:
        l_div = doc.get("l_diversity_passed")
        return cls(str(doc["method"]), bool(doc["passed"]), None if l_div is None else bool(l_div))


@dataclass(frozen=True)
class PublicManifest:
    """What an analyst may know about one release (see the module docstring)."""

    release_id: str
    created_at: str
    ctdc_version: str
    schema: SchemaRef
    k: int
    l: int | None  # noqa: E741 -- the letter of l-diversity
    quasi_identifiers: tuple[str, ...]
    sensitive: tuple[str, ...]
    #: quasi-identifier -> level as written: an int, or "auto"
    generalization_levels: dict[str, int | str]
    records_released: int
    cells_suppressed: dict[str, int]
    k_check: PublicCheck
    #: public file name -> its SHA-256
    files: dict[str, str]
    previous_release: str | None
    #: the allow-listed part of the pinned policy (``PUBLIC_POLICY_KEYS``), as written
    policy: dict[str, Any] | None = None
    counts_rounded_to: int = COUNTS_ROUNDED_TO

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "manifest": "public",
            "release_id": self.release_id,
            "created_at": self.created_at,
            "ctdc_version": self.ctdc_version,
            "schema": self.schema.to_dict(),
            "k": self.k,
            "l": self.l,
            "quasi_identifiers": list(self.quasi_identifiers),
            "sensitive": list(self.sensitive),
            "generalization_levels": dict(self.generalization_levels),
            "counts_rounded_to": self.counts_rounded_to,
            "records_released": self.records_released,
            "cells_suppressed": dict(self.cells_suppressed),
            "k_check": self.k_check.to_dict(),
            "files": {name: {"sha256": sha} for name, sha in sorted(self.files.items())},
            "previous_release": self.previous_release,
        }
        if self.policy is not None:
            doc["policy"] = dict(self.policy)
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> PublicManifest:
        policy = doc.get("policy")
        return cls(
            release_id=str(doc["release_id"]),
            created_at=str(doc["created_at"]),
            ctdc_version=str(doc["ctdc_version"]),
            schema=SchemaRef.from_dict(doc["schema"]),
            k=int(doc["k"]),
            l=None if doc["l"] is None else int(doc["l"]),
            quasi_identifiers=tuple(doc["quasi_identifiers"]),
            sensitive=tuple(doc["sensitive"]),
            generalization_levels=dict(doc["generalization_levels"]),
            records_released=int(doc["records_released"]),
            cells_suppressed={str(q): int(n) for q, n in doc["cells_suppressed"].items()},
            k_check=PublicCheck.from_dict(doc["k_check"]),
            files={str(name): str(f["sha256"]) for name, f in doc["files"].items()},
            previous_release=doc["previous_release"],
            policy=dict(policy) if isinstance(policy, dict) else None,
            counts_rounded_to=int(doc["counts_rounded_to"]),
        )


def public_manifest(private: ReleaseManifest, *, file_sha256: dict[str, str],
                    previous_release: str | None) -> PublicManifest:  # fmt: skip
    """The public manifest of the release ``private`` describes.

    ``file_sha256`` maps each public file to its SHA-256; ``previous_release``
    is the id the public ``current`` pointed at before (None for the first).
    """
    private_doc = private.to_dict()
    l_div = private.k_check.l_diversity
    policy = private_doc["policy"]
    return PublicManifest(
        release_id=private.release_id,
        created_at=private.created_at,
        ctdc_version=private.ctdc_version,
        schema=private.schema,
        k=private.k,
        l=private.l,
        quasi_identifiers=private.quasi_identifiers,
        sensitive=private.sensitive,
        generalization_levels=dict(private_doc["generalization_levels"]),
        records_released=rounded(private.accounting.total.released),
        cells_suppressed={
            str(qi): rounded(n) for qi, n in private.anonymization.cells_suppressed.items()
        },
        k_check=PublicCheck(
            method=private.k_check.method,
            passed=bool(private.k_check.passed),
            l_diversity_passed=None if not l_div else l_div.passed,
        ),
        files=dict(file_sha256),
        previous_release=previous_release,
        policy={key: policy[key] for key in PUBLIC_POLICY_KEYS if key in policy},
    )
