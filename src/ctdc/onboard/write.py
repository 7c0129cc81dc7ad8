"""Writing the scaffold: where it goes, never over a mapping unasked, and only if it loads."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ctdc.errors import CtdcError
from ctdc.mapping.load import load_mapping
from ctdc.onboard.plan import Scaffold
from ctdc.schema import Schema
from ctdc.store.atomic import write_bytes


def check_loads(scaffold: Scaffold, schema: Schema) -> None:
    """The scaffold must load as a mapping (TODOs are comments): a bug if it does not."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / f"{scaffold.org}.yaml"
        probe.write_text(scaffold.text, encoding="utf-8")
        try:
            load_mapping(probe, schema)
        except CtdcError as exc:
            raise RuntimeError(f"the scaffold of {scaffold.file} does not load: {exc}") from exc


def check_target(out: Path, org: str, *, force: bool = False) -> None:
    """Refuse to overwrite a mapping without ``force``, or to misname one."""
    if out.name != f"{org}.yaml":
        raise CtdcError(
            "bad-option",
            f"--out {out}: the mapping of {org} must be named {org}.yaml",
            fix=f"pass --out DIR/{org}.yaml",
        )
    if out.exists() and not force:
        raise CtdcError("bad-option", "a mapping is there already; it is kept", file=out,
                        fix="pass --force to overwrite it, or --out another path")  # fmt: skip


def write_scaffold(scaffold: Scaffold, schema: Schema, out: Path, *, force: bool = False) -> Path:
    """Write the scaffold to ``out``; an existing mapping is kept unless ``force``."""
    check_target(out, scaffold.org, force=force)
    check_loads(scaffold, schema)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(out, scaffold.text.encode("utf-8"), mode=0o644)
    return out
