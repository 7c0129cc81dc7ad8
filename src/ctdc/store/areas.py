"""The public folder a workspace publishes to, where and with the mode its pinned policy names.

One function, because every command that reads or writes the public folder (harmonize's
checks, the audit, the report, releases, the DP products) must find the same folder.
"""

from __future__ import annotations

from pathlib import Path

from ctdc.store.policy import load_policy
from ctdc.store.public import PublicArea, public_area
from ctdc.store.workspace import Workspace


def workspace_area(ws: Workspace) -> PublicArea:
    """The workspace's public folder (``publish_dir``, default ``<data>/public``) and mode."""
    policy = load_policy(ws)
    publish_dir = Path(policy.publish_dir) if policy.publish_dir else None
    return public_area(ws.root, publish_dir, policy.public_mode)
