"""The harmonized schema: YAML in ``schemas/`` -> fields, pandera contract, Arrow schema."""

from ctdc.schema.contract import (
    build_contract,
    contract_failures,
    expected_text,
    table_failures,
)
from ctdc.schema.model import COUNTRY_CODES, Field, Group, Schema, load_schema

__all__ = [
    "COUNTRY_CODES",
    "Field",
    "Group",
    "Schema",
    "build_contract",
    "contract_failures",
    "expected_text",
    "load_schema",
    "table_failures",
]
