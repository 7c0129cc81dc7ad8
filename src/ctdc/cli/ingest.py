"""``ctdc ingest`` and ``ctdc validate``: one export through its mapping, staged or only checked.

Both take the same files and options and print the same summary, so a data
officer sees in ``validate`` exactly what ``ingest`` would do.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from ctdc.cli.common import (
    FilesArgument,
    JsonSummaryOption,
    OrgMappingOption,
    QuietOption,
    errors,
    progress,
    schema,
    state,
    warn,
    workspace,
)
from ctdc.cli.ingest_summary import results_so_far, show_results
from ctdc.cli.runlog import logged
from ctdc.errors import CtdcError

if TYPE_CHECKING:
    from ctdc.ingest import IngestResult


class Mode(StrEnum):
    append = "append"
    snapshot = "snapshot"


@logged("ingest", args=("org", "mode", "files"))
def ingest(
    ctx: typer.Context,
    files: FilesArgument,
    org: OrgMappingOption,
    max_reject_rate: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Fail (exit 1, nothing staged) above this share "
            "of quarantined rows \\[default: 0.10].",
        ),
    ] = None,
    mode: Annotated[
        Mode,
        typer.Option(
            "--mode",
            help="append: add to the organization's earlier batches; snapshot: this export "
            "replaces them in the next releases (nothing is deleted).",
        ),
    ] = Mode.append,
    as_json: JsonSummaryOption = False,
    quiet: QuietOption = False,
) -> None:
    """Map, validate, quarantine and stage exports; the same file again is a no-op."""
    from ctdc.org_name import check_org_name
    from ctdc.runlog import note
    from ctdc.runlog.facts import ingest_facts

    run = state(ctx)
    quiet = quiet or run.quiet
    results: list[IngestResult] = []
    # an export is hostile input: never a traceback; with --json, the error as JSON on stdout
    with errors(run.debug, catch_all=True, as_json=as_json, done=results_so_far(results)):
        settings = run.settings.with_overrides(max_reject_rate=max_reject_rate)
        check_org_name(org)
        if mode is Mode.snapshot and len(files) > 1:
            raise CtdcError("bad-option", f"--mode snapshot takes one file, got {len(files)}",
                            fix="ingest the first file with --mode snapshot, then the others "
                            "with --mode append")  # fmt: skip
        ws = workspace(run)
        # the data stack only now: a bad --org or a missing workspace is refused in a blink
        from ctdc.ingest import ingest_file
        from ctdc.ingest.unchanged import unchanged_notes
        from ctdc.mapping.locate import find_mapping
        from ctdc.store.policy import load_policy

        used = schema(run, ws)
        mapping = find_mapping(settings.pipelines_dir, org, used)
        key = ws.load_key()
        archive = load_policy(ws).archive_exports
        for f in files:  # one by one: an error on a later file still reports the earlier ones
            results.append(
                ingest_file(
                    ws,
                    used,
                    mapping,
                    f,
                    key=key,
                    max_reject_rate=settings.max_reject_rate,
                    progress=progress(quiet or as_json),
                    mode=mode.value,
                    archive=archive,
                )
            )
            note(**ingest_facts(results))
        if not quiet:
            for line in unchanged_notes(ws, results, mode.value):
                warn(line)
    show_results(results, as_json=as_json, quiet=quiet, max_reject_rate=settings.max_reject_rate)


def validate(
    ctx: typer.Context,
    files: FilesArgument,
    org: OrgMappingOption,
    max_reject_rate: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help="Exit 1 above this share of bad rows \\[default: 0.10]."
        ),
    ] = None,
    as_json: JsonSummaryOption = False,
    quiet: QuietOption = False,
) -> None:
    """Dry run of ingest: the same checks and summary, nothing written (no workspace needed)."""
    from ctdc.ingest.dry_run import validate_files
    from ctdc.mapping import check_org_name
    from ctdc.mapping.locate import find_mapping
    from ctdc.store.resolve import policy_workspace

    run = state(ctx)
    quiet = quiet or run.quiet
    results: list[IngestResult] = []
    # an export is hostile input: never a traceback; with --json, the error as JSON on stdout
    with errors(run.debug, catch_all=True, as_json=as_json, done=results_so_far(results)):
        settings = run.settings.with_overrides(max_reject_rate=max_reject_rate)
        check_org_name(org)
        used = schema(run, policy_workspace(settings.data_dir))
        mapping = find_mapping(settings.pipelines_dir, org, used)
        for f in files:  # one by one: an error on a later file still reports the earlier ones
            results += validate_files(used, mapping, [f], max_reject_rate=settings.max_reject_rate,
                                      progress=progress(quiet or as_json))  # fmt: skip
    show_results(results, as_json=as_json, quiet=quiet, max_reject_rate=settings.max_reject_rate)
