"""A few real processes: what only a separate ``ctdc`` process shows.

The installed console script, ``--help`` and ``--version``, the exit code of
each class (0 ok, 1 data/policy, 2 usage, 3 I/O or environment) with a
one-line error and no traceback, ``--debug`` printing the traceback, and one
init/ingest/harmonize/query run. Everything else about the CLI is tested
in-process (``run_ctdc`` in conftest), which is many times faster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEST_MAPPING
from ctdc import __version__

#: the console script ``pip install`` puts next to the interpreter
CONSOLE_SCRIPT = Path(sys.executable).parent / "ctdc"


def ctdc_process(
    cwd: Path, *args: str, command: list[str] | None = None
) -> subprocess.CompletedProcess:
    """``python -m ctdc ARGS`` (or ``command ARGS``) in ``cwd``: no stdin, no ``CTDC_HOME``."""
    env = {k: v for k, v in os.environ.items() if k != "CTDC_HOME"}
    return subprocess.run([*(command or [sys.executable, "-m", "ctdc"]), *args], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def one_line_error(proc: subprocess.CompletedProcess, slug: str) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error[{slug}]: "), proc.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """pipelines/test-org.yaml and an export of 30 good rows, no workspace yet."""
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    header = "ID;Nombre;Notas;Edad;Fecha;Sexo;Nac;Secuestro;Control"
    rows = [
        f"{i:03d};N;x;{25 + i % 3};01/02/202{i % 2};{('Mujer', 'Hombre')[i % 2]};Perú;No;"
        f"{('Deuda', 'Amenazas')[i % 3 == 0]}"
        for i in range(1, 31)
    ]
    (tmp_path / "export.csv").write_bytes(("\n".join([header, *rows]) + "\n").encode("latin-1"))
    return tmp_path


def test_console_script_is_installed() -> None:
    assert CONSOLE_SCRIPT.is_file() and os.access(CONSOLE_SCRIPT, os.X_OK)
    proc = ctdc_process(Path.cwd(), "--version", command=[str(CONSOLE_SCRIPT)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"ctdc {__version__}\n"


def test_the_cli_imports_no_heavy_module(tmp_path: Path) -> None:
    """``ctdc --help`` and ``--version`` load typer, not the data stack: commands import it."""
    heavy = ("pandas", "pyarrow", "duckdb", "pandera", "numpy", "ctdc.report", "ctdc.harmonize")
    code = f"import sys, ctdc.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    proc = ctdc_process(tmp_path, command=[sys.executable, "-c", code])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[]\n"


@pytest.mark.slow
def test_help_lists_the_commands(tmp_path: Path) -> None:
    proc = ctdc_process(tmp_path, "--help")
    assert proc.returncode == 0, proc.stderr
    for command in ("init", "ingest", "harmonize", "query", "quarantine", "mapping"):
        assert command in proc.stdout


def test_version_prints_the_version_and_exits_0(tmp_path: Path) -> None:
    proc = ctdc_process(tmp_path, "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"ctdc {__version__}\n"
    assert proc.stderr == ""


@pytest.mark.slow
def test_exit_1_data_or_policy(tmp_path: Path, test_org) -> None:
    proc = ctdc_process(tmp_path, "validate", "--org", "test-org", "export.csv", "--quiet")
    assert proc.returncode == 1
    one_line_error(proc, "reject-rate-exceeded")


@pytest.mark.slow
def test_exit_2_usage(project: Path) -> None:
    proc = ctdc_process(project, "ingest", "--org", "../etc", "export.csv")
    assert proc.returncode == 2
    one_line_error(proc, "bad-org-name")


@pytest.mark.slow
def test_exit_3_environment(project: Path) -> None:
    proc = ctdc_process(project, "ingest", "--org", "test-org", "export.csv")
    assert proc.returncode == 3
    one_line_error(proc, "no-workspace")


@pytest.mark.slow
def test_debug_shows_the_traceback(project: Path) -> None:
    proc = ctdc_process(project, "--debug", "harmonize")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


@pytest.mark.slow
def test_init_ingest_harmonize_query(project: Path) -> None:
    """Exit 0 at each step of a whole run, and the analyst counts the released rows."""
    steps = [
        ["init", "--k-floor", "2"],
        ["ingest", "--org", "test-org", "export.csv", "--json"],
        ["harmonize", "--k", "2", "--quiet"],
        ["query", "SELECT count(*) AS n FROM cases", "--format", "json"],
    ]
    procs = [ctdc_process(project, *step) for step in steps]
    for step, proc in zip(steps, procs, strict=True):
        assert proc.returncode == 0, (step, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert json.loads(procs[1].stdout)[0]["staged"] == 30
    assert json.loads(procs[3].stdout) == [{"n": 30}]
