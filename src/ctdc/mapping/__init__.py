"""An organization's mapping: ``pipelines/<org>.yaml`` loaded, checked and applied to text."""

from ctdc.mapping.load import load_mapping
from ctdc.mapping.spec import Mapping
from ctdc.org_name import check_org_name

__all__ = ["Mapping", "check_org_name", "load_mapping"]
