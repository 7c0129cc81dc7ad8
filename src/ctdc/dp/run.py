"""``ctdc synthesize`` as one library call: under the harmonize lock, fit, sample, publish.

The lock keeps a nightly harmonize from changing staging or the public folder
while the synthesizer reads one and writes the other.
"""

from __future__ import annotations

from pathlib import Path

from ctdc.dp.synthetic import SynthesisParams, synthesize
from ctdc.dp.synthetic_publish import Published, publish_synthetic
from ctdc.schema import Schema
from ctdc.store.catalog import refresh_catalog
from ctdc.store.lock import exclusive_lock
from ctdc.store.policy import load_policy
from ctdc.store.public import PublicArea, public_area
from ctdc.store.workspace import Workspace


def area_of(ws: Workspace) -> PublicArea:
    """The workspace's public folder, where its pinned policy puts it."""
    policy = load_policy(ws)
    where = Path(policy.publish_dir) if policy.publish_dir else None
    return public_area(ws.root, where, policy.public_mode)


def synthesize_and_publish(ws: Workspace, schema: Schema, params: SynthesisParams,
                           *, wait: float = 0.0) -> Published:  # fmt: skip
    """Check the options, then under the lock: the synthetic table, published."""
    params.check()  # a usage error is reported before waiting on anyone's lock
    area = area_of(ws)
    with exclusive_lock(ws.lock_path, wait=wait):
        result = synthesize(ws, schema, params)
        published = publish_synthetic(ws, area, schema, result, params)
        refresh_catalog(area)  # the first synthetic table adds ``synthetic_cases``
        return published
