"""An organization's mapping: ``pipelines/<org>.yaml`` loaded, checked and applied to text."""

from ctdc.mapping.spec import Mapping, check_org_name, load_mapping

__all__ = ["Mapping", "check_org_name", "load_mapping"]
