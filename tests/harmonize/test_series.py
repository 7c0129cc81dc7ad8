"""The nightly series, attacked as the issue's adversary would: two consecutive releases in hand.

Real exports, real ingest, real harmonize, real Parquet and DuckDB. Each test
performs an attack from issue 11 on two consecutive private releases (the
public copies hold the same bytes) and shows it finds nothing:

- the one-record differencing attack (a new victim's row isolated by EXCEPT ALL);
- the intersection attack (a record re-coded between nights, narrowed to the
  most specific value of each), with the private ledgers as the strongest
  adversary's row pairing;
- a withdrawal (a snapshot that drops records) whose removed rows are not
  themselves k-anonymous.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctdc.errors import CtdcError
from ctdc.harmonize import harmonize
from ctdc.ingest import ingest_file
from ctdc.package import package_files
from ctdc.schema import Schema
from ctdc.slugs import Slug
from ctdc.store.publication import read_ledger
from ctdc.store.rotation import rotate_key
from ctdc.store.workspace import Workspace, init_workspace

K = 3
HEADER = "ID;Nombre;Notas;Edad;Fecha;Sexo;Nac;Secuestro;Control"
COUNTRIES = ["Perú", "Colombia", "Venezuela"]
LEVELS = {"year_of_registration": 0, "citizenship": 0, "country_of_exploitation": 0}


def export(folder: Path, name: str, ids: list[int], *, age_shift: int = 0) -> Path:
    """A test-org export; ages in three bands and two years, so classes of k form easily."""
    lines = [HEADER]
    for i in ids:
        lines.append(f"{i:05d};P {i};n;{20 + i % 3 + age_shift};01/02/{2019 + i % 2};"
                     f"{'Mujer' if i % 4 else 'Hombre'};{COUNTRIES[i % 3]};"
                     f"{'Sí' if i % 7 == 0 else 'No'};"
                     f"{'Deuda' if i % 2 else 'Amenazas'}")  # fmt: skip
    path = folder / name
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


def night(ws: Workspace, schema: Schema, org, path: Path, mode: str = "append"):
    ingest_file(ws, schema, org, path, key=ws.load_key(), mode=mode)
    return harmonize(ws, schema, k=K, levels=LEVELS)


def cases(result) -> str:
    return str(result.path / "cases.parquet")


def diff(new: str, old: str, exclude: list[str] | None = None) -> pd.DataFrame:
    """``new EXCEPT ALL old``, whole rows or without ``exclude`` (the attacker's queries)."""
    cols = f"* EXCLUDE ({', '.join(exclude)})" if exclude else "*"
    sql = f"SELECT {cols} FROM read_parquet(?) EXCEPT ALL SELECT {cols} FROM read_parquet(?)"
    return duckdb.execute(sql, [new, old]).df()


def k_anonymous(rows: pd.DataFrame, qis: list[str]) -> bool:
    """Every combination of quasi-identifier values occurs 0 or >= K times in ``rows``."""
    if rows.empty:
        return True
    return bool((rows.groupby(qis, dropna=False).size() >= K).all())


def published_forms(ws: Workspace, release_id: str, qis: list[str]) -> pd.DataFrame:
    ledger = read_ledger(ws.root, release_id)
    assert ledger is not None
    return ledger[ledger["state"] == "published"].set_index("case_pseudonym")[qis].astype(str)


def test_nights_of_new_records_isolate_no_one_and_recode_no_one(
    workspace, schema, org, tmp_path
) -> None:
    """One new record, then five, then sixty, with a key rotation in between. Each night the
    issue's differencing query finds nothing below k, and (the intersection attack, with the
    private ledgers pairing every record across nights) no published record is re-coded."""
    qis = schema.quasi_identifiers
    first = night(workspace, schema, org, export(tmp_path, "a.csv", list(range(1, 61))))
    second = night(workspace, schema, org, export(tmp_path, "b.csv", [1000]))
    # the query: the new victim's whole profile minus the QIs
    assert diff(cases(second), cases(first), exclude=qis).empty
    assert diff(cases(first), cases(second)).empty
    series = second.manifest.series
    assert series is not None and series["held"] == 1 and series["added"] == 0
    assert second.manifest.accounting.total.held == 1
    rotate_key(workspace)  # the ledger is re-keyed with the staging: nothing leaves
    third = night(workspace, schema, org, export(tmp_path, "c.csv", list(range(1001, 1006))))
    added = diff(cases(third), cases(second))
    assert k_anonymous(added, qis) and diff(cases(second), cases(third)).empty
    assert third.manifest.series["left"] == 0
    assert len(added) + third.manifest.series["held"] == 6
    fourth = night(workspace, schema, org, export(tmp_path, "d.csv", list(range(61, 121))))
    assert k_anonymous(diff(cases(fourth), cases(third)), qis)
    assert diff(cases(third), cases(fourth)).empty
    old = published_forms(workspace, third.release_id, qis)
    new = published_forms(workspace, fourth.release_id, qis)
    assert old.index.isin(new.index).all()  # nothing left, so every record is still out
    assert old.equals(new.loc[old.index]), "a published record was re-coded"
    # most specific of either night: the same forms, so the same classes of >= K
    assert k_anonymous(new.reset_index(drop=True), qis)
    rows = duckdb.execute("SELECT count(*) FROM read_parquet(?)", [cases(fourth)]).fetchone()
    assert rows == (len(new),)


def test_a_snapshot_that_drops_records_removes_k_anonymous_groups(
    workspace, schema, org, tmp_path
) -> None:
    qis = schema.quasi_identifiers
    first = night(workspace, schema, org, export(tmp_path, "a.csv", list(range(1, 61))))
    # the organization's next export no longer holds 1 and 2 (consent withdrawn at the source)
    second = night(workspace, schema, org, export(tmp_path, "b.csv", list(range(3, 61))),
                   mode="snapshot")  # fmt: skip
    removed = diff(cases(first), cases(second))
    assert len(removed) >= 2 and k_anonymous(removed, qis)
    assert diff(cases(second), cases(first)).empty  # nothing re-published in another form
    series = second.manifest.series
    assert series["left"] == 2 and series["withheld_to_pad"] == len(removed) - 2
    acc = second.manifest.accounting.total
    assert acc.balanced and acc.withheld == len(removed) - 2
    # the withheld class-mates never come back in this epoch, even when more records arrive
    third = night(workspace, schema, org, export(tmp_path, "c.csv", list(range(3, 91))),
                  mode="snapshot")  # fmt: skip
    assert diff(cases(second), cases(third)).empty
    assert third.manifest.accounting.total.withheld == acc.withheld
    # a corrected record (its age changed) leaves like a withdrawal, and waits as a new one
    fourth = night(workspace, schema, org, export(tmp_path, "d.csv", [45], age_shift=20))
    series = fourth.manifest.series
    assert series["corrected"] == 1 and series["left"] == 1
    assert k_anonymous(diff(cases(third), cases(fourth)), qis)
    assert fourth.manifest.accounting.total.balanced


def test_a_changed_k_needs_a_new_epoch_and_the_ledger_stays_private(
    workspace, schema, org, tmp_path
) -> None:
    first = night(workspace, schema, org, export(tmp_path, "a.csv", list(range(1, 61))))
    ledger = workspace.root / "series" / f"{first.release_id}.parquet"
    assert ledger.is_file() and ledger.stat().st_mode & 0o077 == 0
    release_files = ["cases.parquet", "dictionary.parquet", "manifest.json"]
    assert sorted(p.name for p in first.path.iterdir()) == release_files
    assert sorted(p.name for p in first.public_path.iterdir()) == sorted(
        [*release_files, *package_files(schema)])  # fmt: skip
    assert "series" not in first.public_manifest.to_dict()
    with pytest.raises(CtdcError) as err:
        harmonize(workspace, schema, k=K + 1, levels=LEVELS)
    assert err.value.slug is Slug.NEW_EPOCH_NEEDED and err.value.exit_code == 1
    again = harmonize(workspace, schema, k=K + 1, levels=LEVELS, new_epoch=True)
    assert again.manifest.series["epoch"] == first.manifest.series["epoch"] + 1
    assert again.manifest.series["frozen"] == 0
    assert again.manifest.series["recoded_since_previous_epoch"] >= 0


def test_ctdc_withdraw_removes_a_case_at_the_next_release(tmp_path, test_org) -> None:
    """The data officer's command: the case leaves at once, with class-mates, k-anonymously;
    an unknown case id or reason is refused with its slug and changes nothing."""
    from conftest import run_ctdc

    export(tmp_path, "a.csv", list(range(1, 61)))  # beside pipelines/test-org.yaml (test_org)
    assert run_ctdc(tmp_path, "init", "--k-floor", "2").exit_code == 0
    assert run_ctdc(tmp_path, "ingest", "--org", "test-org", "a.csv").exit_code == 0
    levels = [x for name in LEVELS for x in ("--generalize", f"{name}=0")]
    assert run_ctdc(tmp_path, "harmonize", "--k", str(K), *levels).exit_code == 0
    bad = run_ctdc(tmp_path, "withdraw", "--org", "test-org", "99999")
    assert bad.exit_code == 1 and "error[case-not-found]" in bad.stderr
    assert "99999" in bad.stderr
    bad = run_ctdc(tmp_path, "withdraw", "--org", "test-org", "00007", "--reason", "whim")
    assert bad.exit_code == 2 and "error[bad-option]" in bad.stderr
    assert not (tmp_path / "ctdc-data" / "withdrawals.parquet").exists()
    done = run_ctdc(tmp_path, "withdraw", "--org", "test-org", "00007", " 00008 ")
    assert done.exit_code == 0 and "withdrew 2 case(s) of test-org" in done.stderr
    again = run_ctdc(tmp_path, "harmonize", "--k", str(K), *levels, "--json")
    doc = json.loads(again.stdout)
    assert doc["series"]["withdrawn"] == 2 and doc["series"]["left"] == 2
    assert doc["accounting"]["total"]["withdrawn"] == 2 and doc["accounting"]["total"]["balanced"]


def test_the_audit_finds_a_changed_frozen_row_and_a_recoded_record(
    workspace, schema, org, tmp_path
) -> None:
    """``frozen rows`` passes on two real nights, and fails on each kind of tampering."""
    import pyarrow.parquet as pq

    from ctdc.audit import audit_release
    from ctdc.store.publication import ledger_path

    first = night(workspace, schema, org, export(tmp_path, "a.csv", list(range(1, 61))))
    second = night(workspace, schema, org, export(tmp_path, "b.csv", list(range(61, 121))))

    def verdict() -> tuple[bool, str]:
        report = audit_release(workspace, schema, second.path, first.path, k=K,
                               only={"frozen rows"})  # fmt: skip
        return report["frozen rows"].passed, report["frozen rows"].detail

    assert verdict()[0]
    # a frozen record re-coded in this night's ledger: its old and new forms differ
    path = ledger_path(workspace.root, second.release_id)
    saved = path.read_bytes()
    ledger = pq.read_table(path).to_pandas()
    before = pq.read_table(ledger_path(workspace.root, first.release_id)).to_pandas()
    frozen = ledger["case_pseudonym"].isin(before["case_pseudonym"][before["state"] == "published"])
    row = ledger.index[(ledger["state"] == "published") & frozen][0]
    ledger.loc[row, "gender"] = "Male" if ledger.loc[row, "gender"] != "Male" else "Female"
    pq.write_table(pq.read_table(path).from_pandas(ledger, preserve_index=False), path)
    passed, detail = verdict()
    assert not passed and "1 published record changed form" in detail
    assert "1 row not in the ledger" in detail  # the release still has the old row
    path.write_bytes(saved)
    # a release row changed behind the ledger's back
    cases_path = second.path / "cases.parquet"
    cases = pq.read_table(cases_path).to_pandas()
    cases.loc[0, "is_abduction"] = not bool(cases.loc[0, "is_abduction"])
    cases_path.chmod(0o600)
    pq.write_table(pq.read_table(cases_path).from_pandas(cases, preserve_index=False), cases_path)
    passed, detail = verdict()
    assert not passed and "1 row not in the ledger and 1 published record missing" in detail


STEP = st.one_of(
    st.tuples(st.just("append"), st.lists(st.integers(1, 90), min_size=1, max_size=25)),
    st.tuples(st.just("snapshot"), st.lists(st.integers(1, 90), min_size=3, max_size=60)),
    st.tuples(st.just("withdraw"), st.lists(st.integers(1, 90), min_size=1, max_size=3)),
)


SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


#: each example is up to four real harmonizes (~1 s each); CTDC_PROPERTIES=thorough runs 25
EXAMPLES = 25 if os.environ.get("CTDC_PROPERTIES") == "thorough" else 3


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=SLOW)  # fmt: skip
@given(steps=st.lists(STEP, min_size=1, max_size=3))
def test_random_nights_keep_every_consecutive_pair_safe(steps, schema, org, tmp_path) -> None:
    """Ingests, snapshots and withdrawals in random order, a harmonize after each: every pair
    of consecutive releases adds and removes only k-anonymous groups, re-codes no one, and
    the accounting balances."""
    from ctdc.audit import audit_release
    from ctdc.store.withdrawals import withdraw

    qis = schema.quasi_identifiers
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    ws, _ = init_workspace(folder / "data", k_floor=2)
    before = night(ws, schema, org, export(folder, "base.csv", list(range(1, 61))))
    for n, (kind, ids) in enumerate(steps):
        ids = sorted(set(ids))
        try:
            if kind == "withdraw":
                staged = set(range(1, 61)) | {i for k2, more in steps[:n] if k2 != "withdraw"
                                              for i in more}  # fmt: skip
                known = [f"{i:05d}" for i in ids if i in staged]
                if known:
                    withdraw(ws, "test-org", known, "consent")
                after = harmonize(ws, schema, k=K, levels=LEVELS)
            else:
                after = night(ws, schema, org, export(folder, f"{n}.csv", ids), mode=kind)
        except CtdcError as exc:  # a snapshot of a few records may leave nothing to publish
            assert exc.slug is Slug.TOO_FEW_RECORDS, exc.message()
            continue
        assert after.manifest.accounting.total.balanced
        if after.release_id == before.release_id:
            continue
        added, removed = diff(cases(after), cases(before)), diff(cases(before), cases(after))
        assert k_anonymous(added, qis) and k_anonymous(removed, qis), (kind, ids)
        report = audit_release(ws, schema, after.path, before.path, k=K,
                               only={"frozen rows", "differencing"})  # fmt: skip
        assert report.passed, [c.detail for c in report.failed]
        before = after


def test_an_unchanged_night_reads_no_record_until_a_held_one_could_leave(
    workspace, schema, org, tmp_path, monkeypatch
) -> None:
    """Same batches, withdrawals and settings: ``unchanged`` before any merge. While a record
    is held, the day is an input too (its wait decides), so the next day runs in full."""
    from ctdc.harmonize import pipeline
    from ctdc.harmonize.pipeline import ReleaseStatus

    merges: list[int] = []
    real_merge = pipeline.merge_records

    def counting(*args, **kwargs):
        merges.append(1)
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(pipeline, "merge_records", counting)
    first = night(workspace, schema, org, export(tmp_path, "a.csv", list(range(1, 61))))
    again = harmonize(workspace, schema, k=K, levels=LEVELS)
    assert again.status is ReleaseStatus.UNCHANGED and again.release_id == first.release_id
    assert len(merges) == 1
    held = night(workspace, schema, org, export(tmp_path, "b.csv", [500]))
    assert held.manifest.series["held"] == 1 and len(merges) == 2
    assert harmonize(workspace, schema, k=K, levels=LEVELS).status is ReleaseStatus.UNCHANGED
    assert len(merges) == 2
    monkeypatch.setattr(pipeline, "today_utc", lambda: "2099-01-01")
    harmonize(workspace, schema, k=K, levels=LEVELS)
    assert len(merges) == 3


def test_the_ledger_keeps_when_each_record_was_first_seen_and_published(
    workspace, schema, org, tmp_path
) -> None:
    """The delay before publication is readable from one ledger (benchmarks/series.py)."""
    first = night(workspace, schema, org, export(tmp_path, "a.csv", list(range(1, 61))))
    second = night(workspace, schema, org, export(tmp_path, "b.csv", [900]))
    ledger = read_ledger(workspace.root, second.release_id)
    assert ledger is not None
    published = ledger[ledger["state"] == "published"]
    assert published["first_seen"].notna().all() and published["published_on"].notna().all()
    assert (published["published_on"] >= published["first_seen"]).all()
    [held] = ledger.loc[ledger["state"] == "pending", "first_seen"].tolist()
    assert held == first.manifest.created_at[:10]


def test_a_withheld_record_withdrawn_later_is_counted_once(
    workspace, schema, org, tmp_path
) -> None:
    """Withheld to pad a removal, then withdrawn: the accounting counts it as withdrawn."""
    from ctdc.store.withdrawals import withdraw

    night(workspace, schema, org, export(tmp_path, "a.csv", list(range(1, 61))))
    second = night(workspace, schema, org, export(tmp_path, "b.csv", list(range(2, 61))),
                   mode="snapshot")  # fmt: skip
    ledger = read_ledger(workspace.root, second.release_id)
    assert ledger is not None
    withheld = ledger.loc[ledger["state"] == "withheld", "case_pseudonym"].tolist()
    assert withheld, "the removal of record 1 was padded with class-mates"
    # find a withheld record's case id: the export ids are 00002..00060
    from ctdc.store.pseudonym import pseudonym_digests

    ids = [f"{i:05d}" for i in range(2, 61)]
    digests = pseudonym_digests(workspace.load_key(), "test-org", ids)
    by_pseudonym = dict(zip((d.hex() for d in digests), ids, strict=True))
    assert withdraw(workspace, "test-org", [by_pseudonym[withheld[0]]], "consent") == (1, 0)
    third = harmonize(workspace, schema, k=K, levels=LEVELS)
    assert third.status == "published", third.status
    acc = third.manifest.accounting.total
    assert acc.balanced and acc.withdrawn == 1 and acc.withheld == len(withheld) - 1
