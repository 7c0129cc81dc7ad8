"""The summary ``ingest``, ``validate`` and ``reprocess`` print, and what their ``--json``
error adds: the files finished before a failure."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import typer

from ctdc.errors import CtdcError
from ctdc.slugs import ExitCode, Slug
from ctdc.terminal import say

if TYPE_CHECKING:
    from ctdc.ingest import IngestResult


def results_so_far(results: list[IngestResult]) -> Callable[[], dict[str, object]]:
    """What ``--json`` adds to an error: the files finished before it (an ingested file stays
    ingested, so a script must learn about it even when a later file fails)."""
    return lambda: {"results": [r.to_dict() for r in results]}


def show_results(
    results: Sequence[IngestResult], *, as_json: bool, quiet: bool, max_reject_rate: float
) -> None:
    """The summary of ``ingest`` and ``validate``; exit 1 if a file is (or would be) rejected.

    ``quiet``: nothing on success, ``--json`` included; a rejection still prints (its JSON too).
    """
    from ctdc.ingest import IngestStatus
    from ctdc.runlog import failed as log_failure

    rejected = [r for r in results if r.status is IngestStatus.REJECTED]
    if as_json and (rejected or not quiet):
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    elif not quiet and not as_json:
        from ctdc.report.ingest import ingest_examples, ingest_table
        from ctdc.terminal import console

        out = console()
        out.print(ingest_table(results))
        for line in ingest_examples(results):
            out.print(line, markup=False, soft_wrap=True, highlight=False)
    for r in rejected:
        staged = "nothing would be staged" if r.dry_run else "nothing staged"
        kept = "" if r.dry_run else f", all {r.rows_read:,} rows kept in the quarantine"
        failed = f"{r.invalid:,} of {r.rows_read:,} rows ({r.reject_rate:.1%}) failed"
        why = f"{failed}, above {max_reject_rate:.1%}; {staged}{kept}"
        say(CtdcError("reject-rate-exceeded", why, file=r.file).message())
    if rejected:
        log_failure(Slug.REJECT_RATE_EXCEEDED)
        raise typer.Exit(ExitCode.DATA)
