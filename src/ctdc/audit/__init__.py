"""The privacy audit of a release: attacks and byte checks run as the steward, before and after
publishing (docs/audit.md). It may read the private workspace; its report names no private value.
"""

from ctdc.audit.model import AuditReport, CheckResult
from ctdc.audit.run import audit_release, default_release, previous_public_release
from ctdc.store.areas import workspace_area

__all__ = [
    "AuditReport",
    "CheckResult",
    "audit_release",
    "default_release",
    "previous_public_release",
    "workspace_area",
]
