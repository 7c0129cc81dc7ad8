"""What a public release ships beside its Parquet files, generated from them and the schema.

``hierarchies.py`` writes the hierarchy tables; ``build.py`` is the one entry
the publish step calls (:func:`write_package`). The package sits above
``schema``, ``anonymize`` (the hierarchy type) and ``store`` (file names,
deterministic writes) and below ``harmonize``, which calls it.
"""

from ctdc.package.build import package_files, write_package

__all__ = ["package_files", "write_package"]
