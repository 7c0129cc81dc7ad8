"""Where the synthetic data sits in the public folder, and which files it holds.

A leaf module (no heavy import) so that the audit's ``files`` check can
allow exactly these names, and nothing else, without importing the generator.
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
