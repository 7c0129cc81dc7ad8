"""``ctdc reprocess``: an organization's live batches again, with its current mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctdc.cli.common import (
    JsonSummaryOption,
    OrgMappingOption,
    QuietOption,
    errors,
    progress,
    schema,
    state,
    workspace,
)
from ctdc.cli.ingest_summary import results_so_far, show_results
from ctdc.cli.runlog import logged
from ctdc.slugs import ExitCode
from ctdc.terminal import say

if TYPE_CHECKING:
    from ctdc.ingest import IngestResult


@logged("reprocess", args=("org",))
def reprocess(
    ctx: typer.Context,
    org: OrgMappingOption,
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Exports given again (needed when the workspace did not archive "
            "them); matched to batches by content."
        ),
    ] = None,
    changed: Annotated[
        bool,
        typer.Option("--changed", help="Only batches staged with another version of the mapping."),
    ] = False,
    max_reject_rate: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Leave a batch as it was above this share of "
            "quarantined rows (exit 1) \\[default: 0.10].",
        ),
    ] = None,
    as_json: JsonSummaryOption = False,
    quiet: QuietOption = False,
) -> None:
    """Run ORG's current batches again with its current mapping (after a mapping fix).

    Each batch keeps its id, mode and place in commit order; its staging,
    quarantine and ledger entry are replaced. A batch the mapping would now
    reject is left as it was (exit 1).
    """
    from ctdc.org_name import check_org_name

    run = state(ctx)
    quiet = quiet or run.quiet
    results: list[IngestResult] = []
    with errors(run.debug, catch_all=True, as_json=as_json, done=results_so_far(results)):
        settings = run.settings.with_overrides(max_reject_rate=max_reject_rate)
        check_org_name(org)
        ws = workspace(run)
        from ctdc.ingest.reprocess import reprocess as run_reprocess
        from ctdc.mapping.locate import find_mapping
        from ctdc.store.policy import load_policy

        used = schema(run, ws)
        mapping = find_mapping(settings.pipelines_dir, org, used)
        results += run_reprocess(ws, used, mapping, key=ws.load_key(), files=files or [],
                                 only_stale=changed,
                                 max_reject_rate=settings.max_reject_rate,
                                 archive=load_policy(ws).archive_exports,
                                 progress=progress(quiet or as_json))  # fmt: skip
    if not results and not as_json:
        say(f"nothing to reprocess for {org}" + (" (every batch has the current mapping)"
                                                  if changed else ""))  # fmt: skip
    from ctdc.ingest import IngestStatus

    kept = [r for r in results if r.status is IngestStatus.REJECTED]
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    elif len(kept) < len(results):
        show_results([r for r in results if r not in kept], as_json=False, quiet=quiet,
              max_reject_rate=settings.max_reject_rate)  # fmt: skip
    for r in kept:
        say(f"error[reject-rate-exceeded]: {r.file}: {r.invalid:,} of {r.rows_read:,} rows "
            f"would fail with the current mapping; batch {r.batch_id} is left as it was "
            "(fix: correct the mapping and reprocess again)")  # fmt: skip
    if kept:
        raise typer.Exit(ExitCode.DATA)
