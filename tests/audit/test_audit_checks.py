"""Each audit check passes on a real harmonize output and fails on a release broken on purpose.

One tiny workspace per module (two organizations, 64 records, real ingest and
harmonize at k=3); each test copies its public folder and rewrites the real
``cases.parquet``. A check that cannot fail would not count, so every check
has its failing case here, asserted on the detail it prints.
"""

from __future__ import annotations

from pathlib import Path

import audit_fixtures
import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from audit_fixtures import (
    MARKER,
    K,
    Published,
    copy_public,
    qi_key,
    rewrite_cases,
)

from ctdc.audit import audit_release
from ctdc.audit.order import clustering_z

pub = audit_fixtures.pub  # the shared published workspace (a fixture)


@pytest.mark.slow
def test_a_class_of_k_minus_1_fails_prosecutor_and_linkage(pub: Published, tmp_path: Path) -> None:
    area, release = copy_public(pub, tmp_path / "public")
    qis = pub.schema.quasi_identifiers

    def shrink(frame: pd.DataFrame) -> pd.DataFrame:
        key = qi_key(frame, qis)
        target = key.iloc[0]
        drop = key[key == target].index[K - 1 :]  # leave k-1 rows of the first class
        return frame.drop(index=drop)

    rewrite_cases(release, shrink)
    report = audit_release(
        pub.ws, pub.schema, release, k=K, public=area, only={"prosecutor", "linkage"}
    )
    assert not report["prosecutor"].passed
    assert f"match 1..{K - 1} released rows" in report["prosecutor"].detail
    assert not report["linkage"].passed
    assert "link to 1..2 released rows" in report["linkage"].detail


def test_a_marker_in_metadata_or_in_compressed_values_fails(pub: Published, tmp_path: Path) -> None:
    area, release = copy_public(pub, tmp_path / "public")
    rewrite_cases(release, lambda f: f, metadata={"note": f"from {MARKER} 7"})
    report = audit_release(
        pub.ws, pub.schema, release, k=K, markers=[MARKER], public=area, only={"markers and bytes"}
    )
    assert not report["markers and bytes"].passed
    assert report["markers and bytes"].detail == (
        f"a marker in releases/{release.name}/cases.parquet"
    )
    # zstd hides it from a byte search: only the decoded values show it
    area2, release2 = copy_public(pub, tmp_path / "public2")

    def plant(frame: pd.DataFrame) -> pd.DataFrame:
        frame["means_of_control_concatenated"] = (
            frame["means_of_control_concatenated"]
            .astype("string")
            .fillna("")
            .radd(MARKER * 50 + " ")
        )
        return frame

    rewrite_cases(release2, plant, statistics=False, compression="gzip")  # no raw min/max
    assert MARKER.encode() not in (release2 / "cases.parquet").read_bytes()
    report = audit_release(
        pub.ws,
        pub.schema,
        release2,
        k=K,
        markers=[MARKER],
        public=area2,
        only={"markers and bytes"},
    )
    assert "a marker in releases/" in report["markers and bytes"].detail


def test_a_pseudonym_column_fails_markers_and_bytes(pub: Published, tmp_path: Path) -> None:
    area, release = copy_public(pub, tmp_path / "public")
    staged = duckdb.sql(
        f"SELECT case_pseudonym, org_id FROM read_parquet('{pub.ws.root}/staging/*/*.parquet')"
    ).df()

    def add(frame: pd.DataFrame) -> pd.DataFrame:
        frame["case_pseudonym"] = staged["case_pseudonym"].iloc[: len(frame)].to_numpy()
        return frame

    rewrite_cases(release, add, extra={"case_pseudonym": pa.string()})
    report = audit_release(
        pub.ws, pub.schema, release, k=K, public=area, only={"markers and bytes"}
    )
    detail = report["markers and bytes"].detail
    assert "a pseudonym in releases/" in detail
    assert not any(p in detail for p in staged["case_pseudonym"])


def test_a_homogeneous_protected_flag_fails_attribute_disclosure(
    pub: Published, tmp_path: Path
) -> None:
    area, release = copy_public(pub, tmp_path / "public")
    qis = pub.schema.quasi_identifiers

    def certain(frame: pd.DataFrame) -> pd.DataFrame:
        key = qi_key(frame, qis)
        frame.loc[key == key.iloc[0], "moc_threats"] = True  # a sensitive flag, whole class
        frame["is_forced_labour"] = True  # a QI flag, TRUE whatever the other QIs
        return frame

    rewrite_cases(release, certain)
    detail = audit_release(
        pub.ws, pub.schema, release, k=K, public=area, only={"attribute disclosure"}
    )["attribute disclosure"].detail
    assert "is_forced_labour is TRUE in every row of" in detail
    assert "moc_threats is TRUE in every row of 1 group" in detail


def test_a_derived_field_that_sharpens_a_qi_fails(pub: Published, tmp_path: Path) -> None:
    area, release = copy_public(pub, tmp_path / "public")

    def sharpen(frame: pd.DataFrame) -> pd.DataFrame:
        frame[["age_band", "age_band_wide", "age_group"]] = pd.NA  # every band suppressed...
        frame["majority_status"] = "Adult"
        frame.loc[frame.index[0], "majority_status"] = "Minor"  # ...but one row still tells
        frame["majority_entry"] = "Adult"  # and a QI derived from it, in every row
        return frame

    rewrite_cases(release, sharpen)
    report = audit_release(pub.ws, pub.schema, release, k=K, public=area, only={"derived fields"})
    detail = report["derived fields"].detail
    assert not report["derived fields"].passed
    assert "QIs + majority_status give 1 class below k=3 (1 row)" in detail
    assert "majority_entry is published in 64 rows whose age_band is NULL" in detail


def test_a_level_column_that_says_more_than_the_published_value_fails(
    pub: Published, tmp_path: Path
) -> None:
    area, release = copy_public(pub, tmp_path / "public")

    def sharpen(frame: pd.DataFrame) -> pd.DataFrame:
        # two rows' region no longer follows their published country: the level columns
        # would then carry information of their own
        rows = frame.index[frame["citizenship"].notna()][:2]
        assert len(rows) == 2, "the fixture publishes some exact citizenships"
        wrong = frame.loc[rows, "citizenship_region"].map({"Oceania": "Africa"}).fillna("Oceania")
        frame.loc[rows, "citizenship_region"] = wrong.to_numpy()
        return frame

    rewrite_cases(release, sharpen)
    report = audit_release(pub.ws, pub.schema, release, k=K, public=area, only={"derived fields"})
    assert not report["derived fields"].passed
    assert "2 rows: citizenship's level columns" in report["derived fields"].detail


@pytest.mark.parametrize("side", ["added", "removed"])
def test_a_differencing_pair_with_a_group_below_k_fails(
    pub: Published, tmp_path: Path, side: str
) -> None:
    area, release = copy_public(pub, tmp_path / "public")
    other = tmp_path / "other"
    other.mkdir()
    (other / "cases.parquet").write_bytes((release / "cases.parquet").read_bytes())
    # one row more: every class still has >= k rows, but the difference is one person
    rewrite_cases(other, lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True))
    current, previous = (other, release) if side == "added" else (release, other)
    report = audit_release(
        pub.ws, pub.schema, current, previous, k=K, public=area, only={"differencing", "prosecutor"}
    )
    assert not report["differencing"].passed
    assert f"{side} rows form 1 QI combination below k=3 (1 row)" in report["differencing"].detail
    assert report["prosecutor"].passed  # the release itself is still k-anonymous


def test_a_differencing_pair_adding_a_whole_class_passes(pub: Published, tmp_path: Path) -> None:
    area, release = copy_public(pub, tmp_path / "public")
    other = tmp_path / "other"
    other.mkdir()
    (other / "cases.parquet").write_bytes((release / "cases.parquet").read_bytes())
    qis = pub.schema.quasi_identifiers
    rewrite_cases(
        other,
        lambda f: pd.concat([f, f[qi_key(f, qis) == qi_key(f, qis).iloc[0]]], ignore_index=True),
    )
    report = audit_release(
        pub.ws, pub.schema, other, release, k=K, public=area, only={"differencing"}
    )
    assert report["differencing"].passed, report["differencing"].detail
    assert "removed" in report["differencing"].detail


def test_a_stray_file_and_a_wrong_mode_fail_files(pub: Published, tmp_path: Path) -> None:
    area, release = copy_public(pub, tmp_path / "public")
    (area.root / "harmonize.log").write_text("ok\n")
    (release / "cases.parquet").chmod(0o666)
    detail = audit_release(pub.ws, pub.schema, release, k=K, public=area, only={"files"})[
        "files"
    ].detail
    assert "stray harmonize.log" in detail
    assert f"releases/{release.name}/cases.parquet has mode 0666, not 0644" in detail


@pytest.mark.slow
def test_row_order_grouped_by_organization_fails_random_order_passes(
    pub: Published, tmp_path: Path
) -> None:
    area, release = copy_public(pub, tmp_path / "public")
    rng = np.random.default_rng(1)
    # shuffled, then grouped by citizenship (one per organization): not a content sort
    rewrite_cases(
        release, lambda f: f.iloc[rng.permutation(len(f))].sort_values("citizenship", kind="stable")
    )
    report = audit_release(pub.ws, pub.schema, release, k=K, public=area, only={"row order"})
    assert not report["row order"].passed
    detail = report["row order"].detail
    assert "organization (private) (grouped" in detail
    assert detail.startswith("not sorted by content (the order of year_of_registration")
    rewrite_cases(release, lambda f: f.iloc[rng.permutation(len(f))])
    report = audit_release(pub.ws, pub.schema, release, k=K, public=area, only={"row order"})
    assert report["row order"].passed, report["row order"].detail
    assert "not sorted by content" in report["row order"].detail
    rewrite_cases(release, lambda f: f.sort_values(list(f.columns), na_position="first"))
    report = audit_release(pub.ws, pub.schema, release, k=K, public=area, only={"row order"})
    assert report["row order"].detail == "rows are sorted by their released content"


def test_clustering_z_sees_blocks_and_alternation_not_a_shuffle() -> None:
    rng = np.random.default_rng(3)
    blocks = np.repeat([0, 1], 40)
    assert clustering_z(blocks, rng) > 5
    assert clustering_z(np.tile([0, 1], 40), rng) < -5
    assert abs(clustering_z(rng.permutation(blocks), rng)) < 5
