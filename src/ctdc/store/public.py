"""The public folder: the only files analysts may read, kept apart from the private workspace.

Layout (``<public>`` is ``<data>/public`` unless the steward sets ``publish_dir``)::

    <public>/current -> releases/<id>      relative symlink, swapped with os.replace
    <public>/releases/<id>/cases.parquet   the same bytes as the private copy
    <public>/releases/<id>/dictionary.parquet
    <public>/releases/<id>/manifest.json   the *public* manifest (no export hashes,
                                           no per-organization figures, rounded counts)
    <public>/releases/<id>/hierarchy_<field>.parquet   one per hierarchical quasi-identifier:
                                           a row per leaf, a column per level
    <public>/views.sql                     the same views as SQL, paths relative to <public>
    <public>/catalog.duckdb                DuckDB views over the public folder

The key, staging, quarantine, ledger and the full manifest never come here,
so an analyst needs neither the key nor any right on the workspace: the
query sandbox is a second wall, not the only one.

A release is built in ``releases/.tmp-*`` (0700, so nobody reads a half
copy), its files made ``mode`` minus the x bits, renamed into place and made
current by one symlink swap. Folders get ``mode`` (0755 for everyone, 0750
for an analysts' group); nothing here depends on the umask.

Inside the workspace the public folder can only be ``<data>/public``: any
other place there would share a folder with private files. Outside it, it
may be anywhere that neither is nor contains the workspace.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctdc.errors import CtdcError
from ctdc.slugs import Slug
from ctdc.store.atomic import (
    fsync_dir,
    fsync_file,
    remove_stale_temps,
    seal_folder,
    swap_current,
    write_json,
)
from ctdc.store.synthetic_area import SYNTHETIC_CASES, SYNTHETIC_DIR

PUBLIC_DIR = "public"
DEFAULT_PUBLIC_MODE = 0o755
CATALOG_FILE = "catalog.duckdb"
#: the catalog's views as SQL with paths relative to the public folder (``store/catalog.py``)
VIEWS_FILE = "views.sql"
#: the public report (``ctdc report``) in the folder's root; removed when a new release is
#: published, so that it never describes a release that is no longer current
REPORT_FILE = "report.html"
#: a release's hierarchy tables (``ctdc.package.hierarchies``): one per field with levels
HIERARCHY_FILE = re.compile(r"hierarchy_[a-z][a-z0-9_]*\.parquet")
#: differentially private tables (``ctdc stats --dp``, ``ctdc.dp``): ``dp/<name>.parquet`` and
#: its ``<name>.json`` sidecar in the folder's root, kept across releases (each names its own)
DP_DIR = "dp"
DP_FILE = re.compile(r"\d{8}T\d{6}Z-[a-z0-9][a-z0-9_-]*\.(parquet|json)")
#: temp names of a release folder being built (here and in the private ``releases/``)
STALE_RELEASE = r"\.tmp-.+"
#: temp names of the ``current`` link and the catalog (``.<name>.<pid>.tmp``), and of
#: ``views.sql`` (``store.atomic``'s ``.<name>.<random>.tmp``), beside them
STALE_LINK_OR_CATALOG = r"\.(current|catalog\.duckdb)\.\d+\.tmp|\.views\.sql\.[A-Za-z0-9_]+\.tmp"


#: writes a release's derived files (hierarchy tables, the data package) into the folder it
#: is given, which holds copies of the release's data files (``ctdc.package.write_package``)
Build = Callable[[Path], object]


@dataclass(frozen=True)
class PublicArea:
    """Where and with which mode a workspace publishes."""

    root: Path
    mode: int = DEFAULT_PUBLIC_MODE

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    @property
    def catalog_path(self) -> Path:
        return self.root / CATALOG_FILE

    @property
    def views_path(self) -> Path:
        return self.root / VIEWS_FILE

    @property
    def file_mode(self) -> int:
        """Files get the folders' mode without execute bits (0644, or 0640 for a group)."""
        return self.mode & ~0o111


def hierarchy_file(field: str) -> str:
    """The file name of ``field``'s hierarchy table: ``hierarchy_citizenship.parquet``."""
    return f"hierarchy_{field}.parquet"


def hierarchy_view(file_name: str) -> str:
    """The view that reads a hierarchy table: its file name without ``.parquet``."""
    return file_name.removesuffix(".parquet")


def hierarchy_files(folder: Path) -> list[str]:
    """The hierarchy tables of the release ``folder``: regular files only, sorted by name.

    A symlink planted under such a name is left out: the catalog and the query
    sandbox must never make it a path to whatever it points at.
    """
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(e.name for e in entries if HIERARCHY_FILE.fullmatch(e.name)
                  and stat.S_ISREG(e.stat(follow_symlinks=False).st_mode))  # fmt: skip


def public_area(ws_root: Path, publish_dir: Path | None = None,
                mode: int = DEFAULT_PUBLIC_MODE) -> PublicArea:  # fmt: skip
    """The public folder of the workspace at ``ws_root``, checked for overlap and mode.

    Raises ``unsafe-publish-dir`` when the folder is the workspace, contains it,
    or lies inside it anywhere but ``<data>/public``; ``bad-option`` for a mode
    that would let anyone but the owner write, or the owner not read.
    """
    if mode & ~0o755 or mode & 0o700 != 0o700:
        raise CtdcError(Slug.BAD_OPTION, f"public_mode {mode:04o}: use 0755 (everyone may read), "
                        "0750 (the folder's group may read) or 0700 (owner only)")  # fmt: skip
    root = Path(publish_dir) if publish_dir is not None else ws_root / PUBLIC_DIR
    check_publish_dir(ws_root, root)
    return PublicArea(root, mode)


def check_publish_dir(ws_root: Path, public_root: Path) -> None:
    """Refuse a public folder that shares a folder with the private workspace."""
    ws = ws_root.resolve()
    pub = public_root.resolve()
    if pub == ws or ws.is_relative_to(pub):
        raise CtdcError(Slug.UNSAFE_PUBLISH_DIR, f"publish_dir {public_root} is or contains the "
                        f"workspace {ws_root}", file=public_root)  # fmt: skip
    if pub.is_relative_to(ws) and pub != ws / PUBLIC_DIR:
        raise CtdcError(Slug.UNSAFE_PUBLISH_DIR, f"publish_dir {public_root} is inside the "
                        f"workspace; there it can only be {ws_root / PUBLIC_DIR}",
                        file=public_root)  # fmt: skip


def is_inside(ws_root: Path, area: PublicArea) -> bool:
    return area.root.resolve().is_relative_to(ws_root.resolve())


def workspace_root_mode(ws_root: Path, area: PublicArea) -> int:
    """0711/0710 when analysts must traverse the workspace root to reach the public folder.

    Execute without read: they can open ``public/`` by name but never list the
    root. With the public folder elsewhere the root stays 0700.
    """
    if not is_inside(ws_root, area):
        return 0o700
    group = 0o010 if area.mode & 0o050 else 0
    other = 0o001 if area.mode & 0o005 else 0
    return 0o700 | group | other


def prepare(area: PublicArea, ws_root: Path) -> None:
    """Create the public folder with its mode, fix older modes, remove stale temps.

    Runs under the harmonize lock before every publish. Modes are set with
    ``chmod``, never left to the umask, and re-applied to everything already
    public (kept releases, the catalog, the DP tables, the synthetic folders, a
    public report) so that a changed ``public_mode`` (0755 -> 0750) takes effect
    at once.
    """
    area.root.mkdir(parents=True, exist_ok=True)
    os.chmod(ws_root, workspace_root_mode(ws_root, area))
    area.releases_dir.mkdir(exist_ok=True)
    remove_stale_temps(area.releases_dir, STALE_RELEASE)  # under the harmonize lock
    remove_stale_temps(area.root, STALE_LINK_OR_CATALOG)
    reapply_modes(area)


def reapply_modes(area: PublicArea) -> None:
    """Give every folder and regular file of the public folder the area's modes.

    Symlinks (``current``) are left alone, as ``chmod`` would follow them, and so are
    hidden entries: a ``.tmp-*`` folder another command is building stays 0700 until
    it is sealed, whatever the mode of the folder around it.
    """
    os.chmod(area.root, area.mode)
    for folder, dirs, files in os.walk(area.root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not d.startswith(".") and not (here / d).is_symlink()]
        for d in dirs:
            os.chmod(here / d, area.mode)
        for name in files:
            path = here / name
            if not name.startswith(".") and not path.is_symlink() and path.is_file():
                os.chmod(path, area.file_mode)


@dataclass(frozen=True)
class PublicProducts:
    """The differentially private products of a public folder, for analysts' views."""

    #: the current synthetic table (``synthetic/<id>/cases.parquet``), resolved
    synthetic: Path | None = None
    #: every DP table (``dp/<name>.parquet``), in name order (oldest first)
    dp_tables: tuple[Path, ...] = ()


def _regular(path: Path) -> bool:
    """A regular file, not a symlink to one (``os.lstat``), and not missing."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def public_products(root: Path) -> PublicProducts:
    """The DP products under ``root``, resolved once and regular files only.

    As for a release's own files, a symlink planted as a table would widen what a
    query sandbox may open, so it is left out; so is a ``synthetic/current`` that
    points outside ``synthetic/`` or at a hidden (``.tmp-*``) folder.
    """
    root = Path(os.path.realpath(root))
    synthetic = None
    link = root / SYNTHETIC_DIR / "current"
    if link.is_symlink():
        folder = Path(os.path.realpath(link))
        table = folder / SYNTHETIC_CASES
        if folder.parent == root / SYNTHETIC_DIR and not folder.name.startswith(".") \
                and _regular(table):  # fmt: skip
            synthetic = table
    dp = root / DP_DIR
    found = dp.iterdir() if dp.is_dir() and not dp.is_symlink() else iter(())
    tables = sorted(p for p in found if p.suffix == ".parquet" and DP_FILE.fullmatch(p.name)
                    and _regular(p))  # fmt: skip
    return PublicProducts(synthetic, tuple(tables))


def current_public_release(root: Path) -> Path | None:
    """The release folder ``<public>/current`` points at, or None before the first publish."""
    link = root / "current"
    if not link.is_symlink():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


def publish_public(area: PublicArea, release_id: str, files: Mapping[str, Path],
                   manifest: dict[str, Any], manifest_name: str,
                   build: Build | None = None) -> Path:  # fmt: skip
    """Copy ``files`` (name -> private source), ``build`` the derived files beside them and
    write ``manifest``; make the release current.

    The copy is built in a 0700 ``releases/.tmp-*`` folder and renamed only when
    complete. A release folder that already exists (a re-publish after a crash
    between the private and the public step) is complete by construction: it is
    reused, not rewritten (:func:`complete_public` adds what an older ctdc did
    not publish).
    """
    final = area.releases_dir / release_id
    if not final.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=area.releases_dir))
        try:
            for name, source in files.items():
                shutil.copyfile(source, tmp / name)
            if build is not None:
                build(tmp)
            write_json(tmp / manifest_name, manifest, mode=area.file_mode)
            seal_folder(tmp, final, mode=area.mode, file_mode=area.file_mode)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    swap_current(area.root, release_id)
    return final


def complete_public(area: PublicArea, folder: Path, expected: Collection[str],
                    sources: Collection[str], build: Build) -> list[str]:  # fmt: skip
    """Add to the published ``folder`` the ``expected`` derived files it lacks; their names.

    For a release published by a ctdc that did not make them yet. They are
    built from copies of the release's own ``sources`` (its data files) in a
    0700 ``releases/.tmp-*`` folder, then each is renamed into ``folder``, so a
    reader sees a file whole or not at all. A file already there is never
    rewritten.
    """
    missing = sorted(name for name in expected if not os.path.lexists(folder / name))
    if not missing:
        return []
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=area.releases_dir))
    try:
        for name in sources:
            shutil.copyfile(folder / name, tmp / name)
        build(tmp)
        for name in missing:
            os.chmod(tmp / name, area.file_mode)
            with open(tmp / name, "rb") as fh:
                fsync_file(fh.fileno())
            os.rename(tmp / name, folder / name)
        fsync_dir(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return missing


def prune(area: PublicArea, keep: int) -> list[str]:
    """Keep the current release and the ``keep - 1`` newest others; return the removed ids.

    Release ids start with their UTC time, so name order is age order. Only
    the public copies go: the private ones stay in the workspace.
    """
    if keep < 1:
        raise CtdcError(Slug.BAD_OPTION, f"keep_public must be at least 1, got {keep}")
    current = current_public_release(area.root)
    keep_name = current.name if current is not None else None  # names: root may be relative
    others = sorted(
        (p for p in area.releases_dir.iterdir()
         if p.is_dir() and not p.name.startswith(".") and p.name != keep_name),
        key=lambda p: p.name, reverse=True,
    )  # fmt: skip
    removed = []
    for old in others[keep - 1 :]:
        shutil.rmtree(old)
        removed.append(old.name)
    if removed:
        fsync_dir(area.releases_dir)
    return removed
