"""Settings: defaults < ``ctdc.toml`` < ``CTDC_HOME`` < CLI options.

The ``ctdc.toml`` read is ``--config``/``CTDC_CONFIG`` if given, else the one in
the working directory. Its folder is the *project folder*: relative paths in it,
and the ``schemas/``/``pipelines/`` looked up beside it, are taken from there, so
``CTDC_CONFIG=/srv/ctdc/ctdc.toml ctdc ingest ...`` acts from any directory as if
run in ``/srv/ctdc`` (a cron line needs no ``cd``; docs/operations.md).

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
KNOWN_KEYS = frozenset({"data_dir", "schema", "pipelines", "max_reject_rate", "log_max_bytes",
                        "log_backups"})  # fmt: skip
#: the operations log's rotation (``ctdc.runlog.handler``): 5 MiB a file, 9 old files kept
DEFAULT_LOG_MAX_BYTES = 5 * 2**20
DEFAULT_LOG_BACKUPS = 9
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
    log_max_bytes: int = DEFAULT_LOG_MAX_BYTES
    log_backups: int = DEFAULT_LOG_BACKUPS

    def with_overrides(self, **values: Any) -> Settings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def load_settings(
    cwd: Path | None = None, data_dir: Path | None = None, config: Path | None = None
) -> Settings:
    """The settings of a run in ``cwd``; ``config`` (``--config``, else ``CTDC_CONFIG``) names the
    ``ctdc.toml`` to read and so the project folder (see the module docstring)."""
    cwd = cwd or Path.cwd()
    doc: dict[str, Any] = {}
    if config is None and os.environ.get("CTDC_CONFIG"):
        config = Path(os.environ["CTDC_CONFIG"])
    if config is not None:
        config = cwd / config  # an absolute path stays itself
        if not config.is_file():
            raise CtdcError("file-not-found", "no such configuration file (--config or "
                            "CTDC_CONFIG)", file=config)  # fmt: skip
        cwd = config.parent
    cfg = config or cwd / CONFIG_FILE
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
        log_max_bytes=_positive(doc, "log_max_bytes", DEFAULT_LOG_MAX_BYTES, cfg),
        log_backups=_positive(doc, "log_backups", DEFAULT_LOG_BACKUPS, cfg),
    )
    env_home = os.environ.get("CTDC_HOME")
    if env_home:
        settings = replace(settings, data_dir=Path(env_home))
    if data_dir is not None:
        settings = replace(settings, data_dir=data_dir)
    return settings


def _positive(doc: dict[str, Any], key: str, default: int, cfg: Path) -> int:
    """A whole number >= 1 from ``ctdc.toml``, else ``bad-option`` naming the file and key."""
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CtdcError("bad-option", f"[ctdc] {key} = {value!r}: expected a whole number "
                        "of at least 1", file=cfg)  # fmt: skip
    return value


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
