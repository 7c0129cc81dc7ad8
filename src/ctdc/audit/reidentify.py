"""Re-identification attacks: the prosecutor (who knows a person is in the data) and linkage.

Both use the attacker's matching rule of :func:`ctdc.audit.sources.match_counts`
(a released generalized value matches every value under it, a released NULL
matches anything), which is looser than k-anonymity's strict GROUP BY: a
person may match rows of several classes. A person matching no row is safe
(not in the release, or provably not there); one matching 1..k-1 rows is
singled out to fewer than k and fails the check.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ctdc.anonymize.verify import quote_identifier as q
from ctdc.audit.model import CheckResult, fail, ok, plural
from ctdc.audit.sources import Sources, below_k, create_people, match_counts
from ctdc.schema import Field

PROSECUTOR = "prosecutor"
LINKAGE = "linkage"
#: outsiders in the linkage table: as many as staged records, at most this
MAX_OUTSIDERS = 5_000
#: the linkage table's seed: the same release gives the same verdict
SEED = 20_240_611


def prosecutor(src: Sources) -> CheckResult:
    """Every staged record, released or not, matches 0 or at least k released rows.

    Guarantees: an attacker who knows a staged person's recorded
    quasi-identifiers (and that the person is in the data) cannot narrow the
    release to fewer than k candidate rows. Suppressed and pending records are
    attacked too: matching 1..k-1 rows would tell the attacker that one of
    those few rows is, or is not, them. Does not cover attackers who know
    sensitive values or attributes as well.
    """
    if not src.has_staged:
        return CheckResult(PROSECUTOR, True, "no staged records to attack", skipped=True)
    missing = [n for n in src.qis if n not in src.staged_cols]
    select = ", ".join(
        f"NULL AS {q(n)}" if n in missing else q(n) for n in src.qis
    )  # a column staging lacks is NULL for every record
    create_people(src, "_prosecuted", f"SELECT {select} FROM staged")
    tuples, persons = below_k(match_counts(src, "_prosecuted"), src.k)
    if tuples:
        combos = plural(tuples, "distinct QI combination")
        return fail(
            PROSECUTOR,
            f"{plural(persons, 'staged record')} ({combos}) match "
            f"1..{src.k - 1} released rows: below k={src.k}",
        )
    return ok(PROSECUTOR, f"every staged record matches 0 or at least k={src.k} released rows")


def linkage(src: Sources, *, faker: bool = True) -> CheckResult:
    """An external register of named people, joined to the release on the quasi-identifiers.

    The register holds every staged record's quasi-identifiers under a fake
    name, plus as many outsiders (people not in the data, drawn uniformly from
    each field's domain, NULL included). Guarantees: nobody on such a register,
    in the data or not, links to 1..k-1 rows. Names never enter the join (an
    attacker's register links on quasi-identifiers), and none is printed;
    ``faker=False`` numbers them instead (harmonize's gate: Faker's import costs ~1 s
    and changes no verdict).
    """
    if not src.has_staged:
        return CheckResult(
            LINKAGE, True, "no staged records to build a register from", skipped=True
        )
    staged_qis = src.con.execute(
        "SELECT "
        + ", ".join(
            f"CAST({q(n)} AS VARCHAR) AS {q(n)}"
            if n in src.staged_cols
            else f"NULL::VARCHAR AS {q(n)}"
            for n in src.qis
        )
        + " FROM staged"
    ).df()
    rng = np.random.default_rng(SEED)
    outsiders = pd.DataFrame(
        {n: _draw(src.schema[n], min(len(staged_qis), MAX_OUTSIDERS), rng) for n in src.qis}
    )
    register = pd.concat([staged_qis, outsiders], ignore_index=True)
    register.insert(0, "name", fake_names(len(register), rng, faker=faker))
    src.con.register("_register", register)
    try:
        create_people(src, "_linked", "SELECT * EXCLUDE (name) FROM _register")
    finally:
        src.con.unregister("_register")
    tuples, persons = below_k(match_counts(src, "_linked"), src.k)
    if tuples:
        return fail(
            LINKAGE,
            f"{plural(persons, 'person')} of a {len(register):,}-person register"
            f" link to 1..{src.k - 1} released rows: below k={src.k}",
        )
    return ok(
        LINKAGE, f"none of {len(register):,} registered people links to fewer than k={src.k} rows"
    )


def _draw(f: Field, n: int, rng: np.random.Generator) -> pd.Series:
    """``n`` values of ``f``'s domain (its values, years, flags) or NULL, as text."""
    if f.type == "boolean":
        domain: list[str | None] = ["true", "false"]
    elif f.type == "integer":
        lo, hi = f.min or 0, f.max or (f.min or 0) + 100
        domain = [str(v) for v in range(int(lo), int(hi) + 1)]
    else:
        domain = list(f.allowed)
    choices = np.array([*domain, None], dtype=object)
    return pd.Series(choices[rng.integers(0, len(choices), n)], dtype="string")


def fake_names(n: int, rng: np.random.Generator, *, faker: bool = True) -> np.ndarray:
    """``n`` full names from Faker (the ``sample`` extra), or numbered ones without it.

    A pool of first and last names is combined with numpy: Faker per row would
    be a Python loop over the register. The names only make the register what
    an attacker holds; matching never reads them.
    """
    try:
        if not faker:
            raise ImportError("not asked for")
        first, last = _name_pools()
    except ImportError:  # a data officer's install: names do not change the verdict
        return np.array([f"person {i}" for i in range(n)], dtype=object)
    return first[rng.integers(0, 50, n)] + " " + last[rng.integers(0, 50, n)]


@functools.cache
def _name_pools() -> tuple[np.ndarray, np.ndarray]:
    """50 first and 50 last names, the same on every call (seeded): made once per process,
    as building a Faker walks its providers' modules on disk."""
    from faker import Faker

    fake = Faker()
    fake.seed_instance(SEED)
    first = np.array([fake.first_name() for _ in range(50)], dtype=object)
    last = np.array([fake.last_name() for _ in range(50)], dtype=object)
    return first, last
