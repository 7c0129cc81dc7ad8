"""Global options, help texts and where ``mapping init`` writes, in-process (typer's CliRunner)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ctdc import __version__
from ctdc.cli import app

EXPORT = "Case ID,Gender,Age,Zzqx\nc1,F,30,?\nc2,M,41,?\n"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory holding one small export."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CTDC_HOME", raising=False)
    (tmp_path / "x.csv").write_text(EXPORT, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("args", [["--version"], ["--debug", "--version"], ["--version", "init"]])
def test_version_prints_and_exits_0(cwd: Path, args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"ctdc {__version__}\n"
    assert not (cwd / "ctdc-data").exists()  # init never ran


def test_bare_ctdc_shows_help(cwd: Path) -> None:
    result = run()
    assert result.exit_code in (0, 2)  # click >= 8.2 exits 2 when it shows help for no args
    assert "Usage: ctdc" in result.output and "mapping" in result.output
    assert "Missing command" not in result.output


def test_mapping_init_writes_into_the_configured_pipelines_folder(cwd: Path) -> None:
    (cwd / "ctdc.toml").write_text('[ctdc]\npipelines = "my-pipes"\n', encoding="utf-8")
    result = run("mapping", "init", "--org", "new-org", "x.csv")
    assert result.exit_code == 0, result.output
    assert (cwd / "my-pipes" / "new-org.yaml").is_file()
    assert not (cwd / "pipelines").exists()
    # validate finds it there: it stops on the column left to place, not on a missing mapping
    result = run("validate", "--org", "new-org", "x.csv")
    assert result.exit_code == 1
    assert "error[unmapped-column]" in result.stderr and "'Zzqx'" in result.stderr


def test_mapping_init_uses_an_existing_local_pipelines_folder(cwd: Path) -> None:
    (cwd / "pipelines").mkdir()
    result = run("mapping", "init", "--org", "new-org", "x.csv")
    assert result.exit_code == 0, result.output
    assert (cwd / "pipelines" / "new-org.yaml").is_file()


def test_mapping_init_never_writes_into_the_bundled_pipelines(cwd: Path) -> None:
    """No ctdc.toml, no ./pipelines: the bundled folder is configured, ./pipelines is written."""
    result = run("mapping", "init", "--org", "new-org", "x.csv", "--json")
    assert result.exit_code == 0, result.output
    assert (cwd / "pipelines" / "new-org.yaml").is_file()
    assert '"written": "pipelines/new-org.yaml"' in result.stdout


@pytest.mark.parametrize(
    ("command", "default"),
    [
        ([], "[default: ./ctdc-data]"),
        (["init"], "[default: 10]"),
        (["validate"], "[default: 0.10]"),
        (["query"], "[default: <data-dir>/public]"),
        (["policy", "set"], "[default: the logged-in user]"),
        (["mapping", "init"], "[default: guessed]"),
        (["quarantine", "export"], "[default: ./<org>-quarantine.<format>]"),
    ],
)
def test_help_shows_the_defaults(cwd: Path, command: list[str], default: str) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert default in result.stdout
    assert not re.search(r"\w \.\s", result.stdout), result.stdout  # a dropped default: "folder ."


def test_the_mode_option_offers_exactly_the_ledgers_modes() -> None:
    """The CLI keeps its own light enum (importing the ledger would load pyarrow for --help)."""
    from ctdc.cli.ingest import Mode
    from ctdc.store.ledger import BatchMode

    assert [m.value for m in Mode] == [m.value for m in BatchMode]
