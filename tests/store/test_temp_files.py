"""Temp files cannot outlive a run: private while written, removed by the next writer or a purge.

The reported fault: kill ``ctdc ingest`` mid-run and
``quarantine/.<org>-<batch>.parquet.<x>.tmp`` remains, full of names, phones
and e-mails; it survived a successful re-run and ``ctdc quarantine purge``.
The kill test does exactly that, with a real process and SIGKILL, then reads
every byte of the workspace for a planted marker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import TEST_ROWS, cli
from ctdc.errors import CtdcError
from ctdc.ingest.stream import ParquetSink
from ctdc.quarantine import purge
from ctdc.store import writers
from ctdc.store.atomic import atomic_path, remove_stale_temps, write_json
from ctdc.store.lock import file_lock
from ctdc.store.workspace import Workspace, init_workspace
from ctdc.store.writers import sink_temp_prefix

ORG = "test-org"
MARKER = "QZX-PLANTED-7731"
HEADER = TEST_ROWS[0]


def export(path: Path, rows: int) -> Path:
    """A test-org export; the name (dropped) and notes (dropped) of every row hold the marker.

    Every 25th row has a bad age, so the quarantine (raw rows) is written from the first chunk.
    """
    lines = [HEADER]
    for i in range(rows):
        age = "veinte" if i % 25 == 0 else str(20 + i % 40)
        lines.append(f"{i:07d};{MARKER} Persona {i};{MARKER} vive en la calle {i};{age};"
                     "01/02/2021;Mujer;Perú;No;")  # fmt: skip
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


def marker_files(root: Path) -> list[Path]:
    """Every file under ``root`` holding the marker: in its raw bytes, or in a Parquet value."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        if MARKER.encode() in path.read_bytes():
            found.append(path)
        elif path.suffix == ".parquet":
            table = pq.read_table(path)
            text = [str(v) for col in table.columns for v in col.to_pylist() if v is not None]
            if any(MARKER in t for t in text):
                found.append(path)
    return found


@pytest.mark.slow
def test_a_killed_ingest_leaves_no_byte_of_raw_rows_after_a_rerun_and_a_purge(
    cli_project: Path,
) -> None:
    big = export(cli_project / "big.csv", 10_000)
    env = {k: v for k, v in os.environ.items() if k != "CTDC_HOME"}
    # a real process: small chunks so that it is mid-run, with temp files written, for seconds
    code = "import ctdc.limits as l; l.CHUNK_ROWS = 250; from ctdc.cli import main; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, "--data-dir", "data", "ingest",
                             "--org", ORG, big.name, "--quiet"], cwd=cli_project, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    data = cli_project / "data"
    deadline = time.monotonic() + 30
    try:
        while not marker_temps(data) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the ingest ended before it could be killed"
    planted = marker_temps(data)
    assert planted  # raw rows in a temp file, and the scan sees them
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in planted)
    assert all(p.parent.stat().st_mode & 0o777 == 0o700 for p in planted)
    rerun = cli("ingest", "--org", ORG, big.name, "--json")
    assert rerun.exit_code == 0, rerun.output
    assert not marker_temps(data)  # the re-run, under its lock, removed the stale temps
    assert marker_files(data)  # the quarantine now holds the bad rows, as it should
    assert cli("quarantine", "purge", "--org", ORG, "--yes").exit_code == 0
    assert marker_files(data) == []


def marker_temps(data: Path) -> list[Path]:
    return [p for p in data.rglob("*.tmp") if p.is_file() and MARKER.encode() in p.read_bytes()]


def _plant(path: Path, content: bytes = MARKER.encode()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def stale_temps(ws: Workspace, org: str) -> list[Path]:
    """One stale temp file of every kind an ingest of ``org`` writes, as a kill leaves them."""
    batch = "0123456789abcdef"
    return [
        _plant(ws.root / "quarantine" / f".{org}-{batch}.parquet.ab12_cd.tmp"),
        _plant(ws.root / "staging" / f".{org}-{batch}.parquet.zz99xx.tmp"),
        _plant(ws.ledger_dir / org / f".{batch}.json.k3y_x1.tmp"),
        _plant(ws.staging_dir(org) / f".{batch}.parquet.q1w2e3.tmp"),
        _plant(ws.quarantine_dir(org) / f".{batch}.parquet.r4t5y6.tmp"),
    ]


def test_an_ingest_removes_its_own_organizations_stale_temps_only(cli_project: Path) -> None:
    ws = Workspace(cli_project / "data")
    mine = stale_temps(ws, ORG)
    # another organization, whose id starts like this one's: its ingest may be running
    theirs = stale_temps(ws, f"{ORG}-bis")
    result = cli("ingest", "--org", ORG, str(export(cli_project / "small.csv", 40)), "--json")
    assert result.exit_code == 0, result.output
    assert [p for p in mine if p.exists()] == []
    assert all(p.exists() for p in theirs)


def test_purge_removes_quarantine_temps_and_says_so(cli_project: Path) -> None:
    ws = Workspace(cli_project / "data")
    temp = _plant(ws.root / "quarantine" / f".{ORG}-0123456789abcdef.parquet.ab12_cd.tmp")
    listed = cli("quarantine", "list", "--org", ORG)
    assert listed.exit_code == 0
    assert "unfinished quarantine file(s)" in listed.output and "raw rows" in listed.output
    assert "no quarantined rows" not in listed.output
    purged = cli("quarantine", "purge", "--org", ORG, "--yes")
    assert purged.exit_code == 0, purged.output
    assert "1 unfinished file(s) of interrupted ingests" in purged.output
    assert not temp.exists()
    assert "no quarantined rows for test-org" in cli("quarantine", "list", "--org", ORG).output


def test_a_running_writers_temp_is_never_removed(cli_project: Path, monkeypatch) -> None:
    """Cleaning happens only under the organization's lock: a live ingest keeps its temp."""
    monkeypatch.setattr(writers, "WRITER_WAIT", 0.0)  # refused at once, not after 2 s
    ws = Workspace(cli_project / "data")
    temp = _plant(ws.root / "quarantine" / f".{ORG}-0123456789abcdef.parquet.ab12_cd.tmp")
    with file_lock(ws.org_lock_path(ORG)):  # an ingest of the organization is running
        with pytest.raises(CtdcError) as err:
            purge(ws, ORG, wait=0.0)
        assert err.value.slug == "locked"
        result = cli("ingest", "--org", ORG, str(export(cli_project / "small.csv", 40)))
        assert result.exit_code == 3 and "error[locked]" in result.output
    assert temp.exists()
    with file_lock(ws.ingest_lock_path):  # a key rotation is running
        with pytest.raises(CtdcError) as err:
            purge(ws, ORG, wait=0.0)
        assert err.value.slug == "locked"
    assert temp.exists()


def test_init_removes_a_stale_key_temp(cli_project: Path) -> None:
    ws = Workspace(cli_project / "data")
    temp = _plant(ws.root / ".pseudonym.key.ab_12x.tmp", os.urandom(32))
    assert cli("init").exit_code == 0
    assert not temp.exists()


def test_temp_files_are_0600_in_0700_folders_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        ws, _ = init_workspace(tmp_path / "data")
        with atomic_path(tmp_path / "fresh" / "deeper" / "x.json") as tmp:
            tmp.write_text("{}")
            assert tmp.stat().st_mode & 0o777 == 0o600
            assert tmp.parent.stat().st_mode & 0o777 == 0o700
            assert tmp.parent.parent.stat().st_mode & 0o777 == 0o700
        target = ws.staging_dir("an-org") / "0123456789abcdef.parquet"
        sink = ParquetSink(target, pa.schema([("a", pa.string())]), prepare=ws.private_dir)
        sink.write(pa.table({"a": ["x"]}))
        (temp,) = target.parent.parent.glob(sink_temp_prefix(target) + "*")
        assert temp.stat().st_mode & 0o777 == 0o600
        assert temp.parent.stat().st_mode & 0o777 == 0o700
        sink.publish()
        assert target.stat().st_mode & 0o777 == 0o600
        assert target.parent.stat().st_mode & 0o777 == 0o700
        write_json(ws.ledger_dir / "an-org" / "entry.json", {"a": 1})
        assert (ws.ledger_dir / "an-org").stat().st_mode & 0o777 == 0o700
        for lock in (ws.ingest_lock_path, ws.org_lock_path("an-org")):
            with file_lock(lock):
                assert lock.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_remove_stale_temps_never_follows_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    kept = _plant(outside / "precious.txt", b"keep me")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / ".a.parquet.x1.tmp").symlink_to(outside)
    (folder / ".b.parquet.x2.tmp").symlink_to(kept)
    _plant(folder / "real.parquet")
    assert remove_stale_temps(folder, r"\..*\.tmp") == 2
    assert kept.read_bytes() == b"keep me" and (folder / "real.parquet").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["real.parquet"]


def test_the_pipelines_duckdb_spills_to_a_private_folder_not_the_working_directory() -> None:
    """Staged rows a merge spills must not land in ./.tmp wherever the operator ran ctdc."""
    from ctdc.scratch import scratch_connection

    with scratch_connection() as con:
        (spill,) = con.execute("SELECT current_setting('temp_directory')").fetchone()
    folder = Path(spill)
    assert folder.is_absolute() and folder.name.startswith("ctdc-scratch-")
    assert folder.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("setting", [None, "on", "off"])
def test_a_write_fsyncs_the_file_and_its_folder_unless_fsync_is_off(
    tmp_path: Path, monkeypatch, setting: str | None
) -> None:
    """The default is durable; ``CTDC_FSYNC=off`` (the suite's own setting, for throwaway
    workspaces) skips the fsyncs and keeps the atomic rename."""
    if setting is None:
        monkeypatch.delenv("CTDC_FSYNC", raising=False)
    else:
        monkeypatch.setenv("CTDC_FSYNC", setting)
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    write_json(tmp_path / "x.json", {"a": 1})
    assert (tmp_path / "x.json").read_text(encoding="utf-8") == '{\n  "a": 1\n}\n'
    assert not list(tmp_path.glob(".*.tmp"))
    assert len(synced) == (0 if setting == "off" else 2)  # the file, then its folder
