"""Harmonize: union staged batches, generalize, anonymize, verify, publish."""

from ctdc.harmonize.pipeline import HarmonizeResult, harmonize

__all__ = ["HarmonizeResult", "harmonize"]
