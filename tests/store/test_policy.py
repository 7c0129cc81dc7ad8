"""The release policy lives in the workspace: the working directory never changes a release.

The attacks: a ``ctdc.toml`` holding ``k = 2`` in the current directory made
``harmonize --quiet`` publish at k=2 with exit 0, and a ``./schemas/ctdc.yaml``
that gave ``case_pseudonym`` the role ``attribute`` published the pseudonyms.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from ctdc.cli import app
from ctdc.errors import CtdcError
from ctdc.harmonize import harmonize
from ctdc.sample import generate_samples
from ctdc.schema import load_schema
from ctdc.store.policy import Policy, history, load_policy
from ctdc.store.policy_history import PolicyAction
from ctdc.store.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
ORG = "registry-gov"


@pytest.fixture(scope="module")
def staged_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One workspace with one staged batch (k=5, floor 5), copied by each test."""
    tmp = tmp_path_factory.mktemp("policy")
    export = generate_samples(tmp / "exports", rows=120, seed=5, bad_rate=0.0).files[ORG]
    data = tmp / "data"
    assert run("--data-dir", str(data), "init", "--k", "5")[0] == 0
    code, _, err = run("--data-dir", str(data), "ingest", "--org", ORG, str(export), "-q")
    assert code == 0, err
    return data


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def staged(tmp_path: Path, staged_once: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the staged workspace, and a clean working directory."""
    monkeypatch.delenv("CTDC_HOME", raising=False)
    data = tmp_path / "data"
    shutil.copytree(staged_once, data, symlinks=True)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return data


def _released_columns(data: Path) -> list[str]:
    return pq.read_schema(data / "current" / "cases.parquet").names


def test_ctdc_toml_in_the_working_directory_cannot_lower_k(staged: Path) -> None:
    Path("ctdc.toml").write_text("[ctdc]\nk = 2\n", encoding="utf-8")
    code, out, err = run("--data-dir", str(staged), "harmonize", "--quiet")
    assert code == 2 and out == ""
    assert "error[bad-option]" in err and "ctdc.toml" in err and "policy set k=" in err
    assert not (staged / "current").exists(), "something was published"


@pytest.mark.slow
def test_a_local_schema_changes_nothing_and_says_so(staged: Path, tmp_path: Path) -> None:
    """Run from a folder whose ./schemas makes gender an attribute: the pinned schema wins."""
    code, _, _ = run("--data-dir", str(staged), "harmonize", "--json")
    assert code == 0
    first = json.loads((staged / "current" / "manifest.json").read_text())
    local = Path("schemas")
    shutil.copytree(ROOT / "schemas", local)
    doc = yaml.safe_load((local / "ctdc.yaml").read_text(encoding="utf-8"))
    for f in doc["fields"]:
        if f["name"] == "gender":
            f["role"] = "attribute"
    (local / "ctdc.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    code, out, err = run("--data-dir", str(staged), "harmonize", "--json")
    assert code == 0, err
    assert "is not the schema pinned in the workspace" in err
    second = json.loads(out)
    assert second["status"] == "unchanged"  # the same release: nothing changed
    assert "gender" in second["quasi_identifiers"]
    assert second["policy"]["schema_sha256"] == first["policy"]["schema_sha256"]


@pytest.mark.slow
def test_a_schema_releasing_the_pseudonym_is_refused_before_anything_runs(staged: Path) -> None:
    local = Path("schemas")
    shutil.copytree(ROOT / "schemas", local)
    text = (local / "ctdc.yaml").read_text(encoding="utf-8")
    text = text.replace("- name: case_pseudonym\n  type: string\n  role: internal",
                        "- name: case_pseudonym\n  type: string\n  role: attribute")  # fmt: skip
    assert "role: attribute" in text.split("case_pseudonym")[1][:60]
    (local / "ctdc.yaml").write_text(text, encoding="utf-8")
    # the steward's explicit adoption is refused by the loader, whatever the schema says
    code, _, err = run("--data-dir", str(staged), "policy", "schema", str(local / "ctdc.yaml"),
                       "--reason", "try")  # fmt: skip
    assert code == 2 and "error[bad-schema]" in err and "case_pseudonym" in err
    # and the nightly run from this folder still publishes no link column
    code, _, err = run("--data-dir", str(staged), "harmonize", "-q")
    assert code == 0, err
    assert not {"case_pseudonym", "org_id", "batch_id"} & set(_released_columns(staged))


@pytest.mark.slow
def test_k_under_the_floor_is_refused_until_the_steward_lowers_it(staged: Path) -> None:
    code, _, err = run("--data-dir", str(staged), "harmonize", "--k", "3")
    assert code == 2 and "error[k-below-floor]" in err and "floor 5" in err
    code, _, err = run("--data-dir", str(staged), "policy", "set", "k=3", "--reason", "x")
    assert code == 2 and "error[k-below-floor]" in err
    assert load_policy(Workspace(staged)).k == 5  # unchanged
    code, out, _ = run("--data-dir", str(staged), "policy", "set", "k_floor=3", "k=3",
                       "--reason", "small pilot", "--by", "steward-a")  # fmt: skip
    assert code == 0 and "k=3 (floor 3)" in out
    [*_, last] = history(Workspace(staged))
    assert last.by == "steward-a" and last.reason == "small pilot"
    assert last.changes == {"k": [5, 3], "k_floor": [5, 3]} and last.at
    assert last.action is PolicyAction.SET
    code, out, _ = run("--data-dir", str(staged), "policy", "show")
    assert code == 0 and out.splitlines()[-1] == (
        f"{last.at} steward-a set: k: 5 -> 3, k_floor: 5 -> 3 (small pilot)"
    )
    code, out, _ = run("--data-dir", str(staged), "policy", "show", "--json")
    shown = json.loads(out)["history"]
    assert [h["action"] for h in shown] == ["init", "set"]
    assert shown[-1] == {
        "action": "set",
        "at": last.at,
        "by": "steward-a",
        "changes": {"k": [5, 3], "k_floor": [5, 3]},
        "reason": "small pilot",
    }
    code, out, err = run("--data-dir", str(staged), "harmonize", "--json")
    assert code == 0, err
    assert json.loads(out)["k"] == 3


@pytest.mark.slow
def test_harmonize_prints_the_policy_and_the_manifest_records_one_off_overrides(
    staged: Path,
) -> None:
    code, _, err = run("--data-dir", str(staged), "harmonize", "--k", "7",
                       "--generalize", "age_band=1")  # fmt: skip
    assert code == 0, err
    assert "policy: k=5 (floor 5)" in err
    manifest = json.loads((staged / "current" / "manifest.json").read_text())
    policy = manifest["policy"]
    assert policy["k"] == 7 and policy["k_floor"] == 5
    assert policy["overrides"] == {"k": 7, "levels.age_band": 1}
    assert policy["levels"]["age_band"] == 1 and policy["levels"]["citizenship"] == "auto"
    assert len(policy["schema_sha256"]) == 64


def test_library_harmonize_refuses_a_schema_other_than_the_pinned_one(
    staged: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    shutil.copytree(ROOT / "schemas", other)
    with (other / "hierarchies" / "age_band.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n")  # a hierarchy is part of the schema's fingerprint
    with pytest.raises(CtdcError) as err:
        harmonize(Workspace(staged), load_schema(other / "ctdc.yaml"))
    assert err.value.slug == "policy-mismatch"


def test_a_tampered_pinned_schema_is_refused(staged: Path) -> None:
    pinned = staged / "policy" / "schema" / "ctdc.yaml"
    pinned.write_text(pinned.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    code, _, err = run("--data-dir", str(staged), "harmonize")
    assert code == 3 and "error[policy-mismatch]" in err


def test_init_keeps_an_existing_policy(staged: Path) -> None:
    code, out, err = run("--data-dir", str(staged), "init", "--k", "20")
    assert code == 0 and "k=5 (floor 5)" in out
    assert "keeps the policy it has" in err
    assert [h.action for h in history(Workspace(staged))] == ["init"]


@pytest.mark.slow
def test_the_public_folder_is_policy_and_query_finds_it(staged: Path, tmp_path: Path) -> None:
    public = tmp_path / "analysts"
    settings = [f"publish_dir={public}", "public_mode=0750", "keep_public=2"]
    code, out, err = run("--data-dir", str(staged), "policy", "set", *settings,
                         "--reason", "shared mount")  # fmt: skip
    assert code == 0, err
    assert f"publishes to {public} (0750, keeps 2)" in out
    code, _, err = run("--data-dir", str(staged), "harmonize", "-q")
    assert code == 0, err
    assert (public / "current" / "cases.parquet").is_file()
    assert public.stat().st_mode & 0o777 == 0o750
    assert not (staged / "public").exists()
    code, out, err = run("--data-dir", str(staged), "query", "SELECT count(*) AS n FROM cases",
                         "--format", "json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)[0]["n"] > 0


def test_the_series_hold_back_rule_is_policy(staged: Path) -> None:
    """``series_hold_cells``/``series_hold_days`` are set, recorded and refused like the rest;
    a new workspace holds 7 days, one pinned before the setting existed keeps 30."""
    assert load_policy(Workspace(staged)).series_hold_days == 7
    code, _, err = run("--data-dir", str(staged), "policy", "set", "series_hold_days=30",
                       "series_hold_cells=1.5", "--reason", "benchmarks/series.py")  # fmt: skip
    assert code == 0, err
    policy = load_policy(Workspace(staged))
    assert (policy.series_hold_cells, policy.series_hold_days) == (1.5, 30)
    code, _, err = run("--data-dir", str(staged), "policy", "set", "series_hold_days=-1",
                       "--reason", "x")  # fmt: skip
    assert code == 2 and "error[bad-option]" in err and "series_hold" in err
    assert load_policy(Workspace(staged)).series_hold_days == 30
    older = {k: v for k, v in policy.to_dict().items() if k != "series_hold_days"}
    assert Policy.from_dict(older).series_hold_days == 30
    # the rhythm: a new workspace adds new records every 30 days; one pinned before the
    # setting existed keeps every night
    assert policy.series_increment_days == 30
    older = {k: v for k, v in policy.to_dict().items() if k != "series_increment_days"}
    assert Policy.from_dict(older).series_increment_days == 1
    code, _, err = run("--data-dir", str(staged), "policy", "set", "series_increment_days=0",
                       "--reason", "x")  # fmt: skip
    assert code == 2 and "series_increment_days must be at least 1" in err
    code, _, err = run("--data-dir", str(staged), "policy", "set", "series_increment_days=1",
                       "--reason", "every night")  # fmt: skip
    assert code == 0, err
    assert load_policy(Workspace(staged)).series_increment_days == 1
