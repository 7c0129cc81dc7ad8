"""``--json`` means a JSON object on stdout, also when the command fails.

A cron job or a script that asked for JSON parses stdout: an error there is
``{"error": {slug, message, file, row, column, fix, exit_code}}``, with the human
line still on stderr (issue 13 point 6). ``ingest`` and ``validate`` are covered in
tests/ingest/test_clear_errors.py; ``audit`` prints its report before it fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_ctdc


@pytest.mark.parametrize(
    ("args", "slug"),
    [
        (["--data-dir", "data", "harmonize", "--json"], "no-staged-data"),
        (["--data-dir", "nowhere", "policy", "show", "--json"], "no-workspace"),
        (["--data-dir", "nowhere", "quarantine", "list", "--org", "test-org", "--json"],
         "no-workspace"),
        (["--data-dir", "nowhere", "key", "rotate", "--json"], "no-workspace"),
        (["--data-dir", "data", "mapping", "init", "--org", "new-org", "missing.csv", "--json"],
         "file-not-found"),
    ],
)  # fmt: skip
def test_a_failing_command_asked_for_json_writes_its_error_as_json(
    cli_project: Path, args: list[str], slug: str
) -> None:
    result = run_ctdc(cli_project, *args)
    assert result.exit_code != 0
    doc = json.loads(result.stdout)
    assert doc["error"]["slug"] == slug, doc
    assert doc["error"]["exit_code"] == result.exit_code
    assert slug in result.stderr  # the line for a person is still there
