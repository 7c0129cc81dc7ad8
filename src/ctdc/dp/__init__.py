"""Differentially private products of the staged data (docs/synthetic.md).

``synthetic.py`` fits Microsoft's Synthetic Data Showcase synthesizer
(``pac-synth``) on the true staged records and samples a synthetic ``cases``
table with the release's columns; ``publish.py`` writes it beside the
k-anonymous release in the public folder. No mechanism is written here: the
noise, the thresholds and the sampling are pac-synth's.
"""

# no imports here: ``ctdc.dp.synthetic`` needs ``ctdc.harmonize``, which the audit (imported
# by harmonize) must not pull in a cycle; import ``ctdc.dp.run`` or ``ctdc.dp.synthetic``
