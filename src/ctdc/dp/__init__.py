"""Differentially private products of the true staged data, and the budget they spend.

* :mod:`ctdc.dp.aggregates` -- ``dp_counts``: counts (and shares) over a key set
  taken from the public schema, noise from OpenDP (``ctdc stats --dp``);
* :mod:`ctdc.dp.keys` -- that key set, and its size limit;
* :mod:`ctdc.dp.publish` -- the table and its JSON sidecar into ``<public>/dp/``;
* :mod:`ctdc.dp.budget` -- the privacy-budget ledger: ``charge`` (before any noise is
  drawn; raises ``budget-exceeded``), ``remaining``, ``budget_state``.

Nothing is imported here, so ``ctdc status`` can read the budget without OpenDP or
harmonize; docs/stats.md ("Differential privacy") says what the guarantee means.
"""
