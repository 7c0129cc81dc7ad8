"""A cron line needs no ``cd``: every command works from any folder given CTDC_HOME,
--data-dir or CTDC_CONFIG (the project's ctdc.toml, whose folder holds pipelines/)."""

from __future__ import annotations

import json
from pathlib import Path

from ops_fixtures import log_lines, marked_export

from conftest import TEST_MAPPING, run_ctdc


def test_commands_run_from_another_folder(tmp_path: Path) -> None:
    project = tmp_path / "srv"
    (project / "pipelines").mkdir(parents=True)
    (project / "pipelines" / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    (project / "ctdc.toml").write_text('[ctdc]\ndata_dir = "data"\nlog_backups = 3\n')
    (tmp_path / "drop").mkdir()
    export = marked_export(tmp_path / "drop" / "export.csv")
    elsewhere = tmp_path / "cron-cwd"
    elsewhere.mkdir()
    config = {"CTDC_CONFIG": str(project / "ctdc.toml")}
    assert run_ctdc(elsewhere, "init", "--k", "2", "--k-floor", "2", env=config).exit_code == 0
    assert (project / "data" / "pseudonym.key").is_file()  # data_dir read beside the toml
    # the org's mapping is found in the project's pipelines/, not in the bundled ones
    ingest = run_ctdc(elsewhere, "ingest", "--org", "test-org", str(export), "--json", env=config)
    assert ingest.exit_code == 0, ingest.stderr
    assert json.loads(ingest.stdout)[0]["staged"] == 12
    home = {"CTDC_HOME": str(project / "data")}
    status = run_ctdc(elsewhere, "status", "--json", env=home)
    assert status.exit_code == 0 and json.loads(status.stdout)["organizations"][0]["batches"] == 1
    withdraw = run_ctdc(elsewhere, "--data-dir", str(project / "data"), "--quiet", "withdraw",
                        "--org", "test-org", "CASEMARK000")  # fmt: skip
    assert withdraw.exit_code == 0, withdraw.stderr
    assert list(elsewhere.iterdir()) == []  # nothing written where cron happened to run
    commands = [d["command"] for d in log_lines(project / "data" / "logs" / "ctdc.log")]
    assert commands == ["init", "init", "ingest", "ingest", "withdraw", "withdraw"]


def test_a_missing_config_file_is_refused(tmp_path: Path) -> None:
    result = run_ctdc(tmp_path, "--config", "nope.toml", "status", env={})
    assert result.exit_code == 3 and "error[file-not-found]" in result.stderr
    (tmp_path / "ctdc.toml").write_text("[ctdc]\nlog_max_bytes = 0\n")
    bad = run_ctdc(tmp_path, "status")
    assert bad.exit_code == 2 and "log_max_bytes" in bad.stderr
