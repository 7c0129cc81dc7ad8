"""Ingest in chunks: the same result as one whole-file pass, bounded memory.

Every test here shrinks ``CHUNK_ROWS`` so that small files span many chunks:
the staging, quarantine and summary must not depend on where the chunks
break, duplicate case ids must be found across chunks, the fast CSV path
must hand over to the exact one mid-file, and an interrupted ingest must
leave nothing behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import ctdc.limits as limits
from ctdc.errors import CtdcError
from ctdc.formats.options import CsvOptions, JsonOptions
from ctdc.formats.read import iter_export, read_export
from ctdc.ingest import ingest_file
from ctdc.ingest import stream as stream_module
from ctdc.ingest.dedup import SeenIds
from ctdc.mapping import load_mapping
from ctdc.schema import Schema, build_contract, contract_failures, table_failures
from ctdc.store.ledger import read_entries
from ctdc.store.pseudonym import pseudonym_digests, pseudonymize
from ctdc.store.workspace import Workspace, init_workspace

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
ORGS = {
    "hotline-es": "hotline-es.csv",
    "casework-ngo": "casework-ngo.xlsx",
    "intl-agency": "intl-agency.json",
    "registry-gov": "registry-gov.csv",
}


def _ingest(tmp: Path, schema: Schema, org: str, path: Path, **kw) -> tuple[dict, dict]:
    tmp.mkdir(mode=0o700)  # the same key in both workspaces: init keeps a key in place
    (tmp / "pseudonym.key").write_bytes(b"k" * 32)
    os.chmod(tmp / "pseudonym.key", 0o600)
    ws, created = init_workspace(tmp)
    assert not created
    mapping = load_mapping(ROOT / "pipelines" / f"{org}.yaml", schema)
    result = ingest_file(ws, schema, mapping, path, key=ws.load_key(), **kw).to_dict()
    files = {str(p.relative_to(tmp)): pd.read_parquet(p) for p in sorted(tmp.rglob("*.parquet"))}
    return result, files


def _same(a: tuple[dict, dict], b: tuple[dict, dict]) -> None:
    assert a[0] == b[0]
    assert sorted(a[1]) == sorted(b[1])
    for name in a[1]:
        pd.testing.assert_frame_equal(a[1][name], b[1][name])


@pytest.mark.slow
@pytest.mark.parametrize("org", sorted(ORGS))
@pytest.mark.parametrize("rate", [1.0, 0.01])
def test_chunks_give_the_same_batch_as_one_pass(tmp_path, schema, monkeypatch, org, rate) -> None:
    path = SAMPLES / ORGS[org]
    whole = _ingest(tmp_path / "whole", schema, org, path, max_reject_rate=rate)
    monkeypatch.setattr(limits, "CHUNK_ROWS", 29)  # 7 chunks of the 200-row samples
    chunked = _ingest(tmp_path / "chunked", schema, org, path, max_reject_rate=rate)
    _same(whole, chunked)
    assert whole[0]["quarantined"] > 0  # the samples plant bad rows: both paths are exercised
    if rate < 0.01:
        assert whole[0]["status"] == "rejected"


def test_duplicate_case_ids_are_found_across_chunks(tmp_path, schema, test_org, monkeypatch):
    pipelines, export = test_org
    monkeypatch.setattr(limits, "CHUNK_ROWS", 2)
    ws, _ = init_workspace(tmp_path / "data")
    mapping = load_mapping(pipelines / "test-org.yaml", schema)
    result = ingest_file(ws, schema, mapping, export, key=ws.load_key())
    q = pd.read_parquet(ws.quarantine_dir("test-org") / f"{result.batch_id}.parquet")
    dup = q[q.reason == "duplicate-case-id"]
    # row 10 repeats "002" of row 3, four chunks earlier
    assert dup["source_row"].tolist() == [10] and dup["value"].tolist() == ["002"]
    assert dup["expected"].tolist() == ["each case id once per export (first at row 3)"]
    assert result.quarantined_by_reason["duplicate-case-id"] == 1


def test_seen_ids_match_pandas_duplicated() -> None:
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 3000, size=20_000).astype(str)
    keys = np.stack([pd.util.hash_array(ids), pd.util.hash_array(ids, hash_key="0" * 16)], axis=1)
    rows = np.arange(2, len(ids) + 2)
    seen, got = SeenIds(), []
    for start in range(0, len(ids), 777):
        got.append(seen.first_rows(keys[start : start + 777], rows[start : start + 777]))
    first = np.concatenate(got)
    expected_dup = pd.Series(ids).duplicated(keep="first").to_numpy()
    assert ((first > 0) == expected_dup).all()
    first_row = pd.Series(rows, index=ids).groupby(level=0).transform("min").to_numpy()
    assert (first[expected_dup] == first_row[expected_dup]).all()
    assert len(seen) == len(set(ids))


def test_spelled_out_hmac_is_the_pseudonym() -> None:
    ids = ["00123", "", "é", "x" * 100]
    for key in (b"k" * 32, b"long" * 40):
        digests = pseudonym_digests(key, "an-org", ids)
        assert [d.hex() for d in digests] == pseudonymize(key, "an-org", ids)


def test_seen_ids_tell_keys_apart_by_both_halves() -> None:
    """Equal high halves (a 2^-64 chance per pair) are still two ids."""
    seen = SeenIds()
    key = np.array([[5, 1], [5, 2], [7, 1], [5, 3]], dtype=np.uint64)
    assert seen.first_rows(key[:2], np.array([2, 3])).tolist() == [0, 0]
    assert seen.first_rows(key[2:], np.array([4, 5])).tolist() == [0, 0]
    again = np.array([[5, 3], [5, 2], [5, 9], [5, 1], [5, 3]], dtype=np.uint64)
    assert seen.first_rows(again, np.arange(6, 11)).tolist() == [5, 3, 0, 2, 5]


def _big_csv(path: Path, rows: int, bad_at: int | None = None) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "text"])
    for i in range(2, rows + 2):
        rec = [f"{i:06d}", "x" * 40 + ("\n" if i % 1000 == 0 else "")]
        w.writerow(rec + (["extra"] if i == bad_at else []))
        if i % 5000 == 0:
            buf.write("\n")  # a blank line: a row number, not a record
    path.write_text(buf.getvalue())


@pytest.mark.slow
def test_fast_path_hands_over_to_the_exact_path_mid_file(tmp_path, monkeypatch) -> None:
    clean, bad = tmp_path / "clean.csv", tmp_path / "bad.csv"
    _big_csv(clean, 60_000)
    _big_csv(bad, 60_000, bad_at=50_000)  # past the first MB: chunks were already handed on
    assert bad.stat().st_size > 2 * 1024 * 1024
    monkeypatch.setattr(limits, "CHUNK_ROWS", 4000)
    chunks = list(iter_export(bad, CsvOptions()))
    assert len(chunks) > 10
    a, b = read_export(clean, CsvOptions()), read_export(bad, CsvOptions())
    assert b.rows.tolist() == a.rows.tolist()
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert b.errors["reason"].tolist() == ["bad-field-count"]
    assert b.rows[b.errors["pos"]].tolist() == [50_000 + 50_000 // 5000 - 1]


def test_interrupted_ingest_leaves_nothing(tmp_path, schema, test_org, monkeypatch) -> None:
    pipelines, export = test_org
    monkeypatch.setattr(limits, "CHUNK_ROWS", 3)
    ws, _ = init_workspace(tmp_path / "data")
    mapping = load_mapping(pipelines / "test-org.yaml", schema)
    real = stream_module.iter_export

    def interrupted(*args, **kwargs):
        for n, chunk in enumerate(real(*args, **kwargs), start=1):
            if n == 3:  # two chunks written, then Ctrl-C
                raise KeyboardInterrupt
            yield chunk

    monkeypatch.setattr(stream_module, "iter_export", interrupted)
    before = {p for p in ws.root.rglob("*") if p.is_file()}  # key, fingerprint, policy
    with pytest.raises(KeyboardInterrupt):
        ingest_file(ws, schema, mapping, export, key=ws.load_key())
    left = [p for p in ws.root.rglob("*") if p.is_file() and p not in before]
    assert [p for p in left if p.suffix != ".lock"] == [] and read_entries(ws) == []
    for area in ("staging", "quarantine", "ledger"):
        assert [p for p in (ws.root / area).rglob("*") if p.is_file()] == []
    monkeypatch.setattr(stream_module, "iter_export", real)
    result = ingest_file(ws, schema, mapping, export, key=ws.load_key())
    assert result.status == "ingested" and result.balanced


def test_a_year_beyond_int16_is_out_of_range(tmp_path, schema) -> None:
    """It used to crash the cast to the staged int16 column."""
    (tmp_path / "pipelines").mkdir()
    shutil.copy(ROOT / "pipelines" / "registry-gov.yaml", tmp_path / "pipelines")
    text = (SAMPLES / "registry-gov.csv").read_text().splitlines()
    head = text[0].split(",")
    year = head.index("yearOfRegistration")
    row = next(csv.reader([text[1]]))
    row[year] = "99999"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([head, row])
    path = tmp_path / "r.csv"
    path.write_text(buf.getvalue())
    mapping = load_mapping(tmp_path / "pipelines" / "registry-gov.yaml", schema)
    result = ingest_file(None, schema, mapping, path, key=b"k" * 32, dry_run=True)
    [example] = result.examples
    assert (example["reason"], example["column"], example["value"]) == (
        "out-of-range",
        "yearOfRegistration",
        "99999",
    )


def test_ndjson_keys_of_later_chunks_are_columns_of_every_chunk(tmp_path, monkeypatch) -> None:
    path = tmp_path / "x.ndjson"
    lines = [json.dumps({"id": str(i)}) for i in range(10)] + [json.dumps({"id": "10", "z": "Z"})]
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(limits, "CHUNK_ROWS", 4)
    chunks = list(iter_export(path, JsonOptions(lines=True)))
    assert [c.table.column_names for c in chunks] == [["id", "z"]] * 3
    assert read_export(path, JsonOptions(lines=True)).frame["z"].tolist() == [""] * 10 + ["Z"]


def test_contract_on_arrow_gives_pandera_failure_cases(schema: Schema) -> None:
    names = ["year_of_registration", "gender", "citizenship", "org_id", "is_abduction"]
    frame = pd.DataFrame(
        {
            "year_of_registration": pd.array([None, 1990, 2020, 2021, 2023], dtype="Int16"),
            "gender": pd.array(["Female", "Bogus", None, "Male", "Female"], dtype="string"),
            "citizenship": pd.array(["US", "XX", None, "NA", "us"], dtype="string"),
            "org_id": pd.array(["ok-org", "Bad Org", "ok-org", None, "ok-org\n"], dtype="string"),
            "is_abduction": pd.array([True, None, False, True, None], dtype="boolean"),
        }
    )
    contract = build_contract(schema, names)
    expected = contract_failures(contract, frame)
    got = table_failures(contract, pa.Table.from_pandas(frame, preserve_index=False))
    assert len(expected) == 7  # "ok-org\n" passes: pandas matches `$` as Python's re does
    pd.testing.assert_frame_equal(
        got.astype({"value": object}), expected.astype({"value": object}), check_dtype=False
    )
    with pytest.raises(ValueError, match="differ from the contract"):
        table_failures(contract, pa.Table.from_pandas(frame[names[:2]], preserve_index=False))


@pytest.mark.parametrize("rows", [0, 1, 6])
def test_contract_on_arrow_agrees_at_the_edges_and_on_checks_it_leaves_to_pandera(rows) -> None:
    """Exclusive bounds, all-null and empty columns, a regex match at the start only, and a
    custom check (evaluated by pandera itself) give pandera's own failure cases."""
    import pandera.pandas as pda

    contract = pda.DataFrameSchema({
        "n": pda.Column("Int16", nullable=True, checks=[
            pda.Check.in_range(1, 5, include_min=False, include_max=False),
            pda.Check(lambda s: s % 2 == 0, name="even")]),
        "s": pda.Column("string", nullable=True, checks=[pda.Check.str_matches(r"a\d")]),
        "c": pda.Column("string", nullable=True, checks=[pda.Check.isin(["x", "y"])]),
    })  # fmt: skip
    frame = pd.DataFrame({
        "n": pd.array([1, 2, 5, None, 4, 3][:rows], dtype="Int16"),
        "s": pd.array(["a1", "a1b", "ba1", None, "a\n", "é"][:rows], dtype="string"),
        "c": pd.array([None] * rows, dtype="string"),
    })  # fmt: skip
    expected = contract_failures(contract, frame)
    got = table_failures(contract, pa.Table.from_pandas(frame, preserve_index=False))
    assert len(expected) == {0: 0, 1: 2, 6: 8}[rows]
    pd.testing.assert_frame_equal(
        got.astype({"value": object}), expected.astype({"value": object}), check_dtype=False
    )


def test_ingest_reads_and_writes_in_chunks(tmp_path, schema, monkeypatch) -> None:
    """Staging gets one row group per chunk: the file was never held whole."""
    monkeypatch.setattr(limits, "CHUNK_ROWS", 50)
    ws: Workspace = init_workspace(tmp_path)[0]
    mapping = load_mapping(ROOT / "pipelines" / "registry-gov.yaml", schema)
    result = ingest_file(ws, schema, mapping, SAMPLES / "registry-gov.csv", key=ws.load_key())
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(ws.staging_dir("registry-gov") / f"{result.batch_id}.parquet").metadata
    assert meta.num_rows == result.staged
    assert meta.num_row_groups == -(-result.rows_read // 50)
    assert not list((ws.root / "staging").glob(".*.tmp"))


def test_unknown_errors_in_a_chunk_keep_the_file_and_row(tmp_path, schema, monkeypatch) -> None:
    """A run-level error found in a later chunk still names the file and row."""
    monkeypatch.setattr(limits, "CHUNK_ROWS", 100)
    path = tmp_path / "u.csv"
    body = b"".join(b"%d,abcdefghij\n" % i for i in range(2, 20_000))  # past the sniffed start
    path.write_bytes(b"id,n\n" + body + b"20000,\xff\n")
    with pytest.raises(CtdcError) as err:
        read_export(path, CsvOptions())
    # Python decodes ahead of the csv reader, so the row is where decoding stopped
    assert err.value.slug == "unreadable-file" and 19_000 < err.value.row <= 20_000
