"""The anonymizer's public entry point: a frame in, a k-anonymous frame and a report out.

Independent of the CLI and of the CTDC schema: the caller names the
quasi-identifiers (QIs), gives hierarchies for those that have them (the others
can only be published as is or suppressed), and optionally pins a level per QI
(what CTDC publishes: one fixed level, or suppression) and asks for distinct
l-diversity over sensitive columns. :mod:`ctdc.anonymize.recode` chooses the
levels; this module validates, encodes, rebuilds the frame and accounts.

Strict semantics (docs/anonymization.md, "Semantics"): NA -- missing in the input or
suppressed here -- is a value of its own, so the output is k-anonymous under a
plain SQL ``GROUP BY`` over the QIs. The engine only generalizes along the
hierarchies, suppresses, or removes whole records; it never invents a value and
never touches a non-QI column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from ctdc.anonymize.hierarchy import Encoded, Hierarchy, encode_column
from ctdc.anonymize.recode import Tuning, local_recode
from ctdc.anonymize.report import (
    AnonymizationReport,
    AnonymizationResult,
    cell_status,
    risk_profile,
)

# numpy dtypes that cannot hold NA, and the pandas nullable dtype each becomes.
_NULLABLE = {
    "bool": "boolean",
    "int8": "Int8",
    "int16": "Int16",
    "int32": "Int32",
    "int64": "Int64",
    "uint8": "UInt8",
    "uint16": "UInt16",
    "uint32": "UInt32",
    "uint64": "UInt64",
}


def anonymize(
    frame: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    k: int,
    *,
    hierarchies: Mapping[str, Hierarchy] | None = None,
    levels: Mapping[str, int] | None = None,
    sensitive: Sequence[str] = (),
    l: int | None = None,  # noqa: E741 -- the letter of l-diversity
    group_col: str | None = None,
    tuning: Tuning | None = None,
    protected: Sequence[str] = (),
) -> AnonymizationResult:
    """Make ``frame`` strictly k-anonymous (and distinct l-diverse) over ``quasi_identifiers``.

    ``hierarchies`` maps a QI to its generalization hierarchy; ``levels`` pins a
    QI to one level (its cells are then published at that level or suppressed).
    ``l`` asks for at least ``l`` distinct known values of every ``sensitive``
    column in every class. ``protected`` names boolean (nullable) columns that no class
    may hold TRUE in every record: each class keeps at least one record that is FALSE
    or NA there, so that knowing a person's QIs never makes her flag certain (an
    all-FALSE class is fine). A protected column that is itself a QI is held to the same
    promise over the *other* QIs: every group of released rows sharing their published
    values keeps a row that is not TRUE there (met by generalizing the QIs that are not
    protected flags, never the flag; :mod:`ctdc.anonymize.recode.qi_flags`). All are met
    by generalizing, never by removing records the engine could place. ``group_col``
    (e.g. the organization) only breaks the report down. ``tuning`` changes how hard the
    search looks (:class:`Tuning`), never what the release promises.

    Returns the released rows (input columns in input order; surviving rows in
    input order with a fresh index) and a report. A QI published only as leaves
    or NA keeps its dtype (numpy ``bool``/ints become nullable); one with
    generalized values becomes ``string``.

    Raises ``ValueError`` for bad arguments: ``k < 2``, QIs missing or repeated,
    values outside a hierarchy, a level outside one, ``l`` without sensitive
    columns or above the distinct values a column has.
    """
    qis = _validate(frame, quasi_identifiers, k, group_col)
    hierarchies = dict(hierarchies or {})
    levels = dict(levels or {})
    unknown = sorted(set(hierarchies) - set(qis)) + sorted(set(levels) - set(qis))
    if unknown:
        raise ValueError(f"hierarchies/levels name columns that are not QIs: {unknown}")
    columns = [encode_column(q, frame[q], hierarchies.get(q)) for q in qis]
    sens_codes, l_div = _sensitive(frame, sensitive, l, qis)
    flags, qi_flags = _protected(frame, protected, qis)
    allowed = [
        _allowed(c, levels.get(c.name))
        if c.name in qi_flags and qi_flags[c.name].any()  # a TRUE flag's NA hides it
        else _splitting(c, _allowed(c, levels.get(c.name)))
        for c in columns
    ]
    risk_before = risk_profile(np.stack([c.codes for c in columns], axis=1), int(k))

    recoding = local_recode(
        columns,
        allowed,
        int(k),
        sensitive=sens_codes,
        l_div=l_div,
        protected=flags,
        tuning=tuning,
        qi_flags={
            qis.index(name): np.unique(columns[qis.index(name)].codes[true])
            for name, true in qi_flags.items()
        },
    )
    keep = ~recoding.removed
    everyone = bool(keep.all())
    # copy-on-write (pandas >= 3): the columns the engine does not touch are shared, and
    # only those are filtered, so the release costs no second copy of the QI columns
    out = frame.drop(columns=list(qis))
    out = out if everyone else out.loc[keep]
    published = np.zeros((int(keep.sum()), len(qis)), dtype=np.int32)  # ids: few values
    for j, col in enumerate(columns):
        ids = col.ancestor[recoding.levels[keep, j], col.codes[keep]]
        published[:, j] = ids
        out[col.name] = _column(frame[col.name] if everyone else frame[col.name][keep], col, ids)
    out = out[list(frame.columns)].reset_index(drop=True)

    report = AnonymizationReport.build(
        k=int(k),
        l=l_div if l is not None else None,
        columns=columns,
        levels=recoding.levels,
        removed=recoding.removed,
        published=published,
        groups=frame[group_col] if group_col is not None else None,
        risk_before=risk_before,
        protected=len(flags) + len(qi_flags),
    )
    status = pd.DataFrame({c.name: cell_status(published[:, j], c.domain, c.not_recorded)
                           for j, c in enumerate(columns)})  # fmt: skip
    return AnonymizationResult(frame=out, report=report, status=status)


def _allowed(col: Encoded, pinned: int | None) -> tuple[int, ...]:
    """Levels the engine may publish ``col`` at: all, or the pinned one and the root."""
    top = col.levels - 1
    if pinned is None:
        return tuple(range(col.levels))
    if isinstance(pinned, bool) or not isinstance(pinned, int | np.integer):
        raise ValueError(f"level of {col.name!r} must be an integer, got {pinned!r}")
    if not 0 <= pinned <= top:
        raise ValueError(f"level {pinned} of {col.name!r} is outside 0..{top}")
    return tuple(sorted({int(pinned), top}))


def _splitting(col: Encoded, allowed: tuple[int, ...]) -> tuple[int, ...]:
    """``allowed`` up to the first level at which every record of the input publishes the
    same value: the levels above it split no class and merge none, so they only lose.

    A column constant in the input (``data_source`` of a one-organization release) is
    then published as recorded, never suppressed; one whose records all share an ancestor
    (an organization whose victims are all adults: ``18+``) is generalized at most to it.
    "Not recorded" is a value of its own here as for k: a column with one value and some
    NAs is not constant, since suppressing the value merges its records with the NAs.

    Any release that uses a higher level stays k-anonymous (and l-diverse, and keeps its
    protected witnesses) when those cells are lowered to this one, since classes that
    differ only there merge, and loses less: the cut removes no better solution.
    """
    present = np.unique(col.codes)
    for i, level in enumerate(allowed):
        if len(np.unique(col.ancestor[level, present])) <= 1:
            return allowed[: i + 1]
    return allowed


def _column(original: pd.Series, col: Encoded, ids: np.ndarray) -> pd.Series:
    """The published column: the original values where a leaf is kept, NA where suppressed,
    the hierarchy's text where generalized (then the column is ``string``)."""
    if (ids <= col.domain).all():
        nullable = _NULLABLE.get(str(original.dtype))
        column = original.astype(nullable) if nullable else original
        return column.mask(ids == 0)
    # an Arrow take from the few distinct values: ~4x faster than converting n Python strings
    values = pa.array([None if v is pd.NA else str(v) for v in col.values], pa.string())
    return pd.Series(pd.array(values.take(ids), dtype="string"), index=original.index)


def _sensitive(
    frame: pd.DataFrame,
    sensitive: Sequence[str],
    l: int | None,  # noqa: E741
    qis: tuple[str, ...],
) -> tuple[list[np.ndarray], int]:
    if isinstance(sensitive, str):
        raise ValueError(f"sensitive must be a sequence of column names, not {sensitive!r}")
    if l is None:
        return [], 1
    if isinstance(l, bool) or not isinstance(l, int | np.integer) or l < 1:
        raise ValueError(f"l must be an integer >= 1, got {l!r}")
    if l > 1 and not sensitive:
        raise ValueError("l-diversity needs at least one sensitive column")
    codes = []
    for s in sensitive:
        if s not in frame.columns:
            raise ValueError(f"sensitive column {s!r} is not a column of the frame")
        if s in qis:
            raise ValueError(f"{s!r} cannot be both a quasi-identifier and sensitive")
        c, uniques = _codes(frame[s])
        if len(frame) and len(uniques) < l:
            raise ValueError(
                f"sensitive column {s!r} has {len(uniques)} distinct known values: "
                f"no class can be {l}-diverse"
            )
        codes.append(c.astype(np.int64) + 1)
    return codes, int(l)


def _protected(
    frame: pd.DataFrame, protected: Sequence[str], qis: tuple[str, ...]
) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """Per protected non-QI column: 1 where the record is not TRUE (FALSE or NA), 0 where
    TRUE; per protected QI column: where the record is TRUE.

    Only booleans are accepted (``bool``, ``boolean``, or objects that are all
    True/False/NA): a flag spelt as text ("yes") would otherwise be silently read as
    never TRUE, and then nothing would be protected.
    """
    if isinstance(protected, str):
        raise ValueError(f"protected must be a sequence of column names, not {protected!r}")
    out, in_qis = [], {}
    for name in dict.fromkeys(protected):
        if name not in frame.columns:
            raise ValueError(f"protected column {name!r} is not a column of the frame")
        column = frame[name]
        try:
            flags = column.astype("boolean")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"protected column {name!r} is not boolean") from exc
        if not (pd.api.types.is_bool_dtype(column.dtype) or _all_bool(column)):
            raise ValueError(f"protected column {name!r} is not boolean (dtype {column.dtype})")
        true = flags.fillna(False).to_numpy(dtype=bool)
        if name in qis:
            in_qis[name] = true
        else:
            out.append((~true).astype(np.int64))
    return out, in_qis


def _all_bool(column: pd.Series) -> bool:
    """Whether an object column holds only True, False and NA (a few distinct values)."""
    if column.dtype != object:
        return False
    known = column.dropna().unique()
    return all(isinstance(v, bool | np.bool_) for v in known)


def _codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes numbered in sorted order of the values (by their text if they do not sort):
    first-appearance codes would make the release depend on the order of the rows."""
    try:
        return pd.factorize(column, sort=True, use_na_sentinel=True)
    except TypeError:  # values of mixed types
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        rank = np.argsort(np.argsort([str(v) for v in uniques], kind="stable"))
        return np.where(codes >= 0, rank[np.maximum(codes, 0)], -1), pd.Index(uniques)


def _validate(
    frame: pd.DataFrame, quasi_identifiers: Sequence[str], k: int, group_col: str | None
) -> tuple[str, ...]:
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}: k = 1 would publish every record unprotected")
    if isinstance(quasi_identifiers, str):
        raise ValueError(
            f"quasi_identifiers must be a sequence of column names, not the string "
            f"{quasi_identifiers!r}"
        )
    qis = tuple(quasi_identifiers)
    if not qis:
        raise ValueError("quasi_identifiers is empty: k-anonymity needs at least one column")
    duplicated_qis = sorted({str(q) for q in qis if qis.count(q) > 1})
    if duplicated_qis:
        raise ValueError(f"quasi_identifiers lists columns twice: {duplicated_qis}")
    if frame.columns.has_duplicates:
        dupes = sorted(map(str, frame.columns[frame.columns.duplicated()].unique()))
        raise ValueError(f"frame has duplicate column names: {dupes}")
    missing = [q for q in qis if q not in frame.columns]
    if missing:
        raise ValueError(
            f"quasi-identifier(s) not in the frame: {missing}; columns are {list(frame.columns)}"
        )
    if group_col is not None:
        if group_col not in frame.columns:
            raise ValueError(f"group_col {group_col!r} is not a column of the frame")
        groups = frame[group_col]
        if groups.isna().any():
            raise ValueError(
                f"group_col {group_col!r} has missing values: losses could not be attributed"
            )
        uniques = groups.unique()
        if len({str(v) for v in uniques}) != len(uniques):
            raise ValueError(
                f"group_col {group_col!r} has distinct values with the same text "
                f"(e.g. 1 and '1'), which the report could not tell apart"
            )
    return qis
