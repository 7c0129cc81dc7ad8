"""A test-org project whose export plants marker values, and readers of its log lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import TEST_MAPPING, run_ctdc

#: values an export may hold that must never reach a log line or the status output
MARKERS = ("NOMBREMARK", "NOTAMARK", "CASEMARK", "SEXMARK", "personname")
HEADER = "ID;Nombre;Notas;Edad;Fecha;Sexo;Nac;Secuestro;Control"


def marked_export(path: Path, rows: int = 12) -> Path:
    """``rows`` good rows with marker names, notes and case ids, then one bad row whose
    bad cell is itself a marker (it goes to the quarantine, raw row and all)."""
    lines = [HEADER]
    for i in range(rows):
        lines.append(f"CASEMARK{i:03d};Ana NOMBREMARK {i};vive en NOTAMARK calle {i};25;"
                     f"01/02/2020;Mujer;Perú;No;")  # fmt: skip
    lines.append("CASEMARK999;Bo NOMBREMARK;NOTAMARK;30;01/02/2020;SEXMARK;Perú;No;")
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


def project(root: Path) -> Path:
    """``root`` with pipelines/test-org.yaml and a workspace ``data`` made by ``ctdc init``."""
    (root / "pipelines").mkdir(parents=True)
    (root / "pipelines" / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    result = run_ctdc(root, "--data-dir", "data", "init", "--k", "2", "--k-floor", "2")
    assert result.exit_code == 0, result.output
    return root


def log_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a log file, each parsed as one JSON object."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def all_log_text(data: Path) -> str:
    """Everything under ``data/logs`` (rotated files and last-run records included)."""
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((data / "logs").rglob("*"))
                     if p.is_file())  # fmt: skip
