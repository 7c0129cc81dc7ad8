"""Ingest: read an export, map it to the schema, quarantine bad rows, stage the rest."""

from ctdc.ingest.mapping import Mapping, check_org_name, load_mapping
from ctdc.ingest.pipeline import IngestResult, ingest_file
from ctdc.ingest.readers import RawTable, read_export

__all__ = [
    "IngestResult",
    "Mapping",
    "RawTable",
    "check_org_name",
    "ingest_file",
    "load_mapping",
    "read_export",
]
