"""Ingest: run one export through its mapping in chunks, quarantine bad rows, stage the rest."""

from ctdc.ingest.pipeline import IngestResult, IngestStatus, ingest_file

__all__ = ["IngestResult", "IngestStatus", "ingest_file"]
