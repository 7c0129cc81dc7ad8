"""What one harmonize run is held to: the pinned policy, this run's overrides, the public folder.

Read under the harmonize lock, so a ``ctdc policy set`` (which takes the same
lock) can never change k or the public folder between the moment a run reads
them and the moment it publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ctdc.anonymize import Hierarchy
from ctdc.errors import CtdcError
from ctdc.schema import Field, Schema
from ctdc.slugs import Slug
from ctdc.store.policy import MIN_K, Effective, Policy, check_schema, effective, load_policy
from ctdc.store.public import PublicArea, public_area
from ctdc.store.workspace import Workspace


@dataclass(frozen=True)
class RunSettings:
    """The pinned ``policy``, the ``run``'s effective k/l/levels, and where it publishes."""

    policy: Policy
    run: Effective
    #: quasi-identifier with a hierarchy -> release level (None: chosen per class)
    levels: dict[str, int | None]
    area: PublicArea
    keep_public: int

    @property
    def k(self) -> int:
        return self.run.k

    @property
    def l(self) -> int | None:  # noqa: E743 -- the letter of l-diversity
        return self.run.l

    def summary(self) -> str:
        """The progress line: the policy, and what this run overrides."""
        overrides = self.run.overrides
        return self.policy.summary() + (f"; this run: {overrides}" if overrides else "")


def load_settings(
    ws: Workspace,
    schema: Schema,
    *,
    k: int | None = None,
    l: int | None = None,  # noqa: E741
    levels: dict[str, int | None] | None = None,
    publish_dir: Path | None = None,
    public_mode: int | None = None,
    keep_public: int | None = None,
) -> RunSettings:
    """The pinned policy with one run's explicit overrides (``None``: the policy's).

    Raises ``no-policy``/``policy-mismatch`` for a workspace without a policy or
    a ``schema`` other than the pinned one, ``k-below-floor``, and
    ``bad-option`` for a k, l, level or ``keep_public`` out of range.
    """
    policy = load_policy(ws)
    check_schema(policy, schema)
    run = effective(policy, k=k, l=l, levels=levels)
    if run.k < MIN_K:
        raise CtdcError(Slug.BAD_OPTION, f"k must be at least {MIN_K}, got {run.k}")
    if run.l is not None and run.l < 1:
        raise CtdcError(Slug.BAD_OPTION, f"l must be at least 1, got {run.l}")
    chosen = release_levels(schema, run.levels)
    if publish_dir is None and policy.publish_dir is not None:
        publish_dir = Path(policy.publish_dir)
    mode = policy.public_mode if public_mode is None else public_mode
    keep = policy.keep_public if keep_public is None else keep_public
    if keep < 1:
        raise CtdcError(Slug.BAD_OPTION, f"keep_public must be at least 1, got {keep}")
    area = public_area(ws.root, publish_dir, mode)
    return RunSettings(policy=policy, run=run, levels=chosen, area=area, keep_public=keep)


def release_levels(schema: Schema, overrides: dict[str, int | None]) -> dict[str, int | None]:
    """Level per quasi-identifier with a hierarchy: the schema's, then ``overrides``.

    Raises ``bad-option`` for a field that is not a quasi-identifier with a
    hierarchy, or a level outside its hierarchy.
    """
    levels = {f.name: f.level for f in schema.fields if f.role == "quasi_identifier"
              and f.hierarchy is not None}  # fmt: skip
    for name, level in overrides.items():
        if name not in levels:
            raise CtdcError(Slug.BAD_OPTION, f"--generalize {name}: not a quasi-identifier with "
                            f"a hierarchy; those are {', '.join(sorted(levels))}")  # fmt: skip
        top = field_hierarchy(schema[name]).height - 1
        if level is not None and not 0 <= level <= top:
            raise CtdcError(Slug.BAD_OPTION, f"--generalize {name}={level}: levels are 0..{top}")
        levels[name] = level
    return levels


def field_hierarchy(field: Field) -> Hierarchy:
    """The hierarchy ``field`` is released with: its file, and for an integer field (the
    year) only the leaves its contract allows, ranges relabelled by what they cover (no
    range runs past the current year; a new year changes the labels: a new epoch)."""
    hierarchy = load_hierarchy(field.hierarchy)
    if field.type == "integer":
        return hierarchy.clipped(field.min, field.max)
    return hierarchy


@lru_cache(maxsize=16)
def load_hierarchy(path: Path | None) -> Hierarchy:
    """The hierarchy CSV at ``path``, read once per process (runs and tests share it)."""
    if path is None:
        raise CtdcError(Slug.BAD_SCHEMA, "a quasi-identifier with a level has no hierarchy")
    try:
        return Hierarchy.from_csv(path)
    except (OSError, ValueError) as exc:
        raise CtdcError(Slug.BAD_SCHEMA, str(exc), file=path) from exc
