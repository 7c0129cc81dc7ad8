"""The sandboxed DuckDB connection: it reads the current release's Parquet files, nothing else.

Built from DuckDB's own switches, set before the first query and then locked:

* ``allowed_paths`` holds exactly ``cases.parquet``, ``dictionary.parquet`` and
  the hierarchy tables (``hierarchy_<field>.parquet``, regular files only) of
  the release ``<public>/current`` points at, and the differentially private
  products beside it (the current synthetic table, the DP tables), resolved
  once here (so a later swap of ``current`` or a symlink cannot widen it); no
  ``allowed_directories``; ``enable_external_access = false`` then refuses
  every other path, glob, URL and extension download;
* the temp directory is a fresh ``mkdtemp`` (0700) in the system temp folder,
  removed on close. DuckDB allows reading its temp directory, and its default
  is ``.tmp`` under the current directory: a ``.tmp`` symlink there once
  opened the whole workspace. The fresh folder is never under the current
  directory and holds only DuckDB's own spill files;
* no extension is installed or loaded automatically, Python objects are not
  scanned as tables, persistent secrets are off;
* ``memory_limit``, ``threads`` and ``max_temp_directory_size`` bound the
  work; the timeout is enforced by the caller with ``interrupt()``;
* ``lock_configuration = true`` last, so no SET, RESET or PRAGMA can undo any of it.

``release_log`` is filled from the public manifests by ctdc itself
(``release_log.py``), so DuckDB needs no path beyond the current release.
The same code works on any folder with the ``current -> releases/<id>``
layout: the public folder, or a workspace root.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ctdc.errors import CtdcError
from ctdc.query import release_log
from ctdc.store.catalog import dp_counts_view
from ctdc.store.public import PublicProducts, hierarchy_files, hierarchy_view, public_products
from ctdc.store.release import CASES_FILE, DICTIONARY_FILE

#: the views (and table) every sandbox has; :func:`sandbox_views` adds the release's
#: hierarchy tables (``hierarchy_<field>``) and, once they exist, ``synthetic_cases`` and
#: ``dp_counts``
VIEWS = frozenset({"cases", "dictionary", "release_log"})
TEMP_PREFIX = "ctdc-query-"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one query; the defaults suit a release of ~10^6 records."""

    timeout: float = 60.0
    """seconds before the query is interrupted"""
    memory_limit: str = "1GB"
    threads: int = 2
    max_temp_size: str = "1GB"
    """spill space in the private temp folder"""
    max_rows: int = 2_000_000
    """rows a result may have; a larger one is refused rather than filling memory"""


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class PublicRelease:
    """The exact files of the release ``<public>/current`` points at, resolved once."""

    folder: Path
    cases: Path
    dictionary: Path
    #: the hierarchy tables, by view name (``hierarchy_citizenship``)
    hierarchies: dict[str, Path] = field(default_factory=dict)
    #: the DP products beside the release
    products: PublicProducts = field(default_factory=PublicProducts)

    @property
    def paths(self) -> list[str]:
        """Every file the sandbox lets DuckDB open."""
        synthetic = [self.products.synthetic] if self.products.synthetic is not None else []
        files = (self.cases, self.dictionary, *self.hierarchies.values(), *synthetic,
                 *self.products.dp_tables)  # fmt: skip
        return [str(p) for p in files]


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def resolve_release(public_root: Path) -> PublicRelease:
    """Resolve ``<public_root>/current`` to a published release folder and its files.

    Refuses (``no-release``) a missing link, a target outside ``releases/`` or
    in a hidden (``.tmp-*``) folder, and release files that are not regular
    files: a symlink planted as ``cases.parquet`` would otherwise become an
    allowed path to whatever it points at. A symlink named like a hierarchy
    table is left out for the same reason.
    """
    root = Path(os.path.realpath(public_root))
    link = root / "current"
    if not link.is_symlink():
        raise CtdcError("no-release", f"no current release in {public_root} (set --public-dir "
                        "or CTDC_PUBLIC_DIR to the public folder)")  # fmt: skip
    folder = Path(os.path.realpath(link))
    releases = root / "releases"
    if folder.parent != releases or folder.name.startswith(".") or not folder.is_dir():
        raise CtdcError("no-release", f"{link} does not point at a published release "
                        f"in {releases}")  # fmt: skip
    files = {}
    for name in (CASES_FILE, DICTIONARY_FILE):
        path = folder / name
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            mode = 0
        if not stat.S_ISREG(mode):
            raise CtdcError("no-release", f"release {folder.name} has no regular file {name}")
        files[name] = path
    tables = {hierarchy_view(name): folder / name for name in hierarchy_files(folder)}
    return PublicRelease(folder, files[CASES_FILE], files[DICTIONARY_FILE], tables,
                         public_products(root))  # fmt: skip


def sandbox_views(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The names an analyst's SQL may read on ``con``: :data:`VIEWS` and the views
    :func:`open_sandbox` made for its release (it makes no view an analyst may not read)."""
    made = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal "
                       "AND database_name = 'memory'").fetchall()  # fmt: skip
    return VIEWS | {name for (name,) in made}


def _config(temp_dir: Path, limits: Limits) -> dict[str, str | bool | int | float | list[str]]:
    """Settings DuckDB accepts at connect time (``allowed_paths`` must wait for a started DB)."""
    return {
        "temp_directory": str(temp_dir),
        "max_temp_directory_size": limits.max_temp_size,
        "memory_limit": limits.memory_limit,
        "threads": limits.threads,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "allow_unsigned_extensions": False,
        "allow_persistent_secrets": False,
        "python_enable_replacements": False,
    }


def _product_views(con: duckdb.DuckDBPyConnection, products: PublicProducts) -> None:
    """``synthetic_cases`` and ``dp_counts`` over the exact files resolved, no glob."""
    if products.synthetic is not None:
        con.execute("CREATE VIEW synthetic_cases AS SELECT * FROM "
                    f"read_parquet({_literal(products.synthetic)})")  # fmt: skip
    if products.dp_tables:
        files = ", ".join(_literal(p) for p in products.dp_tables)
        con.execute(dp_counts_view(f"[{files}]"))


@contextmanager
def open_sandbox(public_root: Path, limits: Limits = DEFAULT_LIMITS
                 ) -> Iterator[duckdb.DuckDBPyConnection]:  # fmt: skip
    """An in-memory connection with ``cases``, ``dictionary``, ``release_log`` and the release's
    hierarchy views, locked down.

    Needs only read access to the public folder: no key, no workspace.
    """
    release = resolve_release(public_root)
    temp_dir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    try:
        con = duckdb.connect(":memory:", config=_config(temp_dir, limits))
        try:
            con.execute("SET allowed_paths = ?", [release.paths])
            con.execute("SET allowed_directories = []")
            con.execute("SET enable_external_access = false")
            con.execute("CREATE VIEW cases AS SELECT * FROM "
                        f"read_parquet({_literal(release.cases)})")  # fmt: skip
            con.execute("CREATE VIEW dictionary AS SELECT * FROM "
                        f"read_parquet({_literal(release.dictionary)})")  # fmt: skip
            for view, path in release.hierarchies.items():
                con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet({_literal(path)})")
            _product_views(con, release.products)
            release_log.create_table(con, release.folder.parent)
            con.execute("SET lock_configuration = true")
            yield con
        finally:
            con.close()
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
