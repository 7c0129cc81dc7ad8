"""Key identity: a lost or replaced key is caught, never replaced; rotation keeps one identity.

The reported attack: with the key file removed, ``ctdc init`` quietly made a
new key, and a re-export of the same organization was then released twice
(every person a second pseudonym). Here the key's fingerprint (stored beside
the key, in every ledger entry and every staging file) stops that, and a
rotation re-keys the staging so that re-exported persons are still recognized.
Real workspaces, real Parquet, the CLI in-process.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import Result

from conftest import TEST_ROWS, cli
from ctdc.errors import CtdcError
from ctdc.harmonize.merge import merge_staging
from ctdc.store import rotation as rotation_module
from ctdc.store.keys import chain_blob, fingerprint, parse_chain
from ctdc.store.ledger import live_entries, read_entries
from ctdc.store.pseudonym import pseudonym_digests, pseudonymize, rekey
from ctdc.store.rotation import key_history, staging_fingerprint
from ctdc.store.workspace import Workspace, open_workspace

HEADER = TEST_ROWS[0]
ORG = "test-org"
IDS = [f"{i:05d}" for i in range(1, 31)]


def export(folder: Path, name: str, ids: list[str], *, changed: str | None = None) -> Path:
    """A test-org export of ``ids`` (all valid); the row of ``changed`` has another age."""
    rows = [HEADER]
    for n, case_id in enumerate(ids):
        age = 99 if case_id == changed else 20 + n % 30
        rows.append(f"{case_id};Persona {case_id};nota;{age};01/02/2021;Mujer;Perú;No;")
    path = folder / name
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    return path


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def ingest(path: Path) -> Result:
    return cli("ingest", "--org", ORG, str(path), "--json", "--quiet")


def staged_pseudonyms(ws: Workspace) -> dict[str, set[str]]:
    return {
        p.stem: set(pq.read_table(p, columns=["case_pseudonym"])["case_pseudonym"].to_pylist())
        for p in sorted((ws.root / "staging").glob("*/*.parquet"))
    }


def merged(ws: Workspace) -> tuple[int, dict[str, int]]:
    """Records after harmonize's union and de-duplication, and duplicates merged per org."""
    entries, _ = live_entries(read_entries(ws))
    frame, dups = merge_staging(ws, entries)
    return len(frame), dups


def test_removed_key_then_init_is_refused_not_replaced(cli_project: Path) -> None:
    """The reported attack: rm the key, `ctdc init` -> a new key; now refused, nothing made."""
    ok(ingest(export(cli_project, "v1.csv", IDS)))
    ws = Workspace(cli_project / "data")
    before = ws.stored_fingerprint()
    ws.key_path.unlink()
    result = cli("init")
    assert result.exit_code == 3
    assert "error[missing-key]" in result.output and "refusing to make a new one" in result.output
    assert f"fingerprint {before}" in result.output and "docs/key.md" in result.output
    assert not ws.key_path.exists()
    # without the fingerprint file too: the staged data alone still refuses a new key
    ws.fingerprint_path.unlink()
    assert cli("init").exit_code == 3 and not ws.key_path.exists()


def test_init_refuses_staging_without_a_ledger_entry_and_key(cli_project: Path) -> None:
    """An orphan staging file (an ingest killed before its ledger entry) was made by a key too."""
    ok(ingest(export(cli_project, "v1.csv", IDS)))
    ws = Workspace(cli_project / "data")
    for entry in (ws.ledger_dir / ORG).glob("*.json"):
        entry.unlink()
    ws.key_path.unlink()
    ws.fingerprint_path.unlink()
    assert "error[missing-key]" in cli("init").output and not ws.key_path.exists()


@pytest.mark.slow
@pytest.mark.parametrize("also_remove_fingerprint", [False, True])
def test_replaced_key_is_refused_and_nobody_is_doubled(
    cli_project: Path, also_remove_fingerprint: bool
) -> None:
    """A new key put in place of the lost one: the re-export would double every person."""
    ok(ingest(export(cli_project, "v1.csv", IDS)))
    ws = Workspace(cli_project / "data")
    original = ws.key_path.read_bytes()
    ws.key_path.write_bytes(secrets.token_bytes(32))
    if also_remove_fingerprint:
        ws.fingerprint_path.unlink()  # the ledger entries still name the key
    result = ingest(export(cli_project, "v2.csv", IDS, changed=IDS[0]))
    assert result.exit_code == 3 and "error[key-mismatch]" in result.output
    assert fingerprint(original) in result.output  # the fix names the key to restore
    for command in (["quarantine", "list", "--org", ORG], ["key", "fingerprint"], ["init"]):
        assert "error[key-mismatch]" in cli(*command).output
    assert len(read_entries(ws)) == 1 and len(staged_pseudonyms(ws)) == 1
    # restoring the backed-up key is the fix: the re-export then merges with the first
    ws.key_path.write_bytes(original)
    ok(ingest(export(cli_project, "v2.csv", IDS, changed=IDS[0])))
    assert merged(ws) == (len(IDS), {ORG: len(IDS)})


def test_fingerprint_is_stored_everywhere_and_reveals_no_key(cli_project: Path) -> None:
    ok(ingest(export(cli_project, "v1.csv", IDS)))
    ws = Workspace(cli_project / "data")
    key = ws.key_path.read_bytes()
    fp = fingerprint(key)
    assert ws.stored_fingerprint() == fp and len(fp) == 16
    assert ws.fingerprint_path.stat().st_mode & 0o777 == 0o600
    assert key.hex()[:16] != fp and key.hex() not in ws.fingerprint_path.read_text()
    [entry] = read_entries(ws)
    assert entry.key_fingerprint == fp
    [staging] = (ws.root / "staging" / ORG).glob("*.parquet")
    assert staging_fingerprint(staging) == fp
    assert ok(cli("key", "fingerprint")).strip() == fp
    backup = cli_project / "backup.key"
    backup.write_bytes(key)
    os.chmod(backup, 0o600)
    assert ok(cli("key", "fingerprint", "--file", str(backup))).strip() == fp
    assert fp in ok(cli("init"))  # an existing workspace: kept, fingerprint shown


def test_a_workspace_from_before_fingerprints_gets_one_on_first_use(cli_project: Path) -> None:
    ok(ingest(export(cli_project, "v1.csv", IDS)))
    ws = Workspace(cli_project / "data")
    ws.fingerprint_path.unlink()
    for path in (ws.ledger_dir / ORG).glob("*.json"):  # an entry written before fingerprints
        doc = json.loads(path.read_text())
        del doc["key_fingerprint"]
        path.write_text(json.dumps(doc))
    open_workspace(ws.root)
    assert ws.stored_fingerprint() == fingerprint(ws.key_path.read_bytes())


def test_a_key_chain_macs_through_every_key() -> None:
    first, second = b"a" * 32, b"b" * 32
    chain = chain_blob([first, second])
    assert parse_chain(chain) == (first, second) and chain_blob([first]) == first
    ids = ["00123", "é", ""]
    assert pseudonymize(chain, ORG, ids) == rekey(second, pseudonymize(first, ORG, ids))
    assert [d.hex() for d in pseudonym_digests(chain, ORG, ids)] == pseudonymize(chain, ORG, ids)
    assert fingerprint(chain) != fingerprint(first)
    with pytest.raises(CtdcError) as err:
        parse_chain(chain[:-10])
    assert err.value.slug == "bad-key"


def test_rotation_keeps_one_identity_space(cli_project: Path) -> None:
    """ingest, rotate, re-ingest a re-export with one changed row: the same persons, merged."""
    ok(ingest(export(cli_project, "v1.csv", IDS)))
    ws = Workspace(cli_project / "data")
    old_key = ws.key_path.read_bytes()
    old_fp = fingerprint(old_key)
    out = ok(cli("key", "rotate"))
    new_key = ws.key_path.read_bytes()
    new_fp = fingerprint(new_key)
    assert new_fp != old_fp and f"{old_fp} -> {new_fp}" in out and "Back the key file up" in out
    assert parse_chain(new_key)[0] == old_key and len(parse_chain(new_key)) == 2
    assert ws.key_path.stat().st_mode & 0o777 == 0o600
    ok(ingest(export(cli_project, "v2.csv", IDS, changed=IDS[0])))
    assert merged(ws) == (len(IDS), {ORG: len(IDS)})  # duplicates merged, not doubled
    staged = staged_pseudonyms(ws)
    assert len(staged) == 2
    with_new = set(pseudonymize(new_key, ORG, IDS))
    with_old = set(pseudonymize(old_key, ORG, IDS))
    for pseudonyms in staged.values():
        assert pseudonyms == with_new
        assert not pseudonyms & with_old  # the old key alone links nothing any more
    # the fingerprint is the new one everywhere
    assert ws.stored_fingerprint() == new_fp == ok(cli("key", "fingerprint")).strip()
    assert {e.key_fingerprint for e in read_entries(ws)} == {new_fp}
    assert {staging_fingerprint(p) for p in (ws.root / "staging").glob("*/*.parquet")} == {new_fp}
    [record] = key_history(ws)
    assert (record["old_fingerprint"], record["new_fingerprint"]) == (old_fp, new_fp)
    assert record["by"] and record["at"] and record["staging_files"] == 1
    assert not ws.rotation_journal.exists() and not ws.next_key_path.exists()
    # an old backup put back is refused: it no longer made the staged data
    ws.key_path.write_bytes(old_key)
    assert "error[key-mismatch]" in ingest(export(cli_project, "v3.csv", IDS)).output


class Crash(Exception):
    """Stands for a kill in the middle of a rotation."""


def _crash_after_first(real: Callable[..., Any]) -> Callable[..., Any]:
    calls: list[int] = []

    def crashing(*args: Any, **kwargs: Any) -> Any:
        if calls:
            raise Crash
        calls.append(1)
        return real(*args, **kwargs)

    return crashing


@pytest.mark.slow
@pytest.mark.parametrize("where", ["staging", "ledger", "history"])
def test_an_interrupted_rotation_is_caught_and_resumed(
    cli_project: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Killed half-way: every command stops until `key rotate --resume`; no file re-keyed twice."""
    ok(ingest(export(cli_project, "v1.csv", IDS)))
    ok(ingest(export(cli_project, "v2.csv", IDS[:20] + [f"{i:05d}" for i in range(100, 110)])))
    ws = Workspace(cli_project / "data")
    target = {
        "staging": "rekey_file",
        "ledger": "set_key_fingerprint",
        "history": "record_rotation",
    }
    real = getattr(rotation_module, target[where])
    crash = _crash_after_first(real) if where != "history" else _always(Crash)
    monkeypatch.setattr(rotation_module, target[where], crash)
    with pytest.raises(Crash):
        rotation_module.rotate_key(ws)
    monkeypatch.setattr(rotation_module, target[where], real)
    assert ws.rotation_journal.exists()
    result = ingest(export(cli_project, "v3.csv", IDS))
    assert result.exit_code == 3 and "error[key-rotation-incomplete]" in result.output
    assert "--resume" in result.output
    assert "error[key-rotation-incomplete]" in cli("key", "rotate").output
    out = ok(cli("key", "rotate", "--resume"))
    key = ws.key_path.read_bytes()
    assert len(parse_chain(key)) == 2 and fingerprint(key) in out
    all_ids = IDS + [f"{i:05d}" for i in range(100, 110)]
    expected = set(pseudonymize(key, ORG, all_ids))
    for pseudonyms in staged_pseudonyms(ws).values():
        assert pseudonyms <= expected  # each file re-keyed exactly once
    assert len(key_history(ws)) == 1
    ok(ingest(export(cli_project, "v3.csv", IDS)))
    assert merged(ws)[0] == len(all_ids)


def _always(exc: type[Exception]) -> Callable[..., Any]:
    def raising(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return raising


def test_resume_without_an_interrupted_rotation_is_a_usage_error(cli_project: Path) -> None:
    result = cli("key", "rotate", "--resume")
    assert result.exit_code == 2 and "error[bad-option]" in result.output
