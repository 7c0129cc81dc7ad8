"""``ingest_file``: one export -> staging Parquet + quarantine + ledger entry.

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
from ctdc.errors import CtdcError
from ctdc.ingest.mapping import Mapping
from ctdc.ingest.pseudonym import pseudonymize
from ctdc.ingest.readers import RawTable, read_export, text_lines
from ctdc.ingest.transform import apply_mapping
from ctdc.schema import Schema, build_contract, contract_failures, expected_text
from ctdc.store.atomic import write_parquet
from ctdc.store.ledger import BatchEntry, commit_entry, find_entry
from ctdc.store.workspace import Workspace

QUARANTINE_SCHEMA = pa.schema(
    [
        ("batch_id", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("column", pa.string()),
        ("field", pa.string()),
        ("reason", pa.string()),
        ("value", pa.string()),
        ("expected", pa.string()),
        ("raw", pa.string()),
    ]
)


@dataclass(frozen=True)
class IngestResult:
    """What a data officer needs to know about one file."""

    org: str
    file: str
    batch_id: str
    status: str  # "ingested" | "unchanged" | "rejected"
    rows_read: int
    staged: int
    quarantined: int
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    reject_rate: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


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


def _quarantine_table(raw: RawTable, errors: pd.DataFrame, batch_id: str) -> pa.Table:
    errors = errors.sort_values(["pos", "column", "reason"], kind="stable")
    pos = errors["pos"].to_numpy(dtype=np.int64)
    unique_pos = np.unique(pos)
    raw_json = dict(zip(unique_pos, text_lines(raw.frame.iloc[unique_pos]), strict=True))
    return pa.table(
        {
            "batch_id": [batch_id] * len(errors),
            "source_file": [raw.path.name] * len(errors),
            "source_row": raw.rows[pos],
            "column": errors["column"].astype(str).to_list(),
            "field": errors["field"].astype(str).to_list(),
            "reason": errors["reason"].astype(str).to_list(),
            "value": errors["value"].astype(str).to_list(),
            "expected": errors["expected"].astype(str).to_list(),
            "raw": [raw_json[p] for p in pos],
        },
        schema=QUARANTINE_SCHEMA,
    )


def ingest_file(
    ws: Workspace,
    schema: Schema,
    mapping: Mapping,
    path: Path,
    *,
    key: bytes,
    max_reject_rate: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> IngestResult:
    """Ingest one export of ``mapping.org``; a re-ingest of the same bytes is a no-op.

    When the share of quarantined rows passes ``max_reject_rate`` the batch is
    *not* committed (nothing is staged), but its quarantine is written so the
    data officer can see why; the result's status is then ``rejected``.
    """
    say = progress or (lambda _msg: None)
    org = mapping.org
    if not path.is_file():
        raise CtdcError("file-not-found", "no such file", file=path)
    sha = file_sha256(path)
    batch_id = sha[:16]
    done = find_entry(ws, org, batch_id)
    if done is not None:
        return IngestResult(org, path.name, batch_id, "unchanged", done.rows_read, done.staged,
                            done.quarantined, done.quarantined_by_reason)  # fmt: skip
    try:
        say(f"reading {path.name}")
        raw = read_export(path, mapping.source)
        say(f"mapping {len(raw.frame):,} rows")
        mapped = apply_mapping(raw.frame, mapping, schema)
    except CtdcError as exc:
        raise exc.located(path) from None
    errors = mapped.error_frame()
    good = ~np.isin(np.arange(len(raw.frame)), errors["pos"].to_numpy())

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

    rows_read = len(raw.frame)
    bad_rows = errors.drop_duplicates(["pos", "reason"])
    by_reason = {str(k): int(v) for k, v in bad_rows["reason"].value_counts().sort_index().items()}
    quarantined = int(errors["pos"].nunique())
    rate = quarantined / rows_read
    status = "rejected" if rate > max_reject_rate else "ingested"
    if quarantined:
        qdir = ws.private_dir(ws.quarantine_dir(org))
        write_parquet(qdir / f"{batch_id}.parquet", _quarantine_table(raw, errors, batch_id))
    result = IngestResult(org, path.name, batch_id, status, rows_read, len(staged), quarantined,
                          by_reason, round(rate, 6))  # fmt: skip
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
        ),
    )
    return result
