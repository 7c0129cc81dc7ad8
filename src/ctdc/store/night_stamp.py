"""A stamp of everything a harmonize reads, so that a night with nothing new ends at once.

``harmonize`` knows before it merges when its inputs are the current release's (the
input digest of :mod:`ctdc.harmonize.series_run`), but that digest needs the schema,
the policy and the data stack, over a second of imports. This stamp needs the standard
library only. It hashes the workspace as the last harmonize left it: every file's path,
mode and size, the bytes of small files and the modification time of large ones, the
target of every symlink, the same over the public folder, plus the run's options,
ctdc's version, and the day while records are held (their wait decides what is
published). It leaves out what no release depends on: the logs, the locks, itself, the
private reports, the privacy-budget ledger and the key's backup record, and
in the public folder what harmonize neither reads nor writes on such a night: the HTML
report (written after a harmonize) and the DP products (``dp/``, ``synthetic/``). The
catalog is in: the first DP table and the first synthetic table each add a view to it
(``store.catalog.refresh_catalog``), so the night after each runs the full check once.

A run whose stamp is the stamp left by the last one, with no quarantined row or archived
export due for the retention purge, would compute the same input digest: it says
``unchanged`` and stops. Anything else (an ingest, a withdrawal, a policy change, a
rollback, a key whose mode changed, a removed public copy) runs the
full harmonize, which checks the inputs itself and writes the stamp again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ctdc import __version__

#: the stamp file, in the workspace
STAMP_FILE = "last-harmonize.json"
#: top-level names of the workspace no release depends on
_LEFT_OUT = {
    "logs",
    STAMP_FILE,
    f".{STAMP_FILE}.tmp",
    "harmonize.lock",
    "ingest.lock",
    # written beside harmonize, never read by it: private reports, the DP budget
    # ledger, the key's backup record
    "reports",
    "privacy-budget.jsonl",
    "key-backup.json",
}
#: top-level names of the public folder harmonize neither reads nor writes on a night with
#: nothing new: the report (`ctdc report`, written after a harmonize), the DP products
_PUBLIC_LEFT_OUT = {"report.html", "dp", "synthetic"}
#: files up to this size are hashed by content, larger ones (Parquet) by modification time
_SMALL = 1 << 20
_DAY = 86_400


def _entries(top: Path, left_out: set[str]) -> Iterator[str]:
    """One line per file, folder and symlink under ``top``, sorted, relative to it, but for
    the top-level names ``left_out``."""
    if not top.exists() and not top.is_symlink():
        return
    for folder, dirs, files in os.walk(top):
        here = Path(folder)
        if here == top:
            dirs[:] = [d for d in dirs if d not in left_out]
            files = [f for f in files if f not in left_out and not f.endswith(".lock")]
        dirs.sort()
        for name in sorted([*dirs, *files]):
            path = here / name
            st = path.lstat()
            rel = path.relative_to(top).as_posix()
            if path.is_symlink():
                yield f"{rel} -> {os.readlink(path)}"
            elif path.is_dir():
                yield f"{rel}/ {st.st_mode:o}"
            elif st.st_size <= _SMALL:
                yield f"{rel} {st.st_mode:o} {hashlib.sha256(path.read_bytes()).hexdigest()}"
            else:
                yield f"{rel} {st.st_mode:o} {st.st_size} {st.st_mtime_ns}"


def night_digest(root: Path, public: Path, options: Mapping[str, Any], day: str | None) -> str:
    """The stamp of the workspace ``root``, its public folder and one run's ``options``."""
    h = hashlib.sha256(json.dumps([__version__, dict(options), day], sort_keys=True).encode())
    inside = {public.name} if public.absolute().parent == root.absolute() else set()
    for label, folder, left_out in (("workspace", root, _LEFT_OUT | inside),  # walked apart:
                                    ("public", public, _PUBLIC_LEFT_OUT)):  # fmt: skip
        h.update(f"\n[{label}]\n".encode())
        for line in _entries(folder, left_out):
            h.update(line.encode() + b"\n")
    return h.hexdigest()


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def write_stamp(root: Path, public: Path, options: Mapping[str, Any], *, held: bool,
                retention_days: int, release_id: str, public_path: Path) -> None:  # fmt: skip
    """After a harmonize (published or unchanged), under its lock: what the next night
    compares. A failure to write it costs the next night its shortcut, nothing more."""
    tmp, stamp = root / f".{STAMP_FILE}.tmp", root / STAMP_FILE
    try:  # a file gone mid-walk (an ingest's temp file): no stamp, the next night runs in full
        doc = {"digest": night_digest(root, public, options, today() if held else None),
               "held": held, "retention_days": retention_days,
               "public": str(public.absolute()), "release_id": release_id,
               "public_path": str(public_path.absolute())}  # fmt: skip
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # private, as the rest
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(doc))
        os.replace(tmp, stamp)
    except OSError:
        tmp.unlink(missing_ok=True)
        stamp.unlink(missing_ok=True)


def _due(root: Path, retention_days: int, now: float) -> bool:
    """Whether a quarantined row or an archived export is due for the retention purge."""
    cutoff = now - retention_days * _DAY
    for sub in ("quarantine", "archive"):
        for folder, _dirs, files in os.walk(root / sub):
            if any(os.lstat(os.path.join(folder, f)).st_mtime < cutoff for f in files):
                return True
    return False


def unchanged_night(root: Path, options: Mapping[str, Any]) -> dict[str, Any] | None:
    """The last harmonize's stamp when nothing it read has changed since, else None."""
    try:
        doc = json.loads((root / STAMP_FILE).read_text(encoding="utf-8"))
        public = Path(doc["public"])
        day = today() if doc["held"] else None
        if _due(root, int(doc["retention_days"]), dt.datetime.now(dt.UTC).timestamp()):
            return None
        same = night_digest(root, public, options, day) == doc["digest"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return doc if same else None


def night_options(k: int | None, l: int | None, levels: Mapping[str, int | None] | None,  # noqa: E741
                  publish_dir: Path | None = None, public_mode: int | None = None,
                  keep_public: int | None = None) -> dict[str, Any]:  # fmt: skip
    """One run's options as the stamp holds them (the CLI and the library build them alike)."""
    return {"k": k, "l": l, "levels": dict(levels or {}),
            "publish_dir": str(publish_dir) if publish_dir is not None else None,
            "public_mode": public_mode, "keep_public": keep_public}  # fmt: skip


def schema_is_pinned(configured: Path, root: Path, bundled: Path) -> bool:
    """Whether the schema a command is configured with is, byte for byte, the workspace's
    pinned copy (``policy/schema``: the schema file and its hierarchies), or the bundled one.

    Otherwise the full run warns that the configured schema changes nothing
    (``ctdc.store.resolve.schema_in_use``), and a quick night would not say it.
    """
    if configured.resolve() == bundled.resolve():
        return True
    pinned = root / "policy" / "schema"
    try:
        name = json.loads((root / "policy" / "policy.json").read_text("utf-8"))["schema_file"]
        if configured.read_bytes() != (pinned / name).read_bytes():
            return False
        tables = pinned / "hierarchies"
        for path in tables.rglob("*") if tables.is_dir() else ():
            if path.is_file():
                local = configured.parent / "hierarchies" / path.relative_to(tables)
                if local.read_bytes() != path.read_bytes():
                    return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True
