"""``ctdc harmonize``: merge the staged batches into one verified, published release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ctdc.cli.common import errors, progress, schema, state, warn, workspace
from ctdc.cli.runlog import logged
from ctdc.errors import CtdcError


def parse_levels(pairs: list[str]) -> dict[str, int | None]:
    """``--generalize FIELD=LEVEL|auto`` options -> release levels (None = auto)."""
    levels: dict[str, int | None] = {}
    for pair in pairs:
        name, _, level = pair.partition("=")
        if not (level.isdigit() or level == "auto"):
            raise CtdcError(
                "bad-option",
                f"--generalize {pair!r}: expected FIELD=LEVEL or FIELD=auto, e.g. age_band=1",
            )
        levels[name] = None if level == "auto" else int(level)
    return levels


@logged("harmonize", args=("k", "l_div", "new_epoch"))
def harmonize(
    ctx: typer.Context,
    k: Annotated[
        int | None,
        typer.Option(
            "--k",
            min=2,
            help="k for this run, recorded in the manifest; never under the policy's floor; "
            "a k other than the series epoch's needs --new-epoch "
            "\\[default: the workspace policy's k].",
        ),
    ] = None,
    generalize: Annotated[
        list[str] | None,
        typer.Option(
            "--generalize",
            help="FIELD=LEVEL (0 = as recorded) or FIELD=auto: release level of a "
            "quasi-identifier, overriding the schema; e.g. age_band=1.",
        ),
    ] = None,
    l_div: Annotated[
        int | None,
        typer.Option(
            "--l",
            min=2,
            help="Also require l distinct values of every sensitive "
            "field in each class (distinct l-diversity).",
        ),
    ] = None,
    new_epoch: Annotated[
        bool,
        typer.Option(
            "--new-epoch",
            help="Re-anonymize every record from scratch (published rows may change form: "
            "read docs/privacy.md on differencing first). Needed after a change of schema, "
            "k, l, levels or protected flags.",
        ),
    ] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for a running harmonize.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print nothing on success, --json included (cron)."),
    ] = False,
) -> None:
    """Merge all staged batches, anonymize, verify k and publish a release atomically."""
    from ctdc.runlog import note
    from ctdc.runlog.facts import harmonize_facts

    run = state(ctx)
    quiet = quiet or run.quiet
    with errors(run.debug, as_json=as_json):
        levels = parse_levels(generalize or [])
        settings = run.settings
        if not new_epoch and _nothing_new(settings.data_dir, settings.schema_path, k, l_div,
                                          levels, quiet, as_json):  # fmt: skip
            return
        ws = workspace(run)
        # the data stack only now: a missing workspace is refused in a blink
        from ctdc.harmonize import harmonize as run_harmonize

        result = run_harmonize(ws, schema(run, ws), k=k, l=l_div, levels=levels, wait=wait,
                               new_epoch=new_epoch,
                               progress=progress(quiet or as_json))  # fmt: skip
    note(**harmonize_facts(result))
    if quiet:
        return
    public = {"path": str(result.public_path), "manifest": result.public_manifest.to_dict()}
    if as_json:
        doc = {"status": result.status, **result.manifest.to_dict(), "public": public}
        typer.echo(json.dumps(doc, indent=2))
    else:
        from ctdc.report.harmonize import harmonize_tables
        from ctdc.terminal import console

        out = console()
        if result.status == "unchanged":
            out.print(f"input unchanged: release {result.release_id} stays current "
                      f"(public: {result.public_path})", markup=False)  # fmt: skip
            return
        for table in harmonize_tables(result.manifest):
            out.print(table)
        recoded = (result.manifest.series or {}).get("recoded_since_previous_epoch")
        if recoded:
            warn(
                f"new epoch: {recoded:,} records published before now have another form; "
                "someone holding the previous release can intersect the two (docs/privacy.md)"
            )
        out.print(f"published release {result.release_id} for analysts in "
                  f"{result.public_path} (private copy, full manifest: {result.path})",
                  markup=False)  # fmt: skip


def _nothing_new(data_dir: Path, schema_path: Path, k: int | None, l: int | None,  # noqa: E741
                 levels: dict[str, int | None], quiet: bool, as_json: bool) -> bool:  # fmt: skip
    """A night with nothing new, told by the last harmonize's stamp before the data stack is
    imported (``ctdc.store.night_stamp``): the current release stays, said as the full
    run says it. False: the full run decides."""
    from ctdc.config import bundled_schema
    from ctdc.runlog import note
    from ctdc.store.night_stamp import night_options, schema_is_pinned, unchanged_night

    if not schema_is_pinned(schema_path, data_dir, bundled_schema()):
        return False  # the full run says the configured schema changes nothing
    same = unchanged_night(data_dir, night_options(k, l, levels))
    if same is None:
        return False
    note(status="unchanged", release_id=same["release_id"], checked="stamp")
    if quiet:
        return True
    public = Path(same["public_path"])
    if as_json:
        private = data_dir / "releases" / same["release_id"] / "manifest.json"
        doc = {
            "status": "unchanged",
            **json.loads(private.read_text(encoding="utf-8")),
            "public": {
                "path": str(public),
                "manifest": json.loads((public / "manifest.json").read_text("utf-8")),
            },
        }
        typer.echo(json.dumps(doc, indent=2))
    else:
        typer.echo(f"input unchanged: release {same['release_id']} stays current "
                   f"(public: {public})")  # fmt: skip
    return True
