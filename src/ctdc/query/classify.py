"""Which SQL the query sandbox runs: one SELECT, judged by DuckDB's own parser, never by text.

A statement's first word says nothing about what it does: ``EXPLAIN ANALYZE
COPY ... TO`` starts with EXPLAIN and writes a file. So the sandbox asks
DuckDB's parser. It runs a query only when

* the text holds exactly one statement and DuckDB parses it as a SELECT
  (``WITH``, ``FROM x``, ``VALUES``, ``TABLE x``, ``DESCRIBE``, ``SUMMARIZE``
  and ``SHOW`` are SELECTs to DuckDB); every other type (EXPLAIN, with or
  without ANALYZE: the parser does not tell them apart, COPY, EXPORT, ATTACH,
  INSTALL, LOAD, SET, PRAGMA, CALL, CREATE, INSERT ...) is refused;
* its syntax tree (``json_serialize_sql``, which serializes SELECTs only)
  reads tables only from the sandbox's views and the query's own ``WITH``
  names, and calls only table functions that generate rows
  (``ALLOWED_TABLE_FUNCTIONS``): no ``read_blob``, ``read_text``, ``glob``,
  ``read_parquet``, ``query`` or ``checkpoint``, and no file named as a table.

This check is the first wall; the connection's configuration (exact allowed
paths, external access off, locked settings; see ``sandbox.py``) is the second,
and it alone already stops every file access outside the current release.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import duckdb

from ctdc.errors import CtdcError

#: table functions that only generate rows from their arguments; every other one is refused
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {"range", "generate_series", "unnest", "json_each", "json_tree"}
)
#: names DuckDB's parser puts in a SHOW/DESCRIBE node that lists the catalog, not a table
_CATALOG_LISTINGS = frozenset({"", '"tables"', '"databases"', "__show_tables_expanded"})
#: DuckDB's information_schema views (by exact name: a path there would be a file scan)
_INFORMATION_SCHEMA = frozenset({
    "character_sets", "check_constraints", "columns", "constraint_column_usage",
    "constraint_table_usage", "key_column_usage", "referential_constraints", "schemata",
    "table_constraints", "tables", "views",
})  # fmt: skip
_LOCAL_SCHEMAS = frozenset({"", "main"})
_LOCAL_CATALOGS = frozenset({"", "memory"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def first_line(exc: BaseException) -> str:
    """DuckDB's message without the echoed query below it."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def refused(detail: str) -> CtdcError:
    return CtdcError("query-refused", detail)


def _shown(name: str) -> str:
    """A name for a message: plain identifiers only; anything else may be a path or controls."""
    return f" {name}" if _IDENTIFIER.fullmatch(name) else ""


def check_statement(con: duckdb.DuckDBPyConnection, sql: str, views: frozenset[str]) -> None:
    """Raise ``query-refused`` unless ``sql`` is one SELECT over ``views`` (``bad-sql``: no parse).

    ``con`` only parses (and runs ``json_serialize_sql`` on the text as a
    parameter); the user's statement is not executed here.
    """
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise CtdcError("bad-sql", first_line(exc)) from exc
    if not statements:
        raise CtdcError("bad-sql", "the query is empty")
    if len(statements) > 1:
        raise refused(f"{len(statements)} statements in one query; run exactly one SELECT")
    kind = statements[0].type
    if kind is not duckdb.StatementType.SELECT:
        raise refused(f"{kind.name} statements are not run by the query sandbox")
    check_tree(_syntax_tree(con, sql), views)


def _syntax_tree(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    row = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    tree = json.loads(row[0]) if row else {"error": True}
    if not isinstance(tree, dict) or tree.get("error") or len(tree.get("statements", [])) != 1:
        raise refused("the statement could not be checked as a single SELECT")
    return tree


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object of the syntax tree, depth first, without recursion limits."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _text(node: dict[str, Any], key: str) -> str:
    value = node.get(key)
    return value.lower() if isinstance(value, str) else ""


def check_tree(tree: dict[str, Any], views: frozenset[str]) -> None:
    """Refuse table references and table functions that could reach anything but the views."""
    nodes = list(_nodes(tree))
    ctes = {
        entry["key"].lower()
        for node in nodes
        for entry in (node.get("cte_map") or {}).get("map", [])
        if isinstance(entry, dict) and isinstance(entry.get("key"), str)
    }
    readable = views | ctes
    allowed = ", ".join(sorted(views))
    for node in nodes:
        kind = node.get("type")
        if kind == "BASE_TABLE":
            name = _text(node, "table_name")
            schema = _text(node, "schema_name")
            local = schema in _LOCAL_SCHEMAS and _text(node, "catalog_name") in _LOCAL_CATALOGS
            catalog_view = schema == "information_schema" and name in _INFORMATION_SCHEMA
            if not (local and name in readable) and not catalog_view:
                raise refused(f"the query reads a table{_shown(name)} that is not one of the "
                              f"views {allowed} (or its own WITH names)")  # fmt: skip
        elif kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            name = _text(function, "function_name") if isinstance(function, dict) else ""
            if name not in ALLOWED_TABLE_FUNCTIONS:
                raise refused(f"table function{_shown(name)} is not allowed; read the views "
                              f"{allowed}")  # fmt: skip
        elif kind == "SHOW_REF":
            name = _text(node, "table_name")
            if name not in _CATALOG_LISTINGS and name not in readable:
                raise refused(f"DESCRIBE/SHOW of{_shown(name) or ' a name'} that is not one of "
                              f"the views {allowed}")  # fmt: skip
