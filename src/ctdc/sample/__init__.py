"""Sample exports: realistic fake data of four organizations, with planted bad rows.

``generate_samples`` writes what ``ctdc sample`` and ``make demo`` ingest:
one export per organization in its own format, language and codes (mapped by
``pipelines/<org>.yaml``) and ``planted.json``, the rows that ingest must
quarantine and why.
"""

from ctdc.sample.generator import ORGS, SLUGS, PlantedRow, SampleResult, generate_samples

__all__ = ["ORGS", "SLUGS", "PlantedRow", "SampleResult", "generate_samples"]
