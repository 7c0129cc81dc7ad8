"""The workspace and its key: created private, refused when missing or exposed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ctdc.errors import CtdcError
from ctdc.store.workspace import init_workspace, open_workspace


def test_init_creates_a_private_32_byte_key(tmp_path: Path) -> None:
    ws, created = init_workspace(tmp_path / "d")
    assert created
    assert ws.key_path.stat().st_mode & 0o777 == 0o600
    assert len(ws.key_path.read_bytes()) == 32
    assert ws.root.stat().st_mode & 0o777 == 0o711  # traversable to public/, not listable


def test_init_never_overwrites_a_key(tmp_path: Path) -> None:
    ws, _ = init_workspace(tmp_path / "d")
    key = ws.key_path.read_bytes()
    _, created = init_workspace(tmp_path / "d")
    assert not created and ws.key_path.read_bytes() == key


def test_missing_key_is_refused(tmp_path: Path) -> None:
    ws, _ = init_workspace(tmp_path / "d")
    ws.key_path.unlink()
    with pytest.raises(CtdcError) as err:
        open_workspace(ws.root)
    assert err.value.slug == "missing-key" and err.value.exit_code == 3


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    ws, _ = init_workspace(tmp_path / "d")
    os.chmod(ws.key_path, 0o644)
    with pytest.raises(CtdcError) as err:
        open_workspace(ws.root)
    assert err.value.slug == "unsafe-key" and "chmod 600" in err.value.message()


def test_short_key_is_refused(tmp_path: Path) -> None:
    ws, _ = init_workspace(tmp_path / "d")
    ws.key_path.write_bytes(b"short")
    with pytest.raises(CtdcError) as err:
        open_workspace(ws.root)
    assert err.value.slug == "bad-key"


def test_no_workspace(tmp_path: Path) -> None:
    with pytest.raises(CtdcError) as err:
        open_workspace(tmp_path / "nowhere")
    assert err.value.slug == "no-workspace"
