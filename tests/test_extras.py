"""The ``sample`` extra: a data officer's commands never import it, and ``ctdc sample`` names it.

Faker and country_converter come with ``pip install 'ctdc[sample]'`` only, so
the runtime commands must work without them. One child process (a fresh
``sys.modules``, which this test process no longer has) runs a whole job
through the typer app: help, init, ingest, validate, harmonize, query, the
policy and the quarantine listing; then it hides Faker and runs
``ctdc sample``, which must stop with one catalogued line naming the extra.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# the slow tier: a real subprocess (make test runs it after the fast tier)
pytestmark = pytest.mark.slow

EXTRA_MODULES = ("faker", "country_converter")

CHILD = r"""
import json, sys
from typer.testing import CliRunner
from ctdc.cli import app

runner = CliRunner(env={"CTDC_HOME": None})
def run(*args):
    r = runner.invoke(app, list(args))
    return {"args": list(args), "code": r.exit_code, "stdout": r.stdout, "stderr": r.stderr,
            "exception": None if r.exception is None or isinstance(r.exception, SystemExit)
            else repr(r.exception)}

runtime = [
    run("--help"),
    run("--data-dir", "data", "init", "--k", "2"),
    run("--data-dir", "data", "validate", "--org", "test-org", "export.csv"),
    run("--data-dir", "data", "ingest", "--org", "test-org", "export.csv"),
    run("--data-dir", "data", "quarantine", "list", "--org", "test-org"),
    run("--data-dir", "data", "policy", "show"),
    run("--data-dir", "data", "harmonize"),
    run("query", "--public-dir", "data/public", "SELECT count(*) AS n FROM cases",
        "--format", "json"),
]
loaded = sorted(m for m in sys.modules if m.split(".")[0] in EXTRA_MODULES)
sys.modules["faker"] = None  # as if the extra were not installed
sample = run("sample", "--out", "exports", "--rows", "5")
print(json.dumps({"runtime": runtime, "loaded": loaded, "sample": sample}))
"""


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the child saw: each runtime command's result, the extra's modules, ``sample``."""
    from conftest import TEST_MAPPING, TEST_ROWS

    root = tmp_path_factory.mktemp("extras")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    good = TEST_ROWS[:3]  # the header and the two good rows: no reject rate to pass
    (root / "export.csv").write_bytes(("\n".join(good) + "\n").encode("latin-1"))
    script = f"EXTRA_MODULES = {EXTRA_MODULES!r}\n{CHILD}"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    result["root"] = root
    return result


def test_runtime_commands_run_without_importing_the_sample_extra(child: dict[str, Any]) -> None:
    for run in child["runtime"]:
        assert run["exception"] is None, run
        assert run["code"] == 0, run
        assert "Traceback" not in run["stdout"] + run["stderr"], run
    assert json.loads(child["runtime"][-1]["stdout"]) == [{"n": 2}]
    assert child["loaded"] == []


def test_sample_without_the_extra_is_one_line_naming_it(child: dict[str, Any]) -> None:
    sample = child["sample"]
    assert sample["exception"] is None, sample
    assert sample["code"] == 3, sample
    assert sample["stdout"] == ""
    [line] = sample["stderr"].splitlines()
    assert line.startswith("error[missing-extra]: "), line
    assert "pip install 'ctdc[sample]'" in line
    assert "Traceback" not in sample["stderr"]
    assert not (Path(child["root"]) / "exports").exists()  # stopped before writing
