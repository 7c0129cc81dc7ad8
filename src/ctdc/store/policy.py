"""The release policy, pinned in the workspace: k, its floor, l, levels and the schema.

A release must not change because of where a cron line happens to run. The
policy is written once, at ``ctdc init``, into ``<data>/policy/``:

* ``policy.json``: k, the steward's floor under k, l, the release level of each
  quasi-identifier, the quasi-identifiers and the SHA-256 of the schema;
* ``schema/``: a copy of the schema YAML and the hierarchy files it names, so
  ingest and harmonize read the same schema from any working directory;
* ``history.jsonl``: one line per change -- who, when, what (old and new), why
  (``policy_history.py``).

It changes only through :func:`change_policy` and :func:`adopt_schema` (``ctdc
policy set`` and ``ctdc policy schema``). A ``ctdc.toml`` or ``schemas/`` in the
working directory never changes it; a one-off ``harmonize --k`` may raise k for
one run but never go under the floor, and the manifest records it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctdc.config import DEFAULT_K, bundled_schema
from ctdc.errors import CtdcError
from ctdc.schema import Schema, load_schema
from ctdc.slugs import Slug
from ctdc.store.atomic import write_bytes, write_json
from ctdc.store.lock import exclusive_lock
from ctdc.store.policy_history import PolicyAction, PolicyChange, read_history, record

if TYPE_CHECKING:
    from ctdc.store.workspace import Workspace

POLICY_DIR = "policy"
POLICY_FILE = "policy.json"
HISTORY_FILE = "history.jsonl"
SCHEMA_DIR = "schema"
#: no k below this, whatever the steward sets: a class of one is a person
MIN_K = 2
#: the public release's licence until the steward sets another (``ctdc policy set licence=``)
DEFAULT_LICENCE = "CC-BY-4.0"
#: an organization that sent no batch for this many days is worth a call (``ctdc status``)
DEFAULT_SILENT_ORG_DAYS = 45
#: how long raw rows stay in the workspace until the steward sets another period
DEFAULT_RETENTION_DAYS = 90
#: the total epsilon of the DP products of one epoch's data (``ctdc.dp.budget``), by default
DEFAULT_DP_EPSILON_BUDGET = 4.0


@dataclass(frozen=True)
class Policy:
    """What a release is held to; see the module docstring."""

    k: int
    k_floor: int
    schema_sha256: str
    schema_file: str
    quasi_identifiers: tuple[str, ...]
    #: quasi-identifier with a hierarchy -> release level (None = auto, chosen per class)
    levels: dict[str, int | None] = field(default_factory=dict)
    l: int | None = None  # noqa: E741 -- the letter of l-diversity
    #: where analysts read releases (None = ``<data>/public``), its folders' mode, and
    #: how many releases stay there (the current one and the newest before it)
    publish_dir: str | None = None
    public_mode: int = 0o755
    keep_public: int = 1
    #: how many releases the workspace keeps (the current one and the newest before it; 0:
    #: all), applied at every harmonize (``store.retention``, docs/releases.md)
    keep_releases: int = 0
    #: the release series (docs/privacy.md): an increment class that loses more than
    #: ``series_hold_cells`` QI cells per record waits, until a record of it has waited
    #: ``series_hold_days`` days (7, chosen from benchmarks/series.py: docs/benchmarks.md)
    series_hold_cells: float = 3.0
    series_hold_days: int = 7
    #: new records join the release at most once every this many days (1: every night);
    #: withdrawals and corrections still leave at the next harmonize. 30, chosen from a
    #: simulated year (benchmarks/series.py, docs/privacy.md "The series")
    series_increment_days: int = 30
    #: the licence the public release is published under (an SPDX id, in datapackage.json
    #: and the public manifest): the collaborative's agreement decides it
    licence: str = DEFAULT_LICENCE
    #: ``ctdc status`` warns about an organization whose last batch is older than this
    silent_org_days: int = DEFAULT_SILENT_ORG_DAYS
    #: raw rows kept in the workspace (the quarantine, archived exports) are purged this many
    #: days after they were written, at the next harmonize (docs/quarantine.md)
    quarantine_retention_days: int = DEFAULT_RETENTION_DAYS
    #: ingest keeps a private copy of each export, so ``ctdc reprocess`` needs no file again
    archive_exports: bool = False
    #: the privacy budget (epsilon, all epochs); a DP product that would exceed it is refused
    dp_epsilon_budget: float = DEFAULT_DP_EPSILON_BUDGET

    @property
    def licence_mark(self) -> str:
        """The licence as the release fingerprints count it: "" for the default, so that
        setting another one publishes a new release (its datapackage.json says it)."""
        return "" if self.licence == DEFAULT_LICENCE else f"licence={self.licence}"

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["quasi_identifiers"] = list(self.quasi_identifiers)
        doc["levels"] = {n: "auto" if v is None else v for n, v in self.levels.items()}
        doc["public_mode"] = f"{self.public_mode:04o}"
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Policy:
        levels = {n: None if v == "auto" else int(v) for n, v in doc.get("levels", {}).items()}
        return cls(
            k=int(doc["k"]),
            k_floor=int(doc["k_floor"]),
            schema_sha256=str(doc["schema_sha256"]),
            schema_file=str(doc["schema_file"]),
            quasi_identifiers=tuple(doc["quasi_identifiers"]),
            levels=levels,
            l=None if doc.get("l") is None else int(doc["l"]),
            publish_dir=doc.get("publish_dir"),
            public_mode=int(str(doc.get("public_mode", "0755")), 8),
            keep_public=int(doc.get("keep_public", 1)),
            keep_releases=int(doc.get("keep_releases", 0)),
            series_hold_cells=float(doc.get("series_hold_cells", 3.0)),
            # a policy pinned before the key was written ran with 30: it keeps it
            series_hold_days=int(doc.get("series_hold_days", 30)),
            # a policy pinned before the setting existed published every night: it keeps it
            series_increment_days=int(doc.get("series_increment_days", 1)),
            licence=str(doc.get("licence", DEFAULT_LICENCE)),
            silent_org_days=int(doc.get("silent_org_days", DEFAULT_SILENT_ORG_DAYS)),
            quarantine_retention_days=int(
                doc.get("quarantine_retention_days", DEFAULT_RETENTION_DAYS)
            ),
            archive_exports=bool(doc.get("archive_exports", False)),
            dp_epsilon_budget=float(doc.get("dp_epsilon_budget", DEFAULT_DP_EPSILON_BUDGET)),
        )

    def summary(self) -> str:
        """One line for the operator: what this run is held to."""
        auto = [n for n, v in self.levels.items() if v is None]
        fixed = [f"{n}={v}" for n, v in self.levels.items() if v is not None]
        levels = ", ".join(([f"auto: {', '.join(auto)}"] if auto else []) + fixed) or "as recorded"
        return (
            f"policy: k={self.k} (floor {self.k_floor}), l={self.l or 'off'}, "
            f"{len(self.quasi_identifiers)} quasi-identifiers, levels {levels}, "
            f"schema sha256 {self.schema_sha256[:12]}; publishes to "
            f"{self.publish_dir or '<data-dir>/public'} ({self.public_mode:04o}, keeps "
            f"{self.keep_public}); the workspace keeps {self.keep_releases or 'all'} "
            "releases; the series holds a class losing over "
            f"{self.series_hold_cells:g} cells a record up to {self.series_hold_days} days"
            + (
                ""
                if self.series_increment_days == 1
                else f", and adds new records every {self.series_increment_days} days"
            )
        )


def _dir(ws: Workspace) -> Path:
    return ws.root / POLICY_DIR


def schema_sha256(schema: Schema) -> str:
    """SHA-256 over the schema YAML and every hierarchy file it names (they shape releases)."""
    if schema.source is None:
        raise CtdcError(Slug.BAD_SCHEMA, "a schema built in memory cannot be pinned")
    digest = hashlib.sha256(b"schema\0" + schema.source.read_bytes())
    for path in sorted({f.hierarchy for f in schema.fields if f.hierarchy is not None}):
        rel = path.relative_to(schema.source.parent.resolve()).as_posix()
        digest.update(b"\0" + rel.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _copy_schema(ws: Workspace, schema: Schema) -> Path:
    """Copy the schema and its hierarchies into the workspace, keeping relative paths."""
    assert schema.source is not None
    base = schema.source.parent.resolve()
    target = _dir(ws) / SCHEMA_DIR
    ws.private_dir(target)
    for path in sorted({f.hierarchy for f in schema.fields if f.hierarchy is not None}):
        if not path.is_relative_to(base):
            raise CtdcError(
                Slug.BAD_SCHEMA,
                f"hierarchy {path.name} lies outside the schema's "
                "folder, so it cannot be pinned with it",
                file=schema.source,
                fix="keep hierarchy files in a folder beside the schema",
            )
        rel = path.relative_to(base)
        ws.private_dir(target / rel.parent)
        write_bytes(target / rel, path.read_bytes())
    write_bytes(target / schema.source.name, schema.source.read_bytes())
    return target / schema.source.name


def hierarchy_levels(schema: Schema) -> dict[str, int | None]:
    """Each quasi-identifier with a hierarchy and its schema level (None: auto)."""
    return {
        f.name: f.level
        for f in schema.fields
        if f.role == "quasi_identifier" and f.hierarchy is not None
    }


def _check(policy: Policy) -> Policy:
    if policy.k_floor < MIN_K:
        raise CtdcError(
            Slug.BAD_OPTION, f"the k floor must be at least {MIN_K}, got {policy.k_floor}"
        )
    if policy.k < policy.k_floor:
        raise CtdcError(
            Slug.K_BELOW_FLOOR, f"k={policy.k} is below the steward's floor {policy.k_floor}"
        )
    if policy.l is not None and policy.l < 2:
        raise CtdcError(Slug.BAD_OPTION, f"l must be at least 2 (or off), got {policy.l}")
    if policy.keep_public < 1:
        raise CtdcError(
            Slug.BAD_OPTION, f"keep_public must be at least 1, got {policy.keep_public}"
        )
    if policy.keep_releases < 0:
        raise CtdcError(Slug.BAD_OPTION, "keep_releases must be at least 1 (0 keeps all), "
                        f"got {policy.keep_releases}")  # fmt: skip
    if policy.keep_releases and policy.keep_public > policy.keep_releases:
        raise CtdcError(
            Slug.BAD_OPTION,
            f"keep_public={policy.keep_public} is more than "
            f"keep_releases={policy.keep_releases}: a public copy needs its "
            "release in the workspace",
            fix="set keep_public at most keep_releases",
        )
    if policy.series_hold_cells < 0 or policy.series_hold_days < 0:
        raise CtdcError(Slug.BAD_OPTION, "series_hold_cells and series_hold_days must be "
                        f"at least 0, got {policy.series_hold_cells} and "
                        f"{policy.series_hold_days}")  # fmt: skip
    if policy.series_increment_days < 1:
        raise CtdcError(Slug.BAD_OPTION, "series_increment_days must be at least 1 (1: every "
                        f"night), got {policy.series_increment_days}")  # fmt: skip
    if policy.silent_org_days < 1:
        raise CtdcError(Slug.BAD_OPTION, "silent_org_days must be at least 1, got "
                        f"{policy.silent_org_days}")  # fmt: skip
    if policy.quarantine_retention_days < 0:
        raise CtdcError(Slug.BAD_OPTION, "quarantine_retention_days must be at least 0, got "
                        f"{policy.quarantine_retention_days}")  # fmt: skip
    if not policy.dp_epsilon_budget >= 0 or policy.dp_epsilon_budget == float("inf"):
        raise CtdcError(Slug.BAD_OPTION, "dp_epsilon_budget must be a finite number at least "
                        f"0, got {policy.dp_epsilon_budget}")  # fmt: skip
    return policy


def _write(ws: Workspace, policy: Policy) -> None:
    write_json(_dir(ws) / POLICY_FILE, policy.to_dict())


def has_policy(ws: Workspace) -> bool:
    return (_dir(ws) / POLICY_FILE).is_file()


def create_policy(
    ws: Workspace,
    schema_path: Path | None = None,
    *,
    k: int = DEFAULT_K,
    k_floor: int | None = None,
    l: int | None = None,  # noqa: E741
    publish_dir: Path | None = None,
    public_mode: int = 0o755,
    by: str | None = None,
) -> Policy:
    """Pin the schema and the first policy; a workspace that has one keeps it."""
    if has_policy(ws):
        return load_policy(ws)
    ws.private_dir(_dir(ws))
    schema = load_schema(schema_path or bundled_schema())
    pinned = _copy_schema(ws, schema)
    policy = _check(
        Policy(
            k=k,
            k_floor=k if k_floor is None else k_floor,
            schema_sha256=schema_sha256(schema),
            schema_file=pinned.name,
            quasi_identifiers=tuple(schema.quasi_identifiers),
            levels=hierarchy_levels(schema),
            l=l,
            publish_dir=None if publish_dir is None else str(publish_dir.resolve()),
            public_mode=public_mode,
        )
    )
    _write(ws, policy)
    record(_dir(ws) / HISTORY_FILE, PolicyAction.INIT, policy.to_dict(), by, None)
    return policy


def load_policy(ws: Workspace) -> Policy:
    path = _dir(ws) / POLICY_FILE
    try:
        return Policy.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise CtdcError(
            Slug.NO_POLICY, f"the workspace {ws.root} has no release policy", file=path
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise CtdcError(
            Slug.NO_POLICY,
            f"the release policy cannot be read: {exc}",
            file=path,
            fix="restore policy/ from the workspace backup",
        ) from exc


def pinned_schema(ws: Workspace) -> Schema:
    """The workspace's copy of the schema, checked against the pinned SHA-256."""
    policy = load_policy(ws)
    schema = load_schema(_dir(ws) / SCHEMA_DIR / policy.schema_file)
    check_schema(policy, schema)
    return schema


def check_schema(policy: Policy, schema: Schema) -> None:
    """Refuse a schema (or hierarchy) other than the pinned one."""
    sha = schema_sha256(schema)
    if sha != policy.schema_sha256:
        raise CtdcError(
            Slug.POLICY_MISMATCH,
            f"schema {schema.source} (sha256 {sha[:12]}) is not "
            f"the workspace's pinned schema (sha256 {policy.schema_sha256[:12]})",
            file=schema.source,
        )


def schema_differs(ws: Workspace, path: Path) -> bool:
    """True when the schema at ``path`` is not the pinned one (for a warning)."""
    try:
        return schema_sha256(load_schema(path)) != load_policy(ws).schema_sha256
    except CtdcError:
        return True


def _diff(old: Policy, new: Policy) -> dict[str, list[Any]]:
    """{setting: [old, new]} for what differs; levels one entry per field."""

    def flat(policy: Policy) -> dict[str, Any]:
        doc = policy.to_dict()
        return {**{f"levels.{n}": v for n, v in doc.pop("levels").items()}, **doc}

    before, after = flat(old), flat(new)
    return {n: [before.get(n), after.get(n)] for n in sorted(before.keys() | after.keys())
            if before.get(n) != after.get(n)}  # fmt: skip


def change_policy(
    ws: Workspace, values: dict[str, Any], *, by: str | None = None, reason: str | None = None
) -> Policy:
    """Change settings explicitly and record who changed what, when and why.

    Under the harmonize lock, so a running harmonize never sees half a change.
    """
    with exclusive_lock(ws.lock_path):
        return _change(ws, values, by, reason)


def _change(ws: Workspace, values: dict[str, Any], by: str | None, reason: str | None) -> Policy:
    old = load_policy(ws)
    levels = dict(old.levels)
    plain = {}
    for name, value in values.items():
        if name.startswith("levels."):
            levels[name.removeprefix("levels.")] = value
        else:
            plain[name] = value
    new = _check(replace(old, levels=levels, **plain))
    changes = _diff(old, new)
    if changes:
        _write(ws, new)
        record(_dir(ws) / HISTORY_FILE, PolicyAction.SET, changes, by, reason)
    return new


def adopt_schema(
    ws: Workspace, schema_path: Path, *, by: str | None = None, reason: str | None = None
) -> Policy:
    """Pin another schema (a new epoch for the releases): recorded like any change."""
    with exclusive_lock(ws.lock_path):
        return _adopt(ws, schema_path, by, reason)


def _adopt(ws: Workspace, schema_path: Path, by: str | None, reason: str | None) -> Policy:
    old = load_policy(ws)
    schema = load_schema(schema_path)
    pinned = _copy_schema(ws, schema)
    new = replace(
        old,
        schema_sha256=schema_sha256(schema),
        schema_file=pinned.name,
        quasi_identifiers=tuple(schema.quasi_identifiers),
        levels=hierarchy_levels(schema),
    )
    changes = _diff(old, new)
    _write(ws, new)
    record(_dir(ws) / HISTORY_FILE, PolicyAction.SCHEMA, changes, by, reason)
    return new


def history(ws: Workspace) -> list[PolicyChange]:
    """Every change made to the workspace's policy, oldest first."""
    return read_history(_dir(ws) / HISTORY_FILE)


@dataclass(frozen=True)
class Effective:
    """The policy one run applies: the pinned one plus explicit one-off options."""

    k: int
    l: int | None  # noqa: E741
    levels: dict[str, int | None]
    overrides: dict[str, Any]

    def to_dict(self, policy: Policy) -> dict[str, Any]:
        return {
            **policy.to_dict(),
            "k": self.k,
            "l": self.l,
            "levels": {n: "auto" if v is None else v for n, v in self.levels.items()},
            "overrides": self.overrides,
        }


def effective(
    policy: Policy,
    *,
    k: int | None = None,
    l: int | None = None,  # noqa: E741
    levels: dict[str, int | None] | None = None,
) -> Effective:
    """Apply one run's options; none may go under the floor."""
    overrides: dict[str, Any] = {}
    if k is not None and k != policy.k:
        overrides["k"] = k
    if l is not None and l != policy.l:
        overrides["l"] = l
    chosen = dict(policy.levels)
    for name, level in (levels or {}).items():
        if chosen.get(name, "missing") != level:
            overrides[f"levels.{name}"] = "auto" if level is None else level
        chosen[name] = level
    run_k = policy.k if k is None else k
    if run_k < policy.k_floor:
        raise CtdcError(
            Slug.K_BELOW_FLOOR, f"k={run_k} is below the steward's floor {policy.k_floor}"
        )
    return Effective(k=run_k, l=policy.l if l is None else l, levels=chosen, overrides=overrides)
