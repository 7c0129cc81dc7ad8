"""A small age hierarchy (band, minor or adult, root) the anonymizer tests share."""

from __future__ import annotations

from ctdc.anonymize import Hierarchy

AGE = Hierarchy(
    (
        ("0-8", "0-17", "*"),
        ("9-17", "0-17", "*"),
        ("18-25", "18+", "*"),
        ("26-40", "18+", "*"),
        ("41+", "18+", "*"),
    )
)
