"""Harmonize with release levels and l-diversity, on real sample exports and real Parquet.

The checks read the published release with their own DuckDB queries.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ctdc.errors import CtdcError
from ctdc.harmonize import harmonize
from ctdc.harmonize.manifest import ReleaseManifest
from ctdc.ingest import ingest_file
from ctdc.mapping import load_mapping
from ctdc.sample import ORGS, generate_samples
from ctdc.schema import Schema
from ctdc.store.release import read_manifest
from ctdc.store.workspace import Workspace, init_workspace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def staged(schema: Schema, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Four sample organizations, staged once; each test harmonizes them its own way."""
    tmp_path = tmp_path_factory.mktemp("levels")
    workspace, _ = init_workspace(tmp_path / "data", k_floor=2)
    sample = generate_samples(tmp_path / "exports", rows=250, seed=31)
    for org in ORGS:
        mapping = load_mapping(ROOT / "pipelines" / f"{org}.yaml", schema)
        ingest_file(workspace, schema, mapping, sample.files[org], key=workspace.load_key())
    return workspace


def _cases(ws: Workspace) -> str:
    return str(ws.current.resolve() / "cases.parquet")


@pytest.mark.slow
def test_l_diversity_holds_in_the_release(staged: Workspace, schema: Schema) -> None:
    result = harmonize(staged, schema, k=5, l=2, new_epoch=True)
    sensitive = schema.names("sensitive")
    qis = ", ".join(f'"{q}"' for q in schema.quasi_identifiers)
    with duckdb.connect() as con:
        for s in sensitive:
            worst = con.execute(
                f'SELECT min(d) FROM (SELECT count(DISTINCT "{s}") AS d '
                f"FROM read_parquet(?) GROUP BY {qis})",
                [_cases(staged)],
            ).fetchone()[0]
            assert worst >= 2, s
    check = result.manifest.k_check.l_diversity
    assert check is not None
    assert check.l == 2 and not any(check.classes_below_l.values())
    assert result.manifest.anonymization.l == 2
    acc = result.manifest.accounting.total
    assert acc.balanced and acc.released + acc.held == acc.staged  # a record l excludes waits


@pytest.mark.slow
def test_pinned_level_zero_keeps_the_year_an_integer(staged: Workspace, schema: Schema) -> None:
    harmonize(staged, schema, k=2, levels={"year_of_registration": 0}, new_epoch=True)
    table = pq.read_table(_cases(staged))
    assert table.schema.field("year_of_registration").type == pa.int16()
    years = {y for y in table.column("year_of_registration").to_pylist() if y is not None}
    assert years and all(2002 <= y <= 2100 for y in years)


def test_auto_levels_release_hierarchy_labels(shared_sample: Path) -> None:
    """On the shared sample release (auto levels, k=5): its manifest, read back."""
    ws = Workspace(shared_sample / "data")
    manifest = ReleaseManifest.from_dict(read_manifest(ws.current.resolve()))
    table = pq.read_table(_cases(ws))
    # one column per level: exact years as integers, the ranges as text beside them
    assert table.schema.field("year_of_registration").type == pa.int16()
    assert table.schema.field("registration_period").type == pa.string()
    assert table.schema.field("citizenship_region").type == pa.string()
    levels = manifest.anonymization.levels["citizenship"]
    assert sum(levels.values()) == manifest.accounting.total.released == table.num_rows
    assert manifest.generalization_levels["citizenship"] is None
    assert manifest.to_dict()["generalization_levels"]["citizenship"] == "auto"


@pytest.mark.parametrize(
    ("levels", "needle"),
    [
        ({"gender": 1}, "not a quasi-identifier with a hierarchy"),
        ({"is_abduction": 0}, "not a quasi-identifier with a hierarchy"),
        ({"age_band": 7}, "levels are 0..3"),
    ],
)
def test_bad_levels_are_refused(
    staged: Workspace, schema: Schema, levels: dict, needle: str
) -> None:
    with pytest.raises(CtdcError) as err:
        harmonize(staged, schema, k=5, levels=levels, new_epoch=True)
    assert err.value.slug == "bad-option" and needle in err.value.message()
