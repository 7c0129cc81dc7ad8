"""Differentially private products of the staged data (docs/synthetic.md).

``synthetic.py`` fits Microsoft's Synthetic Data Showcase synthesizer
(``pac-synth``) on the true staged records and samples a synthetic ``cases``
table with the release's columns; ``publish.py`` writes it beside the
k-anonymous release in the public folder. No mechanism is written here: the
noise, the thresholds and the sampling are pac-synth's.
"""

from __future__ import annotations

from ctdc.dp.run import synthesize_and_publish
from ctdc.dp.synthetic import (
    MAX_EPSILON,
    MAX_ROWS,
    SynthesisParams,
    SyntheticResult,
    synthesize,
)

__all__ = ["MAX_EPSILON", "MAX_ROWS", "SynthesisParams", "SyntheticResult", "synthesize",
           "synthesize_and_publish"]
