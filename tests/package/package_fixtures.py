"""One harmonized workspace for the tests of a public release's derived files."""

from __future__ import annotations

from pathlib import Path

from conftest import harmonized_project as make_project

RECORDS = 80


def harmonized_project(root: Path) -> Path:
    """``root`` with a workspace that ``ctdc harmonize`` published once (conftest's)."""
    return make_project(root, RECORDS, seed=12, controls=("Deuda", "", "Amenazas, Deuda"))
