"""``ctdc synthesize`` as one library call: under the harmonize lock, fit, sample, publish.

The lock keeps a nightly harmonize from changing staging or the public folder
while the synthesizer reads one and writes the other.
"""

from __future__ import annotations

from ctdc.dp.synthetic import SynthesisParams, synthesize
from ctdc.dp.synthetic_publish import Published, publish_synthetic
from ctdc.schema import Schema
from ctdc.store.areas import workspace_area
from ctdc.store.catalog import refresh_catalog
from ctdc.store.lock import exclusive_lock
from ctdc.store.workspace import Workspace


def synthesize_and_publish(ws: Workspace, schema: Schema, params: SynthesisParams,
                           *, wait: float = 0.0) -> Published:  # fmt: skip
    """Check the options, then under the lock: the synthetic table, published."""
    params.check()  # a usage error is reported before waiting on anyone's lock
    area = workspace_area(ws)
    with exclusive_lock(ws.lock_path, wait=wait):
        result = synthesize(ws, schema, params)
        published = publish_synthetic(ws, area, schema, result, params)
        refresh_catalog(area)  # the first synthetic table adds ``synthetic_cases``
        return published
