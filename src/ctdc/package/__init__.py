"""What a public release ships beside its Parquet files, generated from them and the schema.

One module per file kind: ``hierarchies.py`` (the hierarchy tables),
``csvcopy.py`` (``cases.csv``), ``datapackage.py`` (Frictionless),
``jsonschema.py`` (a row as JSON Schema), ``codebook.py`` (Markdown and HTML),
over ``columns.py`` (the dictionary read once) and ``info.py`` (the release's
public facts). ``build.py`` holds the one entry the publish step calls,
:func:`write_package`. The package sits above ``schema``, ``anonymize`` (the
hierarchy type) and ``store`` (file names, deterministic writes) and below
``harmonize``, which calls it.
"""

from ctdc.package.build import PACKAGE_FILES, package_files, write_package
from ctdc.package.info import ReleaseInfo

__all__ = ["PACKAGE_FILES", "ReleaseInfo", "package_files", "write_package"]
