"""Release management for the operator: list, show, diff, roll back and prune releases.

Over the private releases of the workspace (``store.release``), their public
copies (``store.public``), the series' ledgers and the release log; docs/releases.md.
Each command that changes anything holds the harmonize lock and logs itself.
"""

from ctdc.releases.diff import ReleaseDiff, diff_releases
from ctdc.releases.prune import prune
from ctdc.releases.registry import ReleaseSummary, list_releases, load_release, show_release
from ctdc.releases.rollback import RollbackResult, rollback

__all__ = ["ReleaseDiff", "ReleaseSummary", "RollbackResult", "diff_releases", "list_releases",
           "load_release", "prune", "rollback", "show_release"]  # fmt: skip
