"""Onboarding: ``ctdc mapping init`` drafts ``pipelines/<org>.yaml`` from a sample export.

The stages, each its own module: :mod:`~ctdc.onboard.source` (how to read the
sample), :mod:`~ctdc.onboard.vocabulary` (the multilingual word lists, data
files), :mod:`~ctdc.onboard.matching` (columns to targets, labels to flags),
:mod:`~ctdc.onboard.values` (which values need an entry), :mod:`~ctdc.onboard.plan`
(the typed plan), :mod:`~ctdc.onboard.build` (the plan from the sample),
:mod:`~ctdc.onboard.render` (its commented YAML) and :mod:`~ctdc.onboard.write`.
"""

from ctdc.onboard.build import build_scaffold
from ctdc.onboard.plan import ColumnPlan, Scaffold, ValueNote
from ctdc.onboard.source import guess_source
from ctdc.onboard.write import check_target, write_scaffold

__all__ = [
    "ColumnPlan",
    "Scaffold",
    "ValueNote",
    "build_scaffold",
    "check_target",
    "guess_source",
    "write_scaffold",
]
