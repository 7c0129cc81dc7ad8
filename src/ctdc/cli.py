"""The ``ctdc`` command line: a thin typer layer over the library, no logic of its own.

Every command resolves settings, calls one library function and renders its
result. Catalogued errors print one line and exit with their code (0 ok,
1 data/policy, 2 usage, 3 I/O or environment); ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ctdc import __version__
from ctdc.config import Settings, load_settings
from ctdc.errors import CtdcError, ExitCode
from ctdc.report import console, frame_table, harmonize_tables, ingest_examples, ingest_table

app = typer.Typer(
    name="ctdc",
    help="Counter-trafficking data collaborative: ingest exports, publish k-anonymous releases.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# help texts are rich markup: a default written into one is escaped as "\\[default: ...]",
# else rich takes it for a style tag and drops it


@dataclass
class State:
    settings: Settings
    debug: bool = False


def _state(ctx: typer.Context) -> State:
    return ctx.ensure_object(State)


@contextmanager
def _errors(state: State, *, catch_all: bool = False) -> Iterator[None]:
    """Turn catalogued errors into one stderr line and their exit code.

    ``catch_all`` (commands that read hostile files) also turns any other
    exception into ``internal-error``: one line, with the exception's type but
    not its text, which may quote a value of the file; ``--debug`` still
    shows the traceback.
    """
    try:
        yield
    except CtdcError as exc:
        if state.debug:
            raise
        console(stderr=True).print(exc.message(), markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except OSError as exc:
        if state.debug:
            raise
        err = CtdcError("io-error", exc.strerror or str(exc), file=exc.filename)
        console(stderr=True).print(err.message(), markup=False, soft_wrap=True)
        raise typer.Exit(err.exit_code) from None
    except Exception as exc:
        if state.debug or not catch_all or type(exc).__module__.startswith("typer"):
            raise
        err = CtdcError("internal-error", f"unexpected {type(exc).__name__}")
        console(stderr=True).print(err.message(), markup=False, soft_wrap=True)
        raise typer.Exit(err.exit_code) from None


def _progress(quiet: bool) -> Callable[[str], None]:
    from ctdc.progress import Steps  # a step per line; a bar for long reads, on a terminal

    return Steps(console(stderr=True), quiet=quiet)


def _print_version(value: bool) -> None:
    """``--version``: eager, so it answers before typer asks for a command."""
    if value:
        typer.echo(f"ctdc {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="CTDC_HOME",
            readable=False,  # an analyst may pass through the workspace (0711), not list it
            help="Workspace folder \\[default: ./ctdc-data].",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    with _errors(State(settings=None, debug=debug)):  # type: ignore[arg-type]
        settings = load_settings(data_dir=data_dir)
    ctx.obj = State(settings=settings, debug=debug)


def _workspace(state: State) -> Any:
    from ctdc.store.workspace import open_workspace

    return open_workspace(state.settings.data_dir)


def _schema(state: State, ws: Any = None) -> Any:
    """The workspace's pinned schema; the configured one only where no workspace is used.

    A deployment's ``schemas/`` (or ``ctdc.toml``'s schema) that differs from the
    pinned one changes nothing, and says so.
    """
    from ctdc.config import bundled_schema
    from ctdc.schema import load_schema
    from ctdc.store.policy import has_policy, pinned_schema, schema_differs

    configured = state.settings.schema_path
    if ws is None:
        return load_schema(configured)
    if not has_policy(ws):
        raise CtdcError("no-policy", f"the workspace {ws.root} has no release policy")
    schema = pinned_schema(ws)
    if configured.resolve() != bundled_schema().resolve() and schema_differs(ws, configured):
        console(stderr=True).print(
            f"warning: {configured} is not the schema pinned in the workspace; the pinned one "
            "is used (to adopt it: ctdc policy schema PATH --reason ...)",
            markup=False,
            soft_wrap=True,
        )
    return schema


@app.command()
def init(
    ctx: typer.Context,
    k: Annotated[
        int | None, typer.Option("--k", min=2, help="k of the release policy \\[default: 10].")
    ] = None,
    k_floor: Annotated[
        int | None,
        typer.Option("--k-floor", min=2, help="No release below this k \\[default: k]."),
    ] = None,
    publish_dir: Annotated[
        Path | None,
        typer.Option("--publish-dir", help="Analysts' folder \\[default: <data-dir>/public]."),
    ] = None,
    public_mode: Annotated[
        str,
        typer.Option(
            "--public-mode", help="Public folders' mode: 0755 (everyone), 0750 (group), 0700."
        ),
    ] = "0755",
) -> None:
    """Create a workspace: a new pseudonymization key (0600) and the pinned release policy.

    Never overwrites a key or a policy: an existing workspace keeps both.
    """
    from ctdc.store.policy import load_policy
    from ctdc.store.workspace import init_workspace

    state = _state(ctx)
    with _errors(state):
        try:
            mode = int(public_mode, 8)
        except ValueError as exc:
            raise CtdcError("bad-option", f"--public-mode {public_mode!r}: an octal mode such "
                            "as 0750") from exc  # fmt: skip
        ws, created = init_workspace(state.settings.data_dir, k=k, k_floor=k_floor,
                                     schema_path=state.settings.schema_path,
                                     publish_dir=publish_dir, public_mode=mode)  # fmt: skip
        policy = load_policy(ws)
        typer.echo(policy.summary())
        differs = (
            (k is not None and k != policy.k)
            or (k_floor is not None and k_floor != policy.k_floor)
            or (publish_dir is not None and str(publish_dir.resolve()) != policy.publish_dir)
        )
        if differs:
            console(stderr=True).print(
                "warning: the workspace keeps the policy it has; change it on the record with "
                "`ctdc policy set NAME=VALUE --reason ...`",
                markup=False,
                soft_wrap=True,
            )
        what = "created key" if created else "key already present, kept"
        typer.echo(f"workspace {ws.root} ready ({what}: {ws.key_path.name}, fingerprint "
                   f"{ws.stored_fingerprint()}). Back the key up (docs/key.md): without it, "
                   "re-exported cases can no longer be linked.")  # fmt: skip


@app.command()
def sample(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder for the generated exports.")] = Path(
        "sample_data"
    ),
    rows: Annotated[int, typer.Option(min=1, help="Rows per organization.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 0,
    bad_rate: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="Share of planted bad rows.")
    ] = 0.02,
) -> None:
    """Generate realistic fake exports for four organizations (formats, languages, codes)."""
    from ctdc.sample import generate_samples

    state = _state(ctx)
    with _errors(state):
        result = generate_samples(out, rows=rows, seed=seed, bad_rate=bad_rate)
        for org, path in result.files.items():
            typer.echo(f"{org:14} {path}")
        typer.echo(f"{len(result.planted)} planted bad rows listed in {out / 'planted.json'}")


class Mode(StrEnum):
    append = "append"
    snapshot = "snapshot"


#: options shared by `ingest` and `validate`, which must read the same way
FilesArgument = Annotated[list[Path], typer.Argument(help="Export files of this organization.")]
OrgMappingOption = Annotated[
    str, typer.Option("--org", help="Organization id (pipelines/<org>.yaml).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON summary.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no table.")]


@app.command()
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
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Map, validate, quarantine and stage exports; the same file again is a no-op."""
    from ctdc.ingest import ingest_file
    from ctdc.mapping import check_org_name

    state = _state(ctx)
    with _errors(state, catch_all=True):  # an export is hostile input: never a traceback
        settings = state.settings.with_overrides(max_reject_rate=max_reject_rate)
        check_org_name(org)
        if mode is Mode.snapshot and len(files) > 1:
            raise CtdcError("bad-option", f"--mode snapshot takes one file, got {len(files)}",
                            fix="ingest the first file with --mode snapshot, then the others "
                            "with --mode append")  # fmt: skip
        ws = _workspace(state)
        schema = _schema(state, ws)
        mapping = _mapping(settings, org, schema)
        key = ws.load_key()
        results = [
            ingest_file(
                ws,
                schema,
                mapping,
                f,
                key=key,
                max_reject_rate=settings.max_reject_rate,
                progress=_progress(quiet or as_json),
                mode=mode.value,
            )
            for f in files
        ]
        if not quiet:
            _warn_unchanged(ws, results, mode.value)
    _show_ingest(results, as_json=as_json, quiet=quiet, max_reject_rate=settings.max_reject_rate)


def _warn_unchanged(ws: Any, results: list[Any], mode: str) -> None:
    """Say when re-sent bytes keep an earlier mode, or stay superseded by a snapshot."""
    from ctdc.store.ledger import superseded_by
    from ctdc.text import escape

    for r in results:
        if r.status != "unchanged":
            continue
        notes = []
        if r.mode != mode:
            notes.append(f"it was ingested as {r.mode}, and stays so")
        snapshot = superseded_by(ws, r.org, r.batch_id)
        if snapshot:
            notes.append(f"it stays superseded by snapshot {snapshot}")
        if notes:
            console(stderr=True).print(
                f"warning: {escape(r.file)}: the same bytes again change nothing "
                f"(batch {r.batch_id}): " + "; ".join(notes),
                markup=False,
                soft_wrap=True,
            )


def _mapping(settings: Settings, org: str, schema: Any) -> Any:
    from ctdc.mapping import load_mapping

    mapping_path = settings.pipelines_dir / f"{org}.yaml"
    if not mapping_path.is_file():
        raise CtdcError("unknown-org", f"no mapping {mapping_path}", file=mapping_path)
    return load_mapping(mapping_path, schema)


def _show_ingest(results: list[Any], *, as_json: bool, quiet: bool, max_reject_rate: float) -> None:
    """The summary of ``ingest`` and ``validate``; exit 1 if a file is (or would be) rejected."""
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    elif not quiet:
        out = console()
        out.print(ingest_table(results))
        for line in ingest_examples(results):
            out.print(line, markup=False, soft_wrap=True, highlight=False)
    rejected = [r for r in results if r.status == "rejected"]
    if rejected:
        for r in rejected:
            staged = "nothing would be staged" if r.dry_run else "nothing staged"
            kept = "" if r.dry_run else f", all {r.rows_read:,} rows kept in the quarantine"
            err = CtdcError(
                "reject-rate-exceeded",
                f"{r.invalid:,} of {r.rows_read:,} rows ({r.reject_rate:.1%}) failed,"
                f" above {max_reject_rate:.1%}; {staged}{kept}",
                file=r.file,
            )
            console(stderr=True).print(err.message(), markup=False, soft_wrap=True)
        raise typer.Exit(ExitCode.DATA)


@app.command()
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
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Dry run of ingest: the same checks and summary, nothing written (no workspace needed)."""
    import secrets

    from ctdc.ingest import ingest_file
    from ctdc.mapping import check_org_name

    state = _state(ctx)
    with _errors(state, catch_all=True):  # an export is hostile input: never a traceback
        settings = state.settings.with_overrides(max_reject_rate=max_reject_rate)
        check_org_name(org)
        schema = _schema(state, _policy_workspace(state))
        mapping = _mapping(settings, org, schema)
        key = secrets.token_bytes(32)  # throwaway: no pseudonym leaves this process
        rate, say = settings.max_reject_rate, _progress(quiet or as_json)
        results = [
            ingest_file(
                None, schema, mapping, f, key=key, dry_run=True, max_reject_rate=rate, progress=say
            )
            for f in files
        ]
    _show_ingest(results, as_json=as_json, quiet=quiet, max_reject_rate=settings.max_reject_rate)


def _parse_levels(pairs: list[str]) -> dict[str, int | None]:
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


@app.command()
def harmonize(
    ctx: typer.Context,
    k: Annotated[
        int | None,
        typer.Option(
            "--k",
            min=2,
            help="k for this run only, recorded in the manifest; never under the policy's "
            "floor \\[default: the workspace policy's k].",
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
    wait: Annotated[float, typer.Option(help="Seconds to wait for a running harmonize.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing on success (cron).")
    ] = False,
) -> None:
    """Merge all staged batches, anonymize, verify k and publish a release atomically."""
    from ctdc.harmonize import harmonize as run

    state = _state(ctx)
    with _errors(state):
        ws = _workspace(state)
        result = run(ws, _schema(state, ws), k=k, l=l_div,
                     levels=_parse_levels(generalize or []), wait=wait,
                     progress=_progress(quiet or as_json))  # fmt: skip
    public = {"path": str(result.public_path), "manifest": result.public_manifest.to_dict()}
    if as_json:
        doc = {"status": result.status, **result.manifest.to_dict(), "public": public}
        typer.echo(json.dumps(doc, indent=2))
    elif not quiet:
        out = console()
        if result.status == "unchanged":
            out.print(f"input unchanged: release {result.release_id} stays current "
                      f"(public: {result.public_path})", markup=False)  # fmt: skip
            return
        for table in harmonize_tables(result.manifest):
            out.print(table)
        out.print(f"published release {result.release_id} for analysts in "
                  f"{result.public_path} (private copy, full manifest: {result.path})",
                  markup=False)  # fmt: skip


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def query(
    ctx: typer.Context,
    sql: Annotated[
        str,
        typer.Argument(help="One SELECT over the views `cases`, `dictionary` and `release_log`."),
    ],
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    public_dir: Annotated[
        Path | None,
        typer.Option(
            "--public-dir",
            envvar="CTDC_PUBLIC_DIR",
            help="The public folder harmonize publishes to \\[default: <data-dir>/public].",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds before the query is stopped.")
    ] = 60.0,
) -> None:
    """Run one read-only SELECT over the current public release (no key or workspace needed)."""
    from ctdc.query import Limits, run_query
    from ctdc.text import escape, escape_json

    state = _state(ctx)
    with _errors(state):
        root = public_dir if public_dir is not None else _default_public_dir(state)
        frame = run_query(root, sql, limits=Limits(timeout=timeout))
    if fmt is Format.csv:  # cells escaped like the table: SQL can build any string
        typer.echo(escape(frame.to_csv(index=False), keep="\t\n\r"), nl=False)
    elif fmt is Format.json:
        typer.echo(escape_json(frame.to_json(orient="records", force_ascii=False)))
    else:
        console().print(frame_table(frame))


def _default_public_dir(state: State) -> Path:
    """The policy's publish_dir when this user may read the policy, else <data-dir>/public."""
    from ctdc.store.policy import load_policy
    from ctdc.store.workspace import Workspace

    try:
        chosen = load_policy(Workspace(state.settings.data_dir)).publish_dir
    except (CtdcError, OSError):  # no workspace here, or an analyst who may not read it
        chosen = None
    return Path(chosen) if chosen else state.settings.data_dir / "public"


def _policy_workspace(state: State) -> Any:
    """The workspace if it has a pinned policy (validate then checks what ingest will)."""
    from ctdc.store.policy import has_policy
    from ctdc.store.workspace import Workspace

    ws = Workspace(state.settings.data_dir)
    try:
        return ws if has_policy(ws) else None
    except OSError:  # a workspace this user may not read: validate needs none
        return None


policy_app = typer.Typer(
    help="Show or change the workspace's release policy (k, floor, l, levels, schema).",
    no_args_is_help=True,
)
app.add_typer(policy_app, name="policy")

ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why: recorded in the policy history with who and when.")
]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who asks \\[default: the logged-in user].")
]


@policy_app.command("show")
def policy_show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The pinned policy and every change made to it."""
    from ctdc.store.policy import history, load_policy

    state = _state(ctx)
    with _errors(state):
        ws = _workspace(state)
        policy, changes = load_policy(ws), history(ws)
    if as_json:
        typer.echo(json.dumps({"policy": policy.to_dict(), "history": changes}, indent=2))
        return
    typer.echo(policy.summary())
    for line in changes:
        what = (
            "pinned"
            if line["action"] == "init"
            else ", ".join(f"{n}: {old} -> {new}" for n, (old, new) in line["changes"].items())
        )
        reason = f" ({line['reason']})" if line.get("reason") else ""
        typer.echo(f"{line['at']} {line['by']} {line['action']}: {what}{reason}")


@policy_app.command("set")
def policy_set(
    ctx: typer.Context,
    settings: Annotated[
        list[str],
        typer.Argument(
            help="NAME=VALUE: k, k_floor, l (a number or off), levels.FIELD (a level or auto)."
        ),
    ],
    reason: ReasonOption,
    by: ByOption = None,
) -> None:
    """Change the release policy; the change is recorded (who, when, old, new, why)."""
    from ctdc.store.policy import change_policy, parse_settings

    state = _state(ctx)
    with _errors(state):
        ws = _workspace(state)
        values = parse_settings(settings, _schema(state, ws))
        policy = change_policy(ws, values, by=by, reason=reason)
    typer.echo(policy.summary())


@policy_app.command("schema")
def policy_schema(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The schema YAML to pin (with its hierarchies).")],
    reason: ReasonOption,
    by: ByOption = None,
) -> None:
    """Pin another schema: later releases use it, from whatever folder they run."""
    from ctdc.store.policy import adopt_schema

    state = _state(ctx)
    with _errors(state):
        policy = adopt_schema(_workspace(state), path, by=by, reason=reason)
    typer.echo(policy.summary())


key_app = typer.Typer(
    help="The pseudonymization key: its fingerprint (to check a backup) and its rotation.",
    no_args_is_help=True,
)
app.add_typer(key_app, name="key")


@key_app.command("fingerprint")
def key_fingerprint(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="A key file to check, e.g. a backup \\[default: the workspace]."
        ),
    ] = None,
) -> None:
    """Print the key's fingerprint (safe to show): a backup is good when both agree."""
    from ctdc.store.keys import fingerprint
    from ctdc.store.workspace import Workspace

    state = _state(ctx)
    with _errors(state):
        if file is None:
            typer.echo(_workspace(state).stored_fingerprint())
            return
        if not file.is_file():
            raise CtdcError("file-not-found", "no such key file", file=file)
        typer.echo(fingerprint(Workspace(file.parent).read_key_file(file)))


@key_app.command("rotate")
def key_rotate(
    ctx: typer.Context,
    resume: Annotated[
        bool, typer.Option("--resume", help="Finish a rotation that was interrupted.")
    ] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for running ingests.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Add a new key to the key chain and re-key every staged pseudonym (docs/key.md)."""
    from ctdc.store.rotation import rotate_key
    from ctdc.store.workspace import Workspace

    state = _state(ctx)
    with _errors(state):
        root = state.settings.data_dir
        if not root.is_dir():
            raise CtdcError("no-workspace", f"no workspace at {root}", file=root)
        result = rotate_key(Workspace(root), resume=resume, wait=wait)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(f"key rotated: fingerprint {result.old_fingerprint} -> {result.new_fingerprint}; "
               f"{result.staging_files} staging files and {result.ledger_entries} ledger entries "
               "re-keyed. Back the key file up again now: the old backup no longer matches "
               "(docs/key.md).")  # fmt: skip


quarantine_app = typer.Typer(
    help="List, export (for correction) or purge an organization's quarantined rows.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")

OrgOption = Annotated[str, typer.Option("--org", help="Organization id.")]


@quarantine_app.command("list")
def quarantine_list(
    ctx: typer.Context,
    org: OrgOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Quarantined batches of ORG, with their rows counted by reason."""
    from ctdc.mapping import check_org_name
    from ctdc.quarantine import list_batches
    from ctdc.quarantine.store import unfinished_temps
    from ctdc.report import quarantine_batches_table

    state = _state(ctx)
    with _errors(state):
        check_org_name(org)
        ws = _workspace(state)
        batches = list_batches(ws, org)
        temps = unfinished_temps(ws, org)
    if as_json:
        typer.echo(json.dumps([b.to_dict() for b in batches], indent=2))
    elif not batches and not temps:
        typer.echo(f"no quarantined rows for {org}")
    elif batches:
        console().print(quarantine_batches_table(org, batches))
    if temps and not as_json:
        console(stderr=True).print(
            f"warning: {temps} unfinished quarantine file(s) of {org}, left by an interrupted "
            "ingest, hold raw rows: the next ingest of the organization or `ctdc quarantine "
            "purge` removes them",
            markup=False,
            soft_wrap=True,
        )


@quarantine_app.command("export")
def quarantine_export(
    ctx: typer.Context,
    org: OrgOption,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="CSV to write, '-' for standard output \\[default: ./<org>-quarantine.csv].",
        ),
    ] = None,
) -> None:
    """Write the quarantined rows as a CSV in ORG's own column names, to send back for fixing."""
    from ctdc.mapping import check_org_name
    from ctdc.quarantine import export_csv, export_dialect

    state = _state(ctx)
    with _errors(state):
        check_org_name(org)
        ws = _workspace(state)
        source = None
        if (state.settings.pipelines_dir / f"{org}.yaml").is_file():
            source = _mapping(state.settings, org, _schema(state)).source
        encoding, delimiter = export_dialect(source)
        target = None if str(out) == "-" else (out or Path(f"{org}-quarantine.csv"))
        result = export_csv(ws, org, target, encoding=encoding, delimiter=delimiter)
    if target is not None:
        console(stderr=True).print(
            f"wrote {result.rows:,} quarantined rows to {result.path} ({encoding}, "
            f"{delimiter!r}); it holds raw rows: delete it once sent",
            markup=False,
            soft_wrap=True,
        )


@quarantine_app.command("purge")
def quarantine_purge(
    ctx: typer.Context,
    org: OrgOption,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every quarantined row of ORG for good (the raw rows it holds included)."""
    from ctdc.mapping import check_org_name
    from ctdc.quarantine import list_batches, purge

    state = _state(ctx)
    with _errors(state):
        check_org_name(org)
        ws = _workspace(state)
        if not yes:
            rows = sum(b.rows for b in list_batches(ws, org))
            if not sys.stdin.isatty():
                raise CtdcError(
                    "bad-option",
                    f"purge would delete {rows:,} quarantined rows of {org} for good",
                    fix="pass --yes to purge without a prompt",
                )
            typer.confirm(f"Delete all {rows:,} quarantined rows of {org} for good?", abort=True)
        result = purge(ws, org)
    temps = (f", and {result.temp_files} unfinished file(s) of interrupted ingests"
             if result.temp_files else "")  # fmt: skip
    typer.echo(f"purged {result.rows:,} rows in {result.batches} batches of {org}{temps}")


mapping_app = typer.Typer(
    help="Write a first pipelines/<org>.yaml from a sample export.", no_args_is_help=True
)
app.add_typer(mapping_app, name="mapping")


@mapping_app.command("init")
def mapping_init(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A sample export of the organization.")],
    org: OrgOption,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Mapping to write \\[default: <org>.yaml in the pipelines folder of "
            "ctdc.toml, else ./pipelines].",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing mapping.")] = False,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, tsv, xlsx, json, ndjson or parquet.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding \\[default: guessed].")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter \\[default: guessed].")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet \\[default: the first].")] = None,
    header_row: Annotated[
        int | None, typer.Option(min=1, help="XLSX row of the column names \\[default: 1].")
    ] = None,
    header_rows: Annotated[
        int | None,
        typer.Option(
            min=1, max=5, help="XLSX rows the header spans (merged labels) \\[default: 1]."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Scaffold a mapping: columns matched to the schema, values still to translate listed."""
    from ctdc.mapping import check_org_name
    from ctdc.onboard.scaffold import (
        build_scaffold,
        check_target,
        default_target,
        guess_source,
        write_scaffold,
    )
    from ctdc.report import scaffold_summary
    from ctdc.text import escape_json

    state = _state(ctx)
    with _errors(state, catch_all=True):  # a sample export is hostile input: never a traceback
        check_org_name(org)
        target = out or default_target(state.settings.pipelines_dir, org)
        check_target(target, org, force=force)  # before reading a large file
        schema = _schema(state)
        source, notes = guess_source(file, fmt=fmt, encoding=encoding, delimiter=delimiter,
                                     sheet=sheet, header_row=header_row,
                                     header_rows=header_rows)  # fmt: skip
        scaffold = build_scaffold(file, org, schema, source=source, source_notes=notes)
        written = write_scaffold(scaffold, schema, target, force=force)
        if as_json:
            typer.echo(escape_json(json.dumps({**scaffold.to_dict(), "written": str(written)},
                                              indent=2, ensure_ascii=False)))  # fmt: skip
            return
        con = console()
        for part in scaffold_summary(scaffold, written):
            if isinstance(part, str):
                con.print(part, markup=False, soft_wrap=True, highlight=False)
            else:
                con.print(part)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
