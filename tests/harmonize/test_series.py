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
import re

import duckdb
import pytest
from series_helpers import (
    LEVELS,
    K,
    cases,
    diff,
    export,
    k_anonymous,
    night,
    published_forms,
)

from ctdc.errors import CtdcError
from ctdc.harmonize import harmonize
from ctdc.package import package_files
from ctdc.slugs import Slug
from ctdc.store.rotation import rotate_key


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    assert "number 1 in the order given" in bad.stderr  # a position: no case id is shown
    assert "99999" not in bad.stderr
    bad = run_ctdc(tmp_path, "withdraw", "--org", "test-org", "00007", "--reason", "whim")
    assert bad.exit_code == 2 and "error[bad-option]" in bad.stderr
    assert not (tmp_path / "ctdc-data" / "withdrawals.parquet").exists()
    done = run_ctdc(tmp_path, "withdraw", "--org", "test-org", "00007", " 00008 ")
    assert done.exit_code == 0 and "withdrew 2 case(s) of test-org" in done.stderr
    again = run_ctdc(tmp_path, "harmonize", "--k", str(K), *levels, "--json")
    doc = json.loads(again.stdout)
    assert doc["series"]["withdrawn"] == 2 and doc["series"]["left"] == 2
    assert doc["accounting"]["total"]["withdrawn"] == 2 and doc["accounting"]["total"]["balanced"]


@pytest.mark.slow
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


@pytest.mark.slow
def test_corrected_records_published_again_the_same_night_pass_the_audit(
    workspace, schema, org, tmp_path
) -> None:
    """A batch that corrects many published records (their ages changed): they leave as
    withdrawals and come back as new records in the same night's increment. That is no
    re-coding, so the audit's ``frozen rows`` passes (it failed every such night before), and
    the corrected records' old forms are gone while their new ones are k-anonymous."""
    from rich.console import Console

    from ctdc.audit import audit_release
    from ctdc.report.harmonize import harmonize_tables
    from ctdc.store.policy import change_policy

    change_policy(workspace, {"series_increment_days": 1}, reason="the same night")
    qis = schema.quasi_identifiers
    first = night(workspace, schema, org, export(tmp_path, "a.csv", list(range(1, 121))))
    second = night(workspace, schema, org,
                   export(tmp_path, "b.csv", list(range(1, 61)), age_shift=20))  # fmt: skip
    series = second.manifest.series
    assert series["corrected"] == 60 and series["left"] >= 60
    added = diff(cases(second), cases(first))
    assert len(added) > 0 and k_anonymous(added, qis)  # published again, the same night
    assert k_anonymous(diff(cases(first), cases(second)), qis)
    report = audit_release(workspace, schema, second.path, first.path, k=K,
                           only={"frozen rows"})  # fmt: skip
    assert report["frozen rows"].passed, report["frozen rows"].detail
    total = second.manifest.accounting.total
    assert total.balanced
    # the operator's table shows every term of the balance, so that it adds up on screen
    console = Console(record=True, width=200)
    console.print(harmonize_tables(second.manifest)[0])
    lines = console.export_text().splitlines()
    header = next(line for line in lines if "rows read" in line)
    assert all(word in header for word in ("held", "withheld", "withdrawn"))
    row = next(line for line in lines if "TOTAL" in line)
    read, quarantined, staged, *terms, released = (int(n) for n in re.findall(r"\d+", row))
    assert read == staged + quarantined and staged == sum(terms) + released
    assert released == total.released and terms[-3:] == [total.held, total.withheld,
                                                         total.withdrawn]  # fmt: skip
