"""An analyst's ``--where``: arbitrary text, accepted only as one boolean expression over ``cases``.

Stats pastes the text into its own GROUP BY, so text such as
``1=1) GROUP BY ALL UNION SELECT ...`` or ``TRUE LIMIT 1`` must not turn the
aggregate into another query. Two checks, both by DuckDB's parser, never by
looking at the text:

1. ``SELECT * FROM cases WHERE <text>`` must be one plain SELECT of the
   sandbox (``ctdc.query.classify.check_statement``: views only, no file
   functions), with nothing but the WHERE: no GROUP BY, HAVING, QUALIFY,
   ORDER BY, LIMIT, set operation, WITH or sample (``query-refused``);
2. once pasted into the aggregate (between parentheses, on lines of its
   own, so a trailing ``--`` comment ends at its line), the aggregate's WHERE
   must parse to the same expression as in 1 (positions aside).

The aggregate is then run by ``ctdc.query.run_in_sandbox``, which checks the
whole statement again and turns DuckDB's failures (an unknown column, a type
error) into ``bad-sql`` with DuckDB's first line. The sandbox's configuration
is the last wall either way.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from ctdc.errors import CtdcError
from ctdc.query import VIEWS
from ctdc.query.classify import check_statement, refused
from ctdc.slugs import Slug

#: keys of a parsed SELECT node that must be empty for a lone WHERE
_EMPTY_PARTS = ("modifiers", "group_expressions", "group_sets", "having", "qualify", "sample")


def embed(where: str) -> str:
    """The text as the aggregate's WHERE clause: parenthesized, on lines of its own."""
    return f"WHERE (\n{where}\n)"


def check_where(con: duckdb.DuckDBPyConnection, where: str) -> dict[str, Any]:
    """The parsed expression of ``where``, or ``bad-sql``/``query-refused``."""
    if not where.strip():
        raise CtdcError(Slug.BAD_SQL, "--where is empty", fix="give a condition, or leave "
                        "--where out")  # fmt: skip
    sql = f"SELECT * FROM cases {embed(where)}"
    try:  # the parser's JSON of a very deeply nested expression is deeper than Python recurses
        check_statement(con, sql, VIEWS)
        node = _statement_node(con, sql)
    except RecursionError:
        raise refused("--where is nested too deeply to be checked") from None
    table = node.get("from_table") or {}
    lone = (
        node.get("type") == "SELECT_NODE"
        and not (node.get("cte_map") or {}).get("map")
        and all(not node.get(part) for part in _EMPTY_PARTS)
        and table.get("type") == "BASE_TABLE"
        and str(table.get("table_name", "")).lower() == "cases"
        and node.get("where_clause") is not None
    )
    if not lone:
        raise _not_a_condition()
    expression: dict[str, Any] = _positionless(node["where_clause"])
    return expression


def check_embedded(con: duckdb.DuckDBPyConnection, sql: str, expected: dict[str, Any]) -> None:
    """Refuse the aggregate ``sql`` unless its inner WHERE is exactly ``expected``."""
    try:
        node = _statement_node(con, sql)
        inner = node["from_table"]["subquery"]["node"]["where_clause"]
    except (KeyError, TypeError, RecursionError):
        raise _not_a_condition() from None
    if _positionless(inner) != expected:
        raise _not_a_condition()


def _not_a_condition() -> CtdcError:
    return refused("--where must be one condition over the columns of cases (no GROUP BY, "
                   "ORDER BY, LIMIT, UNION or other clauses)")  # fmt: skip


def _statement_node(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    row = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    tree = json.loads(row[0]) if row else {"error": True}
    statements = tree.get("statements") if isinstance(tree, dict) else None
    if not statements or tree.get("error") or len(statements) != 1:
        raise _not_a_condition()
    node = statements[0].get("node")
    if not isinstance(node, dict):
        raise _not_a_condition()
    return node


def _positionless(tree: Any) -> Any:
    """The parse tree without source positions, which differ between the two texts."""
    if isinstance(tree, dict):
        return {key: _positionless(value) for key, value in tree.items()
                if not key.startswith("query_location")}  # fmt: skip
    if isinstance(tree, list):
        return [_positionless(item) for item in tree]
    return tree
