"""What an audit returns: one result per check, each naming its problem without private values.

A detail says what is wrong by count and column name only (``2 classes below
k=10 (13 rows)``, ``a pseudonym in cases.parquet``): never a pseudonym, an
organization id, a case id or the quasi-identifier values of a small class,
because the report is printed, mailed by cron and kept in logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict. ``skipped`` checks (no previous release) count as passed."""

    name: str
    passed: bool
    detail: str
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "skipped": self.skipped,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class AuditReport:
    """Every check's result, in the order they ran, and what was audited (public paths only)."""

    release: str
    previous: str | None
    k: int
    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def names_passed(self) -> list[str]:
        """The checks that ran and passed (skipped ones are not listed)."""
        return [c.name for c in self.checks if c.passed and not c.skipped]

    def __getitem__(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "previous": self.previous,
            "k": self.k,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
        }


def ok(name: str, detail: str) -> CheckResult:
    return CheckResult(name, True, detail)


def fail(name: str, detail: str) -> CheckResult:
    return CheckResult(name, False, detail)


def plural(n: int, word: str) -> str:
    """``1 class``, ``3 classes``: details read as sentences."""
    if n == 1:
        return f"1 {word}"
    if word.endswith(("s", "sh", "ch", "x")):
        return f"{n:,} {word}es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return f"{n:,} {word[:-1]}ies"
    return f"{n:,} {word}s"
