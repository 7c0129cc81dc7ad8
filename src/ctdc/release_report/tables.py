"""Every number of a report, as safe tables over the public release.

A report publishes exactly what ``ctdc stats`` would: each table is made by
``ctdc.stats.safe_table``'s own steps (``count_cells`` in the query sandbox,
then ``protect`` at the release's k), so no count below k is shown, and none
that the published cells and totals give away (docs/stats.md). The class
sizes are counted in the same sandbox and go through ``protect`` too.
Nothing here reads the workspace.

All tables come from *one* sandbox over one release: a report of ~30 tables
opened one sandbox each would take five times as long, and a release swapped
in between two of them (a nightly harmonize) would mix two releases in one
page. tests/release_report checks every table against ``safe_table`` itself.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import duckdb
import numpy as np

from ctdc.errors import CtdcError
from ctdc.harmonize.public_manifest import PublicManifest
from ctdc.query import DEFAULT_LIMITS, resolve_release, run_in_sandbox
from ctdc.query.release_log import MAX_MANIFEST_BYTES
from ctdc.schema import Schema
from ctdc.schema.model import status_column
from ctdc.slugs import Slug
from ctdc.stats import CellCounts, SafeTable, effective_k, protect
from ctdc.stats.aggregate import count_cells, quote
from ctdc.stats.release import Release, open_release
from ctdc.store.release import MANIFEST_FILE

#: the level columns the patterns use: exact years, ages and countries are rarely published
PERIOD_WIDE = "registration_period_wide"
PERIOD = "registration_period"
GENDER = "gender"
AGE_WIDE = "age_band_wide"
AGE_GROUP = "age_group"
FROM_REGION = "citizenship_region"
TO_REGION = "exploitation_region"
#: the flag group whose flags are the types of exploitation
EXPLOITATION = "type_of_exploitation"
#: class-size bands start at these sizes (and at k): the anonymizer's buckets
SIZE_EDGES = (1, 2, 5, 10, 20, 50, 100, 1000)
CLASS_SIZE = "class_size"


@dataclass(frozen=True)
class ReleaseTables:
    """The safe tables one report draws, all over the same public release."""

    manifest: PublicManifest
    statuses: dict[str, SafeTable]
    """quasi-identifier -> records by its ``<qi>_status``"""
    class_sizes: SafeTable
    """records by the size band of their class (every quasi-identifier and its status)"""
    periods: tuple[SafeTable, SafeTable]
    """records by nine-year, then three-year registration period"""
    exploitation: dict[str, SafeTable]
    """flag of the exploitation group -> records by that flag"""
    gender_age: tuple[SafeTable, SafeTable]
    """records by gender and wide age band, then by gender and age group"""
    flows: SafeTable
    """records by citizenship region and region of exploitation"""

    @property
    def release_id(self) -> str:
        return self.manifest.release_id

    @property
    def k(self) -> int:
        return self.manifest.k

    def all(self) -> list[SafeTable]:
        """Every table, in page order."""
        return [*self.statuses.values(), self.class_sizes, *self.periods,
                *self.exploitation.values(), *self.gender_age, self.flows]  # fmt: skip


def public_manifest(public_root: Path) -> PublicManifest:
    """The public manifest of ``<public_root>/current``: a regular file, of bounded size."""
    folder = resolve_release(public_root).folder
    path = folder / MANIFEST_FILE
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MANIFEST_BYTES:
            raise ValueError("not a regular manifest file")
        return PublicManifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        raise CtdcError(Slug.NO_RELEASE, f"release {folder.name} has no readable public "
                        f"{MANIFEST_FILE}", file=path) from None  # fmt: skip


def class_keys(schema: Schema, quasi_identifiers: Sequence[str]) -> list[str]:
    """The columns a class is counted over: each quasi-identifier, its levels and its status.

    ``Schema.release_file_keys``, for the quasi-identifiers the release names
    (its manifest), so a schema pinned after the release cannot change them.
    """
    keys = []
    for name in quasi_identifiers:
        if name not in schema.by_name:
            raise CtdcError(Slug.BAD_SCHEMA, f"the release's quasi-identifier {name!r} is not "
                            "in the schema in use", fix="run `ctdc harmonize --new-epoch` "
                            "after a change of schema")  # fmt: skip
        keys += [name, *(n for n, _ in schema[name].level_columns), status_column(name)]
    return keys


def size_bands(k: int) -> list[tuple[int, int | None]]:
    """(lowest, highest or None) size of each band: ``1-(k-1)`` (empty in a k-anonymous
    release), then ``k`` up to the anonymizer's next bucket, and so on."""
    edges = sorted({1, k, *(e for e in SIZE_EDGES if e > k)})
    return [(lo, nxt - 1) for lo, nxt in pairwise(edges)] + [(edges[-1], None)]


def band_label(lo: int, hi: int | None) -> str:
    if hi is None:
        return f"{lo}+"
    return str(lo) if lo == hi else f"{lo}-{hi}"


def class_sizes(con: duckdb.DuckDBPyConnection, info: Release,
                keys: Sequence[str]) -> SafeTable:  # fmt: skip
    """Records by class-size band, protected at the release's k like any safe table.

    The class counts are made in the query sandbox (what any analyst could
    count from ``cases``), then the records per band go through
    ``ctdc.stats.protect``: a band is a cell, the total its margin.
    """
    missing = [c for c in keys if c not in info.columns]
    if missing:
        raise CtdcError(Slug.BAD_SCHEMA, f"release {info.release_id} has no column "
                        f"{', '.join(missing)}")  # fmt: skip
    grouped = ", ".join(quote(c) for c in keys)
    sql = (f"SELECT n, count(*) AS classes FROM (SELECT count(*) AS n FROM cases "
           f"GROUP BY {grouped}) AS sizes GROUP BY n ORDER BY n")  # fmt: skip
    frame = run_in_sandbox(con, sql)
    sizes = frame["n"].to_numpy(dtype=np.int64)
    records = sizes * frame["classes"].to_numpy(dtype=np.int64)
    labels: list[str] = []
    counts: list[int] = []
    for lo, hi in size_bands(info.k):
        inside = (sizes >= lo) & (sizes <= (hi if hi is not None else np.iinfo(np.int64).max))
        if inside.any():
            labels.append(band_label(lo, hi))
            counts.append(int(records[inside].sum()))
    n = len(labels)
    cells = CellCounts(by=(CLASS_SIZE,), categories=(tuple(labels),),
                       codes=np.arange(n, dtype=np.int64).reshape(n, 1),
                       counts=np.array(counts, dtype=np.int64))  # fmt: skip
    return protect(cells, info.k, release_id=info.release_id)


def exploitation_flags(schema: Schema) -> list[str]:
    """The flags of the exploitation group that are in the schema, in its order."""
    group = schema.groups.get(EXPLOITATION)
    return [f.name for f in group.flags] if group is not None else []


def release_tables(public_root: Path, schema: Schema) -> ReleaseTables:
    """Every safe table a report needs, over the current public release, in one sandbox."""
    with open_release(public_root, DEFAULT_LIMITS) as (con, info):
        manifest = public_manifest(public_root)
        if manifest.release_id != info.release_id:
            raise CtdcError(Slug.NO_RELEASE, f"the current release changed from "
                            f"{info.release_id} to {manifest.release_id} while the report "
                            "opened it", fix="run the command again")  # fmt: skip
        qis = list(manifest.quasi_identifiers)

        def table(*by: str) -> SafeTable:
            """``safe_table(public_root, by)``, on this sandbox."""
            counts = count_cells(con, info, by, where=None, share=None, limits=DEFAULT_LIMITS)
            return protect(counts, effective_k(info.k, None), release_id=info.release_id)

        return ReleaseTables(
            manifest=manifest,
            statuses={q: table(status_column(q)) for q in qis},
            class_sizes=class_sizes(con, info, class_keys(schema, qis)),
            periods=(table(PERIOD_WIDE), table(PERIOD)),
            exploitation={flag: table(flag) for flag in exploitation_flags(schema)},
            gender_age=(table(GENDER, AGE_WIDE), table(GENDER, AGE_GROUP)),
            flows=table(FROM_REGION, TO_REGION),
        )
