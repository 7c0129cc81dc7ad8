"""One renderer per organization: its format, language, codes and defects.

Each ``render`` turns the organization-neutral truth (``world.Cases``) and its
identifiers (``identity.People``) into an :class:`~ctdc.sample.export.Export`.
The label tables (``MOC_ES`` and friends) are what each ``pipelines/<org>.yaml``
vocabulary must translate back; tests check both directions.
"""
