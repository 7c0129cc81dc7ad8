"""One harmonized workspace for the tests of a public release's derived files."""

from __future__ import annotations

import random
from pathlib import Path

from conftest import TEST_MAPPING, TEST_ROWS, run_ctdc

RECORDS = 80


def _export(path: Path) -> None:
    """RECORDS good rows of the conftest ``test-org`` export (two nationalities, two years)."""
    rng = random.Random(12)
    rows = [TEST_ROWS[0]]
    for i in range(RECORDS):
        age, year = rng.choice([19, 25, 33, 41]), rng.choice([2019, 2020])
        sex, nat = rng.choice(["Mujer", "Hombre"]), rng.choice(["Perú", "Namibia"])
        flag, control = rng.choice(["Sí", "No"]), rng.choice(["Deuda", "", "Amenazas, Deuda"])
        rows.append(f"C{i:05d};N{i};x;{age};0{rng.randint(1, 9)}/02/{year};{sex};{nat};"
                    f"{flag};{control}")  # fmt: skip
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))


def harmonized_project(root: Path) -> Path:
    """``root`` with pipelines/, export.csv and a workspace ``data`` that ``ctdc harmonize``
    published once (through the CLI, in-process); returns ``root``."""
    (root / "pipelines").mkdir()
    (root / "pipelines" / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    _export(root / "export.csv")
    for args in (["init"], ["ingest", "--org", "test-org", "export.csv", "--quiet"],
                 ["harmonize", "--quiet"]):  # fmt: skip
        result = run_ctdc(root, "--data-dir", "data", *args)
        assert result.exit_code == 0, result.output
    return root
