"""What the CLI asks of the library, tested without the CLI: real files, real workspaces.

The commands only call these and render; each rule (which mapping, which
schema, which public folder, the dry run's throwaway key, the notes on re-sent
bytes) is checked here directly. ``test_every_command_group_answers_help``
checks the CLI package itself: every module registered, none over its size.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT, TEST_MAPPING
from ctdc.cli import app
from ctdc.config import bundled_pipelines, bundled_schema
from ctdc.errors import CtdcError
from ctdc.ingest import ingest_file
from ctdc.ingest.dry_run import validate_files
from ctdc.ingest.unchanged import unchanged_notes
from ctdc.mapping.locate import find_mapping, find_source, mapping_path, scaffold_target
from ctdc.schema import Schema
from ctdc.store.init_options import parse_public_mode, policy_differs
from ctdc.store.policy import load_policy
from ctdc.store.resolve import (
    default_public_dir,
    existing_workspace,
    key_file_fingerprint,
    policy_workspace,
    schema_in_use,
)
from ctdc.store.workspace import Workspace, init_workspace

CLI = ROOT / "src" / "ctdc" / "cli"
GROUPS = ["init", "sample", "ingest", "validate", "harmonize", "query", "audit", "withdraw",
          "stats", "report", "policy", "key", "quarantine", "mapping", "synthesize"]  # fmt: skip


def listing(root: Path) -> set[Path]:
    return set(root.rglob("*")) if root.exists() else set()


# -- where a mapping is


def test_find_mapping_loads_the_org_and_names_the_missing_file(test_org, schema: Schema) -> None:
    pipelines, _ = test_org
    assert mapping_path(pipelines, "test-org") == pipelines / "test-org.yaml"
    assert find_mapping(pipelines, "test-org", schema).org == "test-org"
    with pytest.raises(CtdcError) as err:
        find_mapping(pipelines, "nobody", schema)
    assert err.value.slug == "unknown-org" and "nobody.yaml" in err.value.message()


def test_find_source_is_none_without_a_mapping(test_org) -> None:
    pipelines, _ = test_org
    schema_path = bundled_schema()
    source = find_source(pipelines, "test-org", schema_path)
    assert source is not None and source.encoding == "latin-1" and source.delimiter == ";"
    assert find_source(pipelines, "gone-org", schema_path) is None


def test_scaffold_target_never_points_into_the_bundled_pipelines(tmp_path: Path) -> None:
    mine = tmp_path / "my-pipes"
    assert scaffold_target(mine, "new-org") == mine / "new-org.yaml"
    assert scaffold_target(bundled_pipelines(), "new-org") == Path("pipelines/new-org.yaml")
    assert scaffold_target(mine, "new-org", tmp_path / "x" / "new-org.yaml") == (
        tmp_path / "x" / "new-org.yaml"
    )


# -- which schema, workspace, public folder, key file


def test_schema_in_use_is_the_pinned_one_and_warns_on_another(tmp_path: Path, workspace) -> None:
    assert schema_in_use(bundled_schema()).warning is None
    pinned = schema_in_use(bundled_schema(), workspace)
    assert pinned.warning is None
    local = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", local)
    with (local / "ctdc.yaml").open("a", encoding="utf-8") as f:
        f.write("\n# a deployment's own copy\n")
    other = schema_in_use(local / "ctdc.yaml", workspace)
    assert other.schema.source == pinned.schema.source  # the pinned one is used
    assert other.warning is not None and str(local / "ctdc.yaml") in other.warning
    assert "ctdc policy schema PATH" in other.warning
    # without a workspace the configured schema is the one
    assert schema_in_use(local / "ctdc.yaml").schema.source == local / "ctdc.yaml"


def test_schema_in_use_refuses_a_workspace_without_policy(tmp_path: Path) -> None:
    (tmp_path / "bare").mkdir()
    with pytest.raises(CtdcError) as err:
        schema_in_use(bundled_schema(), Workspace(tmp_path / "bare"))
    assert err.value.slug == "no-policy"


def test_policy_workspace_only_with_a_policy(tmp_path: Path, workspace) -> None:
    assert policy_workspace(workspace.root) == workspace
    assert policy_workspace(tmp_path / "nothing-here") is None
    assert not (tmp_path / "nothing-here").exists()


def test_default_public_dir_follows_the_policy(tmp_path: Path) -> None:
    assert default_public_dir(tmp_path / "none") == tmp_path / "none" / "public"
    elsewhere = tmp_path / "srv-public"
    ws, _ = init_workspace(tmp_path / "data", k_floor=2, publish_dir=elsewhere)
    assert default_public_dir(ws.root) == elsewhere.resolve()


def test_existing_workspace_and_key_file_fingerprint(tmp_path: Path, workspace) -> None:
    with pytest.raises(CtdcError) as err:
        existing_workspace(tmp_path / "none")
    assert err.value.slug == "no-workspace"
    assert existing_workspace(workspace.root) == workspace
    backup = tmp_path / "backup" / "pseudonym.key"
    backup.parent.mkdir()
    shutil.copy2(workspace.key_path, backup)
    assert key_file_fingerprint(backup) == workspace.stored_fingerprint()
    with pytest.raises(CtdcError) as err:
        key_file_fingerprint(tmp_path / "backup" / "missing.key")
    assert err.value.slug == "file-not-found"


def test_init_options(tmp_path: Path, workspace) -> None:
    assert parse_public_mode("0750") == 0o750
    with pytest.raises(CtdcError) as err:
        parse_public_mode("rwx")
    assert err.value.slug == "bad-option"
    policy = load_policy(workspace)
    assert not policy_differs(policy, k=None, k_floor=None, publish_dir=None)
    assert not policy_differs(policy, k=policy.k, k_floor=2, publish_dir=None)
    assert policy_differs(policy, k=policy.k + 1, k_floor=None, publish_dir=None)
    assert policy_differs(policy, k=None, k_floor=None, publish_dir=tmp_path / "p")


# -- the dry run and re-sent bytes


def test_validate_files_writes_nothing_and_matches_ingest(
    tmp_path: Path, test_org, schema: Schema, workspace
) -> None:
    pipelines, export = test_org
    mapping = find_mapping(pipelines, "test-org", schema)
    before = listing(tmp_path)
    [dry] = validate_files(schema, mapping, [export], max_reject_rate=1.0)
    assert listing(tmp_path) == before
    assert dry.dry_run and dry.status == "valid"
    real = ingest_file(workspace, schema, mapping, export, key=workspace.load_key())
    assert (dry.batch_id, dry.staged, dry.quarantined) == (
        real.batch_id, real.staged, real.quarantined,
    )  # fmt: skip


def test_unchanged_notes_name_the_kept_mode_and_the_snapshot(
    tmp_path: Path, schema: Schema, workspace
) -> None:
    (tmp_path / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    mapping = find_mapping(tmp_path, "test-org", schema)
    header = "ID;Nombre;Notas;Edad;Fecha;Sexo;Nac;Secuestro;Control"
    files = []
    for name, first in (("a.csv", 1), ("b.csv", 50)):
        rows = [f"{i:03d};N;x;30;01/02/2021;Mujer;Perú;No;" for i in range(first, first + 5)]
        files.append(tmp_path / name)
        files[-1].write_bytes(("\n".join([header, *rows]) + "\n").encode("latin-1"))
    key = workspace.load_key()

    def ingest(path: Path, mode: str):
        return ingest_file(workspace, schema, mapping, path, key=key, mode=mode)

    a = ingest(files[0], "append")
    assert unchanged_notes(workspace, [a], "append") == []  # ingested, not unchanged
    again = ingest(files[0], "append")
    assert again.status == "unchanged" and unchanged_notes(workspace, [again], "append") == []
    [note] = unchanged_notes(workspace, [ingest(files[0], "snapshot")], "snapshot")
    assert note.startswith("a.csv: the same bytes again change nothing"), note
    assert "ingested as append, and stays so" in note
    b = ingest(files[1], "snapshot")
    [note] = unchanged_notes(workspace, [ingest(files[0], "append")], "append")
    assert f"stays superseded by snapshot {b.batch_id}" in note and a.batch_id in note


# -- the CLI package


@pytest.mark.parametrize("group", GROUPS)
def test_every_command_group_answers_help(group: str) -> None:
    result = CliRunner().invoke(app, [group, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and group in result.output


def test_every_command_is_registered() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    listed = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("│ ")}
    assert set(GROUPS) <= listed, listed


def test_cli_modules_are_small() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in CLI.glob("*.py")}
    assert {"__init__.py", "common.py"} <= set(sizes)
    assert not {name: n for name, n in sizes.items() if n > 200}, sizes
