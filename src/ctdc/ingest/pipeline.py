"""``ingest_file``: one export -> staging Parquet + quarantine + ledger entry.

Nothing is lost: every row read ends up staged or quarantined, and the
function checks ``rows_read == staged + quarantined`` before it writes. Rows
the *reader* flagged (wrong field count, broken NDJSON line, control
characters, overlong values) go to the quarantine with that reason alone,
since mapping a misaligned row would only add noise. When the share of bad
rows passes ``max_reject_rate`` the file is rejected: nothing is staged and
*every* row goes to the quarantine, the valid ones as ``batch-rejected``, so
the accounting still balances and the data officer sees the whole file.

Order of writes is the crash-safety argument: quarantine, then staging, then
the ledger entry, each atomic. Until the ledger entry exists the batch does
not exist for harmonize or for the "already ingested" check, so an
interrupted ingest leaves at worst an orphan file that the next run of the
same export overwrites.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ctdc import __version__
from ctdc.errors import CATALOGUE, CtdcError
from ctdc.ingest.mapping import Mapping
from ctdc.ingest.pseudonym import pseudonymize
from ctdc.ingest.raw import RawTable, error_rows
from ctdc.ingest.readers import read_export
from ctdc.ingest.transform import Mapped, apply_mapping
from ctdc.quarantine.table import quarantine_table
from ctdc.schema import Schema, build_contract, contract_failures, expected_text
from ctdc.store.atomic import write_parquet
from ctdc.store.ledger import MODES, BatchEntry, commit_entry, find_entry
from ctdc.store.workspace import Workspace

#: how many offending rows the summary shows (all of them are in the quarantine)
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class IngestResult:
    """What a data officer needs to know about one file.

    ``status``: ``ingested``, ``unchanged`` (same bytes already ingested),
    ``rejected`` (too many bad rows: nothing staged) or, for a dry run
    (``ctdc validate``), ``valid``. Always ``rows_read == staged + quarantined``;
    ``invalid`` counts the rows that failed a check (= ``quarantined`` unless
    the file was rejected, which quarantines its valid rows too).
    """

    org: str
    file: str
    batch_id: str
    status: str
    rows_read: int
    staged: int
    quarantined: int
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    reject_rate: float = 0.0
    invalid: int = 0
    examples: list[dict[str, object]] = field(default_factory=list)
    dry_run: bool = False
    mode: str = "append"  # ledger mode: "append" or "snapshot" (as recorded when unchanged)

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.staged + self.quarantined

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "balanced": self.balanced}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _contract_errors(schema: Schema, mapping: Mapping, staged: pd.DataFrame) -> pd.DataFrame:
    """Cells of ``staged`` that break the schema's pandera contract, as error rows."""
    failures = contract_failures(build_contract(schema, list(staged.columns)), staged)
    if failures.empty:
        return failures
    source_col = {name: rule.column or name for name, rule in mapping.fields.items()}
    return pd.DataFrame(
        {
            "pos": failures["index"].to_numpy(),
            "column": failures["field"].map(lambda f: source_col.get(f, f)).to_numpy(),
            "field": failures["field"].to_numpy(),
            "reason": failures["reason"].to_numpy(),
            "value": failures["value"].to_numpy(),
            "expected": failures["field"].map(lambda f: expected_text(schema[f])).to_numpy(),
        }
    )


def _row_errors(raw: RawTable, mapped: Mapped) -> pd.DataFrame:
    """Read errors win: a row the reader flagged keeps only those (mapping it is noise)."""
    errors = mapped.error_frame()
    if not raw.errors.empty:
        errors = errors[~errors["pos"].isin(raw.errors["pos"])]
        errors = pd.concat([raw.errors, errors], ignore_index=True)
    dup = (errors["reason"] == "duplicate-case-id").to_numpy()
    if dup.any() and mapped.case_id is not None:
        # say where the first occurrence is, so the officer can compare the two rows
        ids = mapped.case_id
        first_pos = pd.Series(ids.index.to_numpy(), index=ids.to_numpy())
        first_pos = first_pos[~first_pos.index.duplicated(keep="first")]
        first_row = raw.rows[first_pos.reindex(errors.loc[dup, "value"]).to_numpy(dtype=np.int64)]
        errors.loc[dup, "expected"] = [f"each case id once per export (first at row {r})"
                                       for r in first_row]  # fmt: skip
    return errors


def _examples(raw: RawTable, errors: pd.DataFrame) -> list[dict[str, object]]:
    shown_rows = errors[errors["reason"] != "batch-rejected"].sort_values("pos", kind="stable")
    shown_rows = shown_rows.drop_duplicates("pos").head(MAX_EXAMPLES)
    return [
        {
            "file": raw.path.name,
            "row": int(raw.rows[e.pos]),
            "column": e.column or None,
            "reason": e.reason,
            "value": str(e.value),  # read errors are already escaped and cut (raw.shown)
            "expected": e.expected,
            "fix": CATALOGUE[e.reason].fix if e.reason in CATALOGUE else "",
        }
        for e in shown_rows.itertuples(index=False)
    ]


def ingest_file(
    ws: Workspace | None,
    schema: Schema,
    mapping: Mapping,
    path: Path,
    *,
    key: bytes,
    max_reject_rate: float = 1.0,
    progress: Callable[[str], None] | None = None,
    dry_run: bool = False,
    mode: str = "append",
) -> IngestResult:
    """Ingest one export of ``mapping.org``; a re-ingest of the same bytes is a no-op.

    ``mode`` is recorded in the ledger entry: ``append`` adds this batch to the
    organization's earlier ones, ``snapshot`` makes it replace them in every
    release from its commit on (``ctdc.store.ledger.live_entries``); nothing
    is deleted, so an interrupted snapshot leaves the earlier batches live.

    When the share of bad rows passes ``max_reject_rate`` the batch is *not*
    committed (nothing is staged), but all its rows are quarantined so the data
    officer can see why; the result's status is then ``rejected``.

    ``dry_run`` (``ctdc validate``) does every step but writes nothing and does
    not look at the ledger: ``ws`` may then be None and ``key`` any key, since
    no pseudonym leaves the process.
    """
    say = progress or (lambda _msg: None)
    org = mapping.org
    if mode not in MODES:
        raise CtdcError("bad-option", f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    if not path.is_file():
        raise CtdcError("file-not-found", "no such file", file=path)
    sha = file_sha256(path)
    batch_id = sha[:16]
    if not dry_run:
        assert ws is not None
        done = find_entry(ws, org, batch_id)
        if done is not None:
            return IngestResult(org, path.name, batch_id, "unchanged", done.rows_read,
                                done.staged, done.quarantined, done.quarantined_by_reason,
                                invalid=done.quarantined, mode=done.mode)  # fmt: skip
    try:
        say(f"reading {path.name}")
        raw = read_export(path, mapping.source)
        say(f"mapping {len(raw.frame):,} rows")
        mapped = apply_mapping(raw.frame, mapping, schema)
    except CtdcError as exc:
        raise exc.located(path) from None
    errors = _row_errors(raw, mapped)
    rows_read = len(raw.frame)
    good = ~np.isin(np.arange(rows_read), errors["pos"].to_numpy())

    staged = mapped.frame[good].copy()
    assert mapped.case_id is not None
    staged["org_id"] = pd.array([org] * len(staged), dtype="string")
    staged["case_pseudonym"] = pd.array(
        pseudonymize(key, org, mapped.case_id[good].to_list()), dtype="string"
    )
    staged["batch_id"] = pd.array([batch_id] * len(staged), dtype="string")
    staged = staged[schema.staged]
    say("validating against the schema")
    contract = _contract_errors(schema, mapping, staged)
    if not contract.empty:
        errors = pd.concat([errors, contract], ignore_index=True)
        staged = staged.drop(index=contract["pos"].unique())

    invalid = int(errors["pos"].nunique())
    rate = invalid / rows_read
    status = "rejected" if rate > max_reject_rate else ("valid" if dry_run else "ingested")
    if status == "rejected":
        held = staged.index.to_numpy()
        errors = pd.concat([errors, error_rows(held, "", "batch-rejected", "", "")],
                           ignore_index=True)  # fmt: skip
        staged = staged.iloc[:0]
    quarantined = int(errors["pos"].nunique())
    bad_rows = errors.drop_duplicates(["pos", "reason"])
    by_reason = {str(k): int(v) for k, v in bad_rows["reason"].value_counts().sort_index().items()}
    if rows_read != len(staged) + quarantined:  # a bug, never a data problem
        raise RuntimeError(f"row accounting does not balance for {path.name}: {rows_read} read, "
                           f"{len(staged)} staged, {quarantined} quarantined")  # fmt: skip
    result = IngestResult(org, path.name, batch_id, status, rows_read, len(staged), quarantined,
                          by_reason, round(rate, 6), invalid, _examples(raw, errors),
                          dry_run, mode)  # fmt: skip
    if dry_run:
        return result
    assert ws is not None
    qfile = ws.quarantine_dir(org) / f"{batch_id}.parquet"
    if quarantined:
        ws.private_dir(qfile.parent)
        write_parquet(qfile, quarantine_table(raw.frame, raw.rows, path, errors, batch_id))
    else:
        qfile.unlink(missing_ok=True)  # left by an earlier, rejected ingest of these bytes
    if status == "rejected":
        return result
    say(f"staging {len(staged):,} rows")
    table = pa.Table.from_pandas(staged, schema=schema.arrow_schema(), preserve_index=False)
    write_parquet(ws.private_dir(ws.staging_dir(org)) / f"{batch_id}.parquet", table)
    now = time.time_ns()
    commit_entry(
        ws,
        BatchEntry(
            org=org,
            batch_id=batch_id,
            sha256=sha,
            source_name=path.name,
            source_format=mapping.source.format,
            ingested_at=dt.datetime.fromtimestamp(now / 1e9, dt.UTC).isoformat(),
            seq=now,
            rows_read=rows_read,
            staged=len(staged),
            quarantined=quarantined,
            quarantined_by_reason=by_reason,
            mapping_sha256=mapping.sha256,
            schema_version=schema.version,
            ctdc_version=__version__,
            mode=mode,
        ),
    )
    return result
