"""``ctdc status``: what an operator checks in the morning, read from the workspace as it is.

``readers.py`` has one small function per fact (organizations and their last
batches, batches not yet released, the quarantine, the current release, each
command's last run, the key's backup); ``warnings.py`` one rule per warning;
``build.py`` puts them together as a :class:`Status`. A new fact (e.g. release
rollbacks) is one more reader and one more field. Nothing read or shown is
personal: no file name, row, pseudonym or key, only ids, counts, dates, slugs.
"""

from ctdc.status.build import workspace_status
from ctdc.status.model import Status, StatusWarning

__all__ = ["Status", "StatusWarning", "workspace_status"]
