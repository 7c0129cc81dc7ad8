"""k-anonymity for releases: the engine, its hierarchies, and the independent check.

The engine (:func:`anonymize`) is a library, independent of the CLI and of the
CTDC schema: a frame, its quasi-identifier columns, optional hierarchies, ``k``
(optionally ``l`` over sensitive columns, and protected flags that no class
may hold TRUE throughout) in; the released rows and a report of loss and risk
out; a :class:`Tuning` trades search effort for loss without touching what a
release promises. :func:`check_k_anonymity` verifies a result with a plain
DuckDB ``GROUP BY`` and shares no code with the engine; :func:`loss_lower_bound`
says how little any release could lose, so that the engine's loss can be judged
against the possible.
"""

from ctdc.anonymize.engine import anonymize
from ctdc.anonymize.hierarchy import Hierarchy
from ctdc.anonymize.loss_bound import loss_lower_bound
from ctdc.anonymize.recode import Tuning
from ctdc.anonymize.report import AnonymizationReport, AnonymizationResult
from ctdc.anonymize.verify import (
    KCheck,
    ProtectedCheck,
    check_k_anonymity,
    check_l_diversity,
    check_protected,
    check_protected_qi,
)

__all__ = [
    "AnonymizationReport",
    "AnonymizationResult",
    "Hierarchy",
    "KCheck",
    "ProtectedCheck",
    "Tuning",
    "anonymize",
    "check_k_anonymity",
    "check_l_diversity",
    "check_protected",
    "check_protected_qi",
    "loss_lower_bound",
]
