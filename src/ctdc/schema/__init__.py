"""The harmonized schema: YAML in ``schemas/`` -> fields, pandera contract, Arrow schema.

The contract's names are imported on first use (:func:`__getattr__`): they bring
pandas and pandera (~0.9 s), which a command that only reads the schema (``ctdc
init``, ``harmonize``, ``query``) never needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ctdc.schema.model import (
    COUNTRY_CODES,
    STATUS_VALUES,
    Field,
    Group,
    Schema,
    load_schema,
    status_column,
)

if TYPE_CHECKING:
    from ctdc.schema.contract import (
        build_contract,
        contract_failures,
        expected_text,
        table_failures,
    )

_CONTRACT = {"build_contract", "contract_failures", "expected_text", "table_failures"}

__all__ = [
    "COUNTRY_CODES",
    "STATUS_VALUES",
    "Field",
    "Group",
    "Schema",
    "build_contract",
    "contract_failures",
    "expected_text",
    "load_schema",
    "status_column",
    "table_failures",
]


def __getattr__(name: str) -> Any:
    if name in _CONTRACT:
        return getattr(importlib.import_module("ctdc.schema.contract"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
