"""Attribute disclosure, derived fields and differencing: what a k-anonymous release may still tell.

k-anonymity hides *which* row is a person's; these checks look at what the
rows of a class (or of a release-to-release difference) say about everyone
in it. Each is one or a few DuckDB ``GROUP BY`` queries over the written
Parquet; details give counts and column names, never the values of a class.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import pandas as pd

from ctdc.anonymize.hierarchy import Hierarchy
from ctdc.anonymize.verify import quote_identifier as q
from ctdc.audit.model import CheckResult, fail, ok, plural
from ctdc.audit.sources import Sources, group_by_list, hierarchy_of
from ctdc.schema import status_column
from ctdc.store.release import CASES_FILE

ATTRIBUTE = "attribute disclosure"
DERIVED = "derived fields"
DIFFERENCING = "differencing"


def certain_flags(
    src: Sources, relation: str, columns: Sequence[str] | None = None
) -> dict[str, tuple[int, int]]:
    """Protected flag -> (groups, rows) of ``relation`` in which the flag is TRUE in every row.

    A flag that is not a quasi-identifier is grouped by all quasi-identifiers
    (its equivalence classes); a flag that is one is grouped by the demographics,
    the quasi-identifiers that are not protected flags: the adversary knows a
    victim's age, nationality, year..., not her type of exploitation (grouping by
    all the other QIs cannot be met when the types are one-hot: seven FALSE give
    the eighth, docs/privacy.md). NULL and
    FALSE both count as "not TRUE": either leaves the attacker unsure.
    """
    have = src.columns if columns is None else columns
    flags = [f for f in src.schema.protected if f in have]
    qis = [n for n in src.keys if n in have]
    out: dict[str, tuple[int, int]] = {}
    plain = [f for f in flags if f not in qis]  # one query for every flag that is not a QI
    if plain:
        group = f" GROUP BY {group_by_list(qis)}" if qis else ""
        certain = ", ".join(f"bool_and({q(f)} IS TRUE) AS c{i}" for i, f in enumerate(plain))
        counts = ", ".join(
            f"count(*) FILTER (WHERE c{i}), coalesce(sum(n) FILTER (WHERE c{i}), 0)"
            for i in range(len(plain))
        )
        row = src.con.execute(
            f"SELECT {counts} FROM (SELECT count(*) AS n, {certain} FROM {relation}{group})"
        ).fetchall()[0]
        for i, flag in enumerate(plain):
            if row[2 * i]:
                out[flag] = (int(row[2 * i]), int(row[2 * i + 1]))
    flag_cols = set(flags) | {status_column(f) for f in flags}  # a flag's status is the flag's
    for flag in [f for f in flags if f in qis]:
        keys = [n for n in qis if n not in flag_cols]
        group = f" GROUP BY {group_by_list(keys)}" if keys else ""
        groups, rows = src.con.execute(
            f"SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n, "
            f"bool_and({q(flag)} IS TRUE) AS certain FROM {relation}{group}) WHERE certain"
        ).fetchall()[0]
        if groups:
            out[flag] = (int(groups), int(rows))
    return {f: out[f] for f in flags if f in out}


def _describe_certain(found: dict[str, tuple[int, int]], where: str) -> str:
    return "; ".join(
        f"{flag} is TRUE in every row of {plural(g, 'group')} ({plural(n, 'row')}){where}"
        for flag, (g, n) in found.items()
    )


def attribute_disclosure(src: Sources) -> CheckResult:
    """No protected flag is certain for anyone whose quasi-identifiers an attacker knows.

    Guarantees: for every protected flag (types of exploitation, means of
    control), every equivalence class (every group of the other QIs, for a flag
    that is a QI) has a row where the flag is not TRUE. Does not guarantee that
    a flag is unlikely: a class of 10 with 9 TRUE passes (that is l-diversity's
    or t-closeness's job), and says nothing of flags outside protected groups.
    """
    found = certain_flags(src, "cases")
    if found:
        return fail(ATTRIBUTE, _describe_certain(found, ""))
    flags = [f for f in src.schema.protected if f in src.columns]
    return ok(ATTRIBUTE, f"none of {len(flags)} protected flags is TRUE in a whole class")


def _small_classes(src: Sources, relation: str, keys: Sequence[str]) -> tuple[int, int]:
    """(classes, rows) of ``relation`` grouped by ``keys`` with fewer than k rows."""
    if not keys:
        (n,) = src.con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0]
        return (1, int(n)) if 0 < n < src.k else (0, 0)
    got = src.con.execute(
        f"SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {relation} "
        f"GROUP BY {group_by_list(keys)}) WHERE n < ?",
        [src.k],
    ).fetchall()[0]
    return int(got[0]), int(got[1])


def _split_classes(src: Sources, extra: str) -> tuple[int, int]:
    """(classes, rows) below k that grouping by the QIs *and* ``extra`` makes out of QI classes
    of at least k: what the extra column sharpens. A QI class already below k is the
    prosecutor's finding, not this column's."""
    keys = group_by_list(src.keys)
    by_qis = f"PARTITION BY {keys}" if keys else ""
    got = src.con.execute(
        f"SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n, sum(count(*)) OVER "
        f"({by_qis}) AS m FROM cases GROUP BY {group_by_list([*src.keys, extra])}) "
        f"WHERE n < ? AND m >= ?",
        [src.k, src.k],
    ).fetchall()[0]
    return int(got[0]), int(got[1])


def _split_problem(src: Sources, extra: str) -> list[str]:
    """The problem, if the QIs plus the released field ``extra`` give classes below k."""
    classes, rows = _split_classes(src, extra)
    if not classes:
        return []
    return [f"QIs + {extra} give {plural(classes, 'class')} below k={src.k} "
            f"({plural(rows, 'row')})"]  # fmt: skip


@functools.lru_cache(maxsize=32)
def _expected_levels(hier: Hierarchy, columns: int) -> pd.DataFrame:
    """Label (of any level) -> the value each of the field's ``columns + 1`` columns must
    hold: the ancestor at the column's level when the label is at that level or finer,
    else NULL. A function of the hierarchy: built once per process, not once per audit."""
    table: dict[str, list[str | None]] = {}
    for row in hier.rows:
        for at in range(hier.height - 1):
            cols = table.setdefault(row[at], [None] * (columns + 1))
            for level in range(at, columns + 1):
                cols[level] = row[level]
    header = ["label", *(f"e{i}" for i in range(columns + 1))]
    return pd.DataFrame([[label, *cols] for label, cols in table.items()], columns=header)


def _level_problems(src: Sources) -> list[str]:
    """Rows of the file whose level columns are not the function of the published value."""
    file = f"read_parquet('{str(src.release / CASES_FILE).replace(chr(39), chr(39) * 2)}')"
    have = {d[0] for d in src.con.execute(f"SELECT * FROM {file} LIMIT 0").description or []}
    problems = []
    for f in src.schema.fields:
        names = [c for c, _ in f.level_columns]
        hier = hierarchy_of(src.schema, f.name)
        if not names or hier is None or not {f.name, *names} <= have:
            continue
        src.con.register("_levels_expected", _expected_levels(hier, len(names)))
        all_cols = [f.name, *names]
        value = "coalesce(" + ", ".join(f"CAST({q(c)} AS VARCHAR)" for c in all_cols) + ")"
        differs = " OR ".join(f"CAST(r.{q(c)} AS VARCHAR) IS DISTINCT FROM e.e{i}"
                              for i, c in enumerate(all_cols))  # fmt: skip
        (n,) = src.con.execute(
            f"SELECT count(*) FROM {file} r LEFT JOIN _levels_expected e ON e.label = {value} "
            f"WHERE {value} IS NOT NULL AND (e.label IS NULL OR {differs})"
        ).fetchall()[0]
        src.con.unregister("_levels_expected")
        if n:
            problems.append(f"{plural(int(n), 'row')}: {f.name}'s level columns "
                            f"({', '.join(names)}) are not its published levels")  # fmt: skip
    return problems


def derived_fields(src: Sources) -> CheckResult:
    """A released field computed from a quasi-identifier says nothing its published source hides.

    * a derived field that is not a QI (majority status from the age band):
      the QIs plus that field give no class below k, i.e. it never splits a
      class (it follows the *published* band, so a suppressed band is not split
      into adults and minors); a QI class already below k is left to the prosecutor;
    * a derived field that is a QI must be NULL wherever its source is NULL;
    * a flag group's label column: the QIs plus the label give no class below
      k when any of its flags is a QI, and the label is a function of the
      released flags (it never says more than they do);
    * a quasi-identifier's level columns (``citizenship_region``...) hold exactly
      its published value's ancestor at their level, or NULL below the published
      level: a function of the published value, so they add nothing to it.

    Does not check derivations the schema does not declare.
    """
    problems: list[str] = _level_problems(src)
    for f in src.schema.fields:
        source = f.derived_from
        if source is None or f.name not in src.columns or source not in src.schema.by_name:
            continue
        if src.schema[source].role != "quasi_identifier":
            continue
        if f.role == "quasi_identifier":
            if source in src.columns:
                (n,) = src.con.execute(
                    f"SELECT count(*) FROM cases WHERE {q(source)} IS NULL "
                    f"AND {q(f.name)} IS NOT NULL"
                ).fetchall()[0]
                if n:
                    problems.append(
                        f"{f.name} is published in {plural(int(n), 'row')} whose {source} is NULL"
                    )
            continue
        problems += _split_problem(src, f.name)
    for group in src.schema.groups.values():
        label = group.concatenated
        if not label or label not in src.columns:
            continue
        flags = [f.name for f in group.flags if f.name in src.columns]
        if any(f in src.qis for f in flags):
            problems += _split_problem(src, label)
        if flags:
            (split,) = src.con.execute(
                f"SELECT count(*) FROM (SELECT count(DISTINCT coalesce({q(label)}, chr(0))) AS d "
                f"FROM cases GROUP BY {group_by_list(flags)}) WHERE d > 1"
            ).fetchall()[0]
            if split:
                problems.append(
                    f"{label} takes several values for the same flags "
                    f"({plural(int(split), 'flag combination')})"
                )
    if problems:
        return fail(DERIVED, "; ".join(problems))
    return ok(DERIVED, "every derived field follows its published source")


def differencing(src: Sources) -> CheckResult:
    """The rows a release added and removed are each k-anonymous and disclose no protected flag.

    An analyst holding both releases computes ``current EXCEPT ALL previous``
    (whole rows, as a multiset) and the reverse; a night that added three
    records shows them as three rows, whatever the classes they joined. The
    check runs the same difference in DuckDB and groups each side by the QIs:
    no group below k, and no protected flag TRUE in a whole group (the rule of
    :func:`attribute_disclosure`). Offending groups are counted, never named.
    Guarantees this for the pair audited only, not for every pair of a series.
    """
    if src.previous is None:
        return CheckResult(DIFFERENCING, True, "no previous release", skipped=True)
    previous = [d[0] for d in src.con.execute("SELECT * FROM previous LIMIT 0").description or []]
    common = [c for c in src.columns if c in previous]
    cols = group_by_list(common)
    src.con.execute(
        f"CREATE OR REPLACE TEMP TABLE _added AS "
        f"SELECT {cols} FROM cases EXCEPT ALL SELECT {cols} FROM previous"
    )
    src.con.execute(
        f"CREATE OR REPLACE TEMP TABLE _removed AS "
        f"SELECT {cols} FROM previous EXCEPT ALL SELECT {cols} FROM cases"
    )
    problems: list[str] = []
    sizes: list[str] = []
    for side in ("added", "removed"):
        relation = f"_{side}"
        (total,) = src.con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0]
        sizes.append(f"{total:,} {side}")
        if not total:
            continue
        classes, rows = _small_classes(src, relation, [n for n in src.keys if n in common])
        if classes:
            problems.append(
                f"{side} rows form {plural(classes, 'QI combination')} below "
                f"k={src.k} ({plural(rows, 'row')})"
            )
        found = certain_flags(src, relation, common)
        if found:
            problems.append(_describe_certain(found, f" of the {side} rows"))
    if set(common) != set(src.columns) or set(common) != set(previous):
        sizes.append("columns differ: compared on the shared ones")
    if problems:
        return fail(DIFFERENCING, "; ".join(problems))
    return ok(DIFFERENCING, f"rows {', '.join(sizes)}: each side k-anonymous, no flag certain")
