"""Settings: defaults < ``ctdc.toml`` in the working directory < ``CTDC_HOME`` < CLI options.

Every setting has a default so the demo needs no configuration. The schema
and pipelines are looked up in the working directory first (a deployment's
own), then beside the installed package (the project's bundled copies).

The release policy (k, l, levels, the schema) is *not* a setting: it is pinned
in the workspace (``ctdc.store.policy``), so a ``ctdc.toml`` that names it is
refused rather than silently obeyed or ignored. The schema found here is the one
``ctdc init`` pins and ``ctdc validate`` uses before a workspace exists.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ctdc.errors import CtdcError

CONFIG_FILE = "ctdc.toml"
DEFAULT_DATA_DIR = "ctdc-data"
DEFAULT_K = 10
DEFAULT_MAX_REJECT_RATE = 0.10
#: what ``ctdc.toml`` may set
KNOWN_KEYS = frozenset({"data_dir", "schema", "pipelines", "max_reject_rate"})
#: pinned in the workspace instead: naming them in ``ctdc.toml`` is an error
POLICY_KEYS = frozenset({"k", "k_floor", "l", "levels", "quasi_identifiers"})


def _bundled(name: str) -> Path:
    """``schemas``/``pipelines`` shipped with the package (wheel) or in the source tree."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_bundled" / name, here.parents[1] / name):
        if candidate.is_dir():
            return candidate
    return Path(name)


def bundled_schema() -> Path:
    """The schema that ships with ctdc."""
    return _bundled("schemas") / "ctdc.yaml"


def bundled_pipelines() -> Path:
    """The mappings that ship with ctdc: read, never written into."""
    return _bundled("pipelines")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    schema_path: Path
    pipelines_dir: Path
    max_reject_rate: float = DEFAULT_MAX_REJECT_RATE

    def with_overrides(self, **values: Any) -> Settings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def load_settings(cwd: Path | None = None, data_dir: Path | None = None) -> Settings:
    cwd = cwd or Path.cwd()
    doc: dict[str, Any] = {}
    cfg = cwd / CONFIG_FILE
    if cfg.is_file():
        try:
            doc = tomllib.loads(cfg.read_text(encoding="utf-8")).get("ctdc", {})
        except tomllib.TOMLDecodeError as exc:
            raise CtdcError("bad-option", f"invalid TOML: {exc}", file=cfg) from exc
        _check_keys(doc, cfg)

    def path(key: str, default: Path) -> Path:
        value = doc.get(key)
        return (cwd / value) if value else default

    local_schemas, local_pipelines = cwd / "schemas", cwd / "pipelines"
    settings = Settings(
        data_dir=path("data_dir", cwd / DEFAULT_DATA_DIR),
        schema_path=path(
            "schema",
            (local_schemas if local_schemas.is_dir() else _bundled("schemas")) / "ctdc.yaml",
        ),
        pipelines_dir=path(
            "pipelines", local_pipelines if local_pipelines.is_dir() else _bundled("pipelines")
        ),
        max_reject_rate=float(doc.get("max_reject_rate", DEFAULT_MAX_REJECT_RATE)),
    )
    env_home = os.environ.get("CTDC_HOME")
    if env_home:
        settings = replace(settings, data_dir=Path(env_home))
    if data_dir is not None:
        settings = replace(settings, data_dir=data_dir)
    return settings


def _check_keys(doc: dict[str, Any], cfg: Path) -> None:
    for key in doc:
        if key in POLICY_KEYS:
            raise CtdcError("bad-option", f"[ctdc] {key}: the release policy is pinned in the "
                            "workspace, not read from the working directory", file=cfg,
                            fix=f"remove {key} from {cfg.name}; the steward changes it with "
                            f"`ctdc policy set {key}=...`")  # fmt: skip
        if key not in KNOWN_KEYS:
            raise CtdcError("bad-option", f"[ctdc] {key}: unknown setting", file=cfg,
                            fix=f"settings are {', '.join(sorted(KNOWN_KEYS))}")  # fmt: skip
