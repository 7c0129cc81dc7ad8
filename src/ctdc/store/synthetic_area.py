"""Where ``ctdc synthesize`` puts the synthetic data in the public folder, and its files.

Part of the public folder's layout, so it lives in ``store`` beside
``public.py``: the generator (``ctdc.dp``) writes these names and the audit's
``files`` check allows exactly them, without either importing the other.
"""

from __future__ import annotations

#: ``<public>/synthetic/``: one folder per synthetic release, ``current`` links the newest
SYNTHETIC_DIR = "synthetic"
#: the table, its CSV copy and data package, its dictionary and the generator's sidecar
SYNTHETIC_CASES = "cases.parquet"
SYNTHETIC_DICTIONARY = "dictionary.parquet"
SYNTHETIC_SIDECAR = "synthetic.json"
SYNTHETIC_CSV = "cases.csv"
SYNTHETIC_DATAPACKAGE = "datapackage.json"
SYNTHETIC_FILES = frozenset(
    {SYNTHETIC_CASES, SYNTHETIC_DICTIONARY, SYNTHETIC_SIDECAR, SYNTHETIC_CSV, SYNTHETIC_DATAPACKAGE}
)
#: the Parquet key-value metadata entry that marks a table as synthetic
SYNTHETIC_META_KEY = b"ctdc.synthetic"
