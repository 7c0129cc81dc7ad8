"""The private release manifest as typed records: what a release is, how it was made, from what.

It is written as ``manifest.json`` beside the private release and read back
by the next run (is the input unchanged? what changed since?) and by the
CLI's report. Typed records let those readers name fields by attribute, so a
renamed or missing field fails in ``mypy`` or at the one ``from_dict`` that
reads the file, not deep in a report. ``to_dict`` gives the JSON shape the
workspace has always held (the public manifest, an allow-list over this one,
is in ``public_manifest.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ctdc.anonymize import AnonymizationReport
from ctdc.harmonize.accounting import Accounting
from ctdc.store.ledger import Superseded
from ctdc.store.policy import Effective, Policy
from ctdc.store.release import CASES_FILE, DICTIONARY_FILE

#: how the independent check is made, recorded so a reader can repeat it
K_CHECK_METHOD = "DuckDB GROUP BY over all quasi-identifiers of cases.parquet"


@dataclass(frozen=True)
class SchemaRef:
    """The schema a release follows: name, version and the SHA-256 the policy pins."""

    name: str
    version: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> SchemaRef:
        return cls(name=str(doc["name"]), version=int(doc["version"]), sha256=str(doc["sha256"]))


@dataclass(frozen=True)
class AppliedPolicy:
    """The pinned policy with this run's k, l and levels in it, and what the run overrode."""

    policy: Policy
    overrides: dict[str, Any]

    @classmethod
    def of(cls, pinned: Policy, run: Effective) -> AppliedPolicy:
        applied = replace(pinned, k=run.k, l=run.l, levels=dict(run.levels))
        return cls(policy=applied, overrides=dict(run.overrides))

    def to_dict(self) -> dict[str, Any]:
        return {**self.policy.to_dict(), "overrides": self.overrides}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> AppliedPolicy:
        return cls(policy=Policy.from_dict(dict(doc)), overrides=dict(doc.get("overrides", {})))


@dataclass(frozen=True)
class LDiversityCheck:
    l: int  # noqa: E741 -- the letter of l-diversity
    #: sensitive field -> classes with fewer than l distinct known values (all 0: passed)
    classes_below_l: dict[str, int]

    @property
    def passed(self) -> bool:
        return not any(self.classes_below_l.values())

    def to_dict(self) -> dict[str, Any]:
        return {"l": self.l, "classes_below_l": dict(self.classes_below_l)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> LDiversityCheck:
        below = {str(s): int(n) for s, n in doc["classes_below_l"].items()}
        return cls(l=int(doc["l"]), classes_below_l=below)


@dataclass(frozen=True)
class PrivacyCheck:
    """The independent check over the written ``cases.parquet``."""

    passed: bool
    classes: int
    min_class_size: int
    l_diversity: LDiversityCheck | None = None
    method: str = K_CHECK_METHOD

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "passed": self.passed,
            "classes": self.classes,
            "min_class_size": self.min_class_size,
            "l_diversity": self.l_diversity.to_dict() if self.l_diversity else None,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> PrivacyCheck:
        l_div = doc.get("l_diversity")
        return cls(
            passed=bool(doc["passed"]),
            classes=int(doc["classes"]),
            min_class_size=int(doc["min_class_size"]),
            l_diversity=LDiversityCheck.from_dict(l_div) if l_div else None,
            method=str(doc["method"]),
        )


@dataclass(frozen=True)
class ReleaseFiles:
    cases_sha256: str
    cases_rows: int
    dictionary_rows: int

    def to_dict(self) -> dict[str, Any]:
        return {
            CASES_FILE: {"sha256": self.cases_sha256, "rows": self.cases_rows},
            DICTIONARY_FILE: {"rows": self.dictionary_rows},
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ReleaseFiles:
        cases = doc[CASES_FILE]
        return cls(cases["sha256"], int(cases["rows"]), int(doc[DICTIONARY_FILE]["rows"]))


@dataclass(frozen=True)
class Changes:
    """What changed since the previous private release."""

    previous_release: str | None
    batches_added: tuple[str, ...]
    batches_removed: tuple[str, ...]
    #: every batch a snapshot replaced (not only since the previous release)
    batches_superseded: tuple[Superseded, ...]
    rows_before: int
    rows_after: int

    def to_dict(self) -> dict[str, Any]:
        gone = [
            {**s.to_dict(), "note": f"{len(s.batches)} earlier batches of {s.org} superseded by "
             f"snapshot {s.snapshot}: not in this release, not in its accounting"}
            for s in self.batches_superseded
        ]  # fmt: skip
        return {
            "previous_release": self.previous_release,
            "batches_added": list(self.batches_added),
            "batches_removed": list(self.batches_removed),
            "batches_superseded": gone,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Changes:
        return cls(
            previous_release=doc["previous_release"],
            batches_added=tuple(doc["batches_added"]),
            batches_removed=tuple(doc["batches_removed"]),
            batches_superseded=tuple(
                Superseded(s["org"], s["snapshot"], tuple(s["batches"]))
                for s in doc["batches_superseded"]
            ),
            rows_before=int(doc["rows_before"]),
            rows_after=int(doc["rows_after"]),
        )


def changes_since(
    previous: ReleaseManifest | None,
    batches: tuple[str, ...],
    rows: int,
    superseded: list[Superseded],
) -> Changes:
    """The batches added and removed since ``previous``, and the rows before and after."""
    before = set(previous.batches) if previous else set()
    return Changes(
        previous_release=previous.release_id if previous else None,
        batches_added=tuple(sorted(set(batches) - before)),
        batches_removed=tuple(sorted(before - set(batches))),
        batches_superseded=tuple(superseded),
        rows_before=previous.files.cases_rows if previous else 0,
        rows_after=rows,
    )


def fingerprint(
    data_sha256: str,
    batches: tuple[str, ...],
    k: int,
    l: int | None,  # noqa: E741 -- the letter of l-diversity
    levels: dict[str, int | None],
    withdrawals: str = "",
    licence: str = "",
) -> str:
    """What makes two runs the same release: the data, the batches and the settings, and
    the withdrawals (a withdrawal of an unpublished record changes no row, but must show
    in the accounting), and a licence other than the default (the package says it)."""
    doc = [data_sha256, list(batches), k, l, levels, *([withdrawals] if withdrawals else []),
           *([licence] if licence else [])]  # fmt: skip
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def report_from_dict(doc: Mapping[str, Any]) -> AnonymizationReport:
    """The anonymization report read back from its ``to_dict`` form."""
    return AnonymizationReport(**{**doc, "quasi_identifiers": tuple(doc["quasi_identifiers"])})


@dataclass(frozen=True)
class ReleaseManifest:
    release_id: str
    created_at: str
    ctdc_version: str
    schema: SchemaRef
    fingerprint: str
    k: int
    l: int | None  # noqa: E741
    policy: AppliedPolicy
    quasi_identifiers: tuple[str, ...]
    #: the sensitive fields l-diversity was checked over (empty without l)
    sensitive: tuple[str, ...]
    #: quasi-identifier -> release level (None: chosen per class, written "auto")
    generalization_levels: dict[str, int | None]
    accounting: Accounting
    anonymization: AnonymizationReport
    k_check: PrivacyCheck
    batches: tuple[str, ...]
    files: ReleaseFiles
    changes: Changes
    #: the series (ctdc.harmonize.series): epoch, frozen, added, left, held and their waits;
    #: private only, the public manifest shows only what is published
    series: dict[str, Any] | None = None

    @staticmethod
    def now() -> str:
        return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

    def to_dict(self) -> dict[str, Any]:
        levels = self.generalization_levels
        return {
            "release_id": self.release_id,
            "created_at": self.created_at,
            "ctdc_version": self.ctdc_version,
            "schema": self.schema.to_dict(),
            "fingerprint": self.fingerprint,
            "k": self.k,
            "l": self.l,
            "policy": self.policy.to_dict(),
            "quasi_identifiers": list(self.quasi_identifiers),
            "sensitive": list(self.sensitive),
            "generalization_levels": {n: "auto" if v is None else v for n, v in levels.items()},
            "accounting": self.accounting.to_dict(),
            "anonymization": self.anonymization.to_dict(),
            "k_check": self.k_check.to_dict(),
            "batches": list(self.batches),
            "files": self.files.to_dict(),
            "changes": self.changes.to_dict(),
            "series": self.series,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ReleaseManifest:
        levels = doc["generalization_levels"]
        return cls(
            release_id=doc["release_id"],
            created_at=doc["created_at"],
            ctdc_version=doc["ctdc_version"],
            schema=SchemaRef.from_dict(doc["schema"]),
            fingerprint=doc["fingerprint"],
            k=int(doc["k"]),
            l=None if doc["l"] is None else int(doc["l"]),
            policy=AppliedPolicy.from_dict(doc["policy"]),
            quasi_identifiers=tuple(doc["quasi_identifiers"]),
            sensitive=tuple(doc["sensitive"]),
            generalization_levels={n: None if v == "auto" else int(v) for n, v in levels.items()},
            accounting=Accounting.from_dict(doc["accounting"]),
            anonymization=report_from_dict(doc["anonymization"]),
            k_check=PrivacyCheck.from_dict(doc["k_check"]),
            batches=tuple(doc["batches"]),
            files=ReleaseFiles.from_dict(doc["files"]),
            changes=Changes.from_dict(doc["changes"]),
            series=doc.get("series"),
        )
