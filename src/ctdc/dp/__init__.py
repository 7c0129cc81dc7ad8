"""Differentially private products of the true staged data, and the budget they spend.

* :mod:`ctdc.dp.aggregates` -- ``dp_counts``: counts (and shares) over a key set
  taken from the public schema, noise from OpenDP (``ctdc stats --dp``);
* :mod:`ctdc.dp.records` -- the true records every product is computed from;
* :mod:`ctdc.dp.keys` -- that key set, and its size limit;
* :mod:`ctdc.dp.publish` -- the table and its JSON sidecar into ``<public>/dp/``;
* :mod:`ctdc.dp.synthetic` -- a synthetic ``cases`` table with the release's columns, fitted
  on the true staged records (``ctdc synthesize``, docs/synthetic.md) by the marginal model
  (:mod:`ctdc.dp.marginal_model`, OpenDP's measurements) or by Microsoft's Synthetic Data
  Showcase synthesizer (:mod:`ctdc.dp.synthetic_pacsynth`); :mod:`ctdc.dp.synthetic_publish`
  writes it beside the k-anonymous release, :mod:`ctdc.dp.run` is the command's whole run;
* :mod:`ctdc.dp.budget` -- the privacy-budget ledger: ``charge`` (before any noise is
  drawn; raises ``budget-exceeded``), ``remaining``, ``budget_state``.

No mechanism is written here: the noise is OpenDP's (pac-synth's when it is chosen). Nothing
is imported here, so ``ctdc status`` can read the budget without OpenDP or harmonize (and the audit,
which harmonize imports, pulls in no cycle); docs/stats.md ("Differential privacy") and
docs/synthetic.md say what the guarantees mean.
"""
