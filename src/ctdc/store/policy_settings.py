"""``ctdc policy set NAME=VALUE ...``: the settings as typed values, or ``bad-option``.

Apart from :mod:`ctdc.store.policy` (the policy itself, its checks and history) so that
the list of settable names and their types sits in one place."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ctdc.errors import CtdcError
from ctdc.schema import Schema
from ctdc.slugs import Slug
from ctdc.store.policy import hierarchy_levels

_SWITCH = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}


def parse_settings(pairs: list[str], schema: Schema) -> dict[str, Any]:
    """``["k=12", "levels.age_band=1"]`` -> ``{"k": 12, "levels.age_band": 1}``."""
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise CtdcError(Slug.BAD_OPTION, f"{pair!r}: expected NAME=VALUE, e.g. k=12")
        values[name.strip()] = parse_setting(name.strip(), value.strip(), schema)
    return values


def parse_setting(name: str, value: str, schema: Schema) -> Any:
    """``k=12``, ``l=off``, ``levels.age_band=1`` -> a typed value, or ``bad-option``."""
    try:
        if name in ("k", "k_floor"):
            return int(value)
        if name == "l":
            return None if value in ("off", "none", "") else int(value)
        if name in (
            "keep_public",
            "keep_releases",
            "series_hold_days",
            "series_increment_days",
            "silent_org_days",
            "quarantine_retention_days",
        ):
            return int(value)
        if name == "archive_exports":
            if value.lower() not in _SWITCH:
                raise CtdcError(Slug.BAD_OPTION, f"archive_exports={value!r}: expected on or off")
            return _SWITCH[value.lower()]
        if name in ("series_hold_cells", "dp_epsilon_budget"):
            return float(value)
        if name == "public_mode":
            return int(value, 8)
        if name == "licence":
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.+-]{0,63}", value):
                raise CtdcError(Slug.BAD_OPTION, f"licence={value!r}: expected an SPDX "
                                "licence id such as CC-BY-4.0, CC0-1.0 or ODbL-1.0")  # fmt: skip
            return value
        if name == "publish_dir":
            return None if value in ("", "default") else str(Path(value).resolve())
        if name.startswith("levels."):
            field_name = name.removeprefix("levels.")
            if field_name not in hierarchy_levels(schema):
                raise CtdcError(
                    Slug.BAD_OPTION,
                    f"{name}: {field_name} is not a quasi-identifier "
                    f"with a hierarchy; those are {', '.join(hierarchy_levels(schema))}",
                )
            return None if value == "auto" else int(value)
    except ValueError as exc:
        raise CtdcError(Slug.BAD_OPTION, f"{name}={value!r}: not a number") from exc
    raise CtdcError(
        Slug.BAD_OPTION,
        f"unknown policy setting {name!r}",
        fix="settable: k, k_floor, l, levels.<field>, publish_dir, public_mode, keep_public, "
        "keep_releases, series_hold_cells, series_hold_days, series_increment_days, licence, "
        "silent_org_days, "
        "quarantine_retention_days, archive_exports, dp_epsilon_budget",
    )
