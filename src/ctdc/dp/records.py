"""The true records every DP product is computed from: what the k-anonymous release is built
from, before it is generalized. One function, so the count tables and the synthetic table
can never count different people."""

from __future__ import annotations

import pandas as pd

from ctdc.errors import CtdcError
from ctdc.harmonize.merge import merge_staging
from ctdc.slugs import Slug
from ctdc.store.ledger import live_entries, read_entries
from ctdc.store.withdrawals import read_withdrawals
from ctdc.store.workspace import Workspace


def true_records(ws: Workspace, columns: list[str]) -> pd.DataFrame:
    """The live staged batches merged, one record per person (harmonize's merge: the latest
    batch wins), the withdrawn cases (``ctdc withdraw``) left out, only ``columns`` (one that
    no organization stages is all NULL: not recorded). Raises ``no-staged-data`` when
    nothing is staged or all was withdrawn."""
    entries, _ = live_entries(read_entries(ws))
    if not entries:
        raise CtdcError(Slug.NO_STAGED_DATA, f"no committed batch in {ws.ledger_dir}")
    frame, _ = merge_staging(ws, entries)
    frame = frame[~frame["case_pseudonym"].isin(read_withdrawals(ws)).to_numpy(dtype=bool)]
    if frame.empty:
        raise CtdcError(Slug.NO_STAGED_DATA, "every staged record was withdrawn")
    return frame.reindex(columns=columns).reset_index(drop=True)
