"""k-anonymity for releases: the engine and the independent check.

The engine (:func:`anonymize`) is a library, independent of the CLI and of the
CTDC schema: a frame, the names of its quasi-identifier columns and ``k`` in;
the released rows and a report of the loss out. :func:`check_k_anonymity`
verifies a result with a plain DuckDB ``GROUP BY`` and shares no code with it.
"""

from ctdc.anonymize.report import AnonymizationReport, AnonymizationResult
from ctdc.anonymize.suppress import anonymize
from ctdc.anonymize.verify import KCheck, check_k_anonymity

__all__ = [
    "AnonymizationReport",
    "AnonymizationResult",
    "KCheck",
    "anonymize",
    "check_k_anonymity",
]
