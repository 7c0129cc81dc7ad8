"""Strict k-anonymity by greedy local suppression.

Semantics (DESIGN.md, "Privacy model"; not negotiable): in the released frame,
every combination of quasi-identifier (QI) values occurs in at least ``k``
records, where NA -- originally missing or suppressed by us -- is a value of its
own. NA is *not* a wildcard: a record with ``country = NA`` only hides among
other records with ``country = NA``. That is the semantics of a plain SQL
``GROUP BY``, the one the independent check in :mod:`ctdc.anonymize.verify`
applies.

The engine knows nothing of the CTDC schema or the CLI: it takes a frame, the
names of its QI columns and ``k``. It only ever (a) turns QI cells into NA and
(b) removes whole records; it never invents or changes a value and never touches
a non-QI column.

How (minimal loss first: single cells before whole records)
-----------------------------------------------------------
Each QI is encoded to integer codes with NA as code 0, so "suppress a cell" is
"set its code to 0", and a suppressed cell equals an originally missing one, as
the semantics demand. Records with equal codes form an equivalence class. The
engine works on classes (distinct code rows, weighted by their record count),
never row by row: every record of a class is treated alike.

1. *Greedy suppression.* A class with fewer than ``k`` records is *at risk*.
   Each step tries every QI ``q``: suppose ``q`` were suppressed in all at-risk
   classes; group them with the safe classes that already have ``q = NA`` (no
   other class can be reached) and call an at-risk class *rescued* if its group
   then reaches ``k``.

   * If some QI rescues records, take the one rescuing the most (ties: fewer
     cells, then column order) and suppress it **only in the rescued classes**.
     A trial group is all-rescued or not rescued at all, so the rescued classes
     form exactly the groups of size >= k seen in the trial, and no cell is
     spent on records it does not save.
   * If no single QI rescues anyone, *escalate*: suppress in all at-risk classes
     the QI that brings them closest to ``k`` (largest gain of
     ``sum(records * min(group size, k))``; same ties). Records needing two or
     more suppressed cells get there this way.

   It stops when no class is at risk or every at-risk class is all-NA.
2. *Removal.* Classes still smaller than ``k`` are removed whole.
3. *Restoration.* Escalation suppresses a QI in every at-risk record, and later
   steps can make some of those cells unnecessary. For each QI in turn, the
   records whose cell was suppressed are grouped by (current class, original
   value); a group gets its value back if its target class then has >= ``k``
   records and its source class keeps >= ``k`` or empties. Passes repeat until
   nothing changes.

Why the output is k-anonymous by construction
---------------------------------------------
Step 1 never harms a safe record: it changes codes of at-risk classes only, and
a class that records move into can only grow, so a class that once had >= ``k``
records keeps them. Step 2 removes every class smaller than ``k``, whole; since
class size is a property of the class, removing one never shrinks another, so
afterwards every class has >= ``k`` records. Step 3 keeps that invariant move by
move: within a QI's pass, sources have the QI as NA and targets have a value, so
no class is both; a target only gains records and ends >= ``k``; a source ends
>= ``k`` or empty. Step 2 is computed exactly from the codes, so the guarantee
does not depend on the greedy choices being good -- those only decide how much
is lost. A final recount raises if the invariant were ever broken (an internal
error: the release must then fail, and the independent check would fail too).

Termination: a rescue step turns at least one at-risk record safe and no record
ever becomes at risk again; an escalation adds at least one NA cell to at-risk
records; a restoration gives back at least one cell and cells are never
suppressed again in step 3.

Determinism: no randomness; ties are broken by fixed rules (records rescued,
then cells, then QI order; restoration goes by QI order, larger groups first).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ctdc.anonymize.report import AnonymizationReport, AnonymizationResult

# Mixed-radix keys are built in int64; before a product of cardinalities could pass
# this bound the partial key is re-factorized to dense codes 0..(distinct-1).
_KEY_LIMIT = 1 << 62

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
    group_col: str | None = None,
) -> AnonymizationResult:
    """Make ``frame`` strictly k-anonymous over ``quasi_identifiers`` by local suppression.

    Returns the released rows (same columns in the same order; surviving rows in
    input order, index reset; suppressed QI cells set to NA) and a report of what
    was lost. ``group_col`` (e.g. the organization) only breaks the report down;
    it does not change what is suppressed.

    Dtypes are kept for every column that can hold NA (pandas nullable dtypes,
    ``string``/``str``, ``category``, float, object, datetime). A QI column of a
    numpy dtype that cannot hold NA (``bool``, ``int16``, ...) always comes back
    as its nullable counterpart (``boolean``, ``Int16``, ...), whether or not a
    cell was suppressed, so the output schema depends on the input schema only.

    Raises ``ValueError`` for ``k < 2`` (or a non-integer ``k``), an empty or
    duplicated QI list, a QI or ``group_col`` that is not a column, duplicate
    column names, or missing values in ``group_col``.
    """
    qis = _validate(frame, quasi_identifiers, k, group_col)

    codes, cards = _encode(frame, qis)
    final, keep = _anonymize_codes(codes, cards, int(k))

    # Cells the engine turned NA, counted in released records only.
    suppressed_cells = (codes != 0) & (final == 0) & keep  # shape (m, n)

    out = frame.copy()
    for j, q in enumerate(qis):
        column = out[q]
        nullable = _NULLABLE.get(str(column.dtype))
        if nullable is not None:
            column = column.astype(nullable)
        if suppressed_cells[j].any():
            column = column.mask(suppressed_cells[j])
        out[q] = column
    out = out.loc[keep].reset_index(drop=True)

    report = _report(
        frame,
        qis,
        int(k),
        group_col,
        released_codes=final[:, keep],
        cards=cards,
        cells=suppressed_cells,
        removed=~keep,
    )
    return AnonymizationResult(frame=out, report=report)


# --------------------------------------------------------------------------------------
# validation and encoding


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


def _encode(frame: pd.DataFrame, qis: tuple[str, ...]) -> tuple[np.ndarray, list[int]]:
    """Integer codes per QI, shape (m, n), NA = 0, values 1..distinct; and cardinalities.

    ``pd.factorize`` gives every NA flavour (``pd.NA``, ``NaN``, ``None``, ``NaT``)
    the sentinel -1, so all of them become code 0 -- the same value as a
    suppressed cell, as the strict semantics require.
    """
    codes = np.empty((len(qis), len(frame)), dtype=np.int64)
    cards: list[int] = []
    for j, q in enumerate(qis):
        col_codes, uniques = pd.factorize(frame[q], use_na_sentinel=True)
        codes[j] = col_codes
        codes[j] += 1
        cards.append(len(uniques) + 1)
    return codes, cards


# --------------------------------------------------------------------------------------
# vectorized grouping


def _dense_key(
    columns: Sequence[np.ndarray], cards: Sequence[int], n: int
) -> tuple[np.ndarray, int]:
    """One int64 key per row, equal iff all the codes are equal; and an exclusive upper bound.

    Mixed radix (``key * card + code``); when the next product could overflow,
    the partial key is first re-factorized to dense codes, so any number of
    columns of any cardinality works.
    """
    key = np.zeros(n, dtype=np.int64)
    bound = 1
    for column, card in zip(columns, cards, strict=True):
        if bound * card > _KEY_LIMIT:
            uniq, key = np.unique(key, return_inverse=True)
            bound = len(uniq)
        key = key * card + column
        bound *= card
    return key, bound


def _radix(cards: Sequence[int]) -> np.ndarray | None:
    """Place values of an exact mixed-radix key over all QIs, or ``None`` if it would overflow.

    With an exact key, "the key with QI q set to NA" is ``key - code_q * radix[q]``:
    one vector operation instead of re-keying m-1 columns for every trial.
    """
    if np.prod([float(c) for c in cards]) > _KEY_LIMIT:  # float: no silent int overflow
        return None
    radix = np.ones(len(cards), dtype=np.int64)
    for j in range(len(cards) - 2, -1, -1):
        radix[j] = radix[j + 1] * cards[j + 1]
    return radix


def _row_keys(codes: np.ndarray, cards: Sequence[int], radix: np.ndarray | None) -> np.ndarray:
    """Exact key per column of ``codes`` (shape (m, n)): equal iff the code vectors are equal."""
    if radix is not None:
        return radix @ codes
    return _dense_key(list(codes), cards, codes.shape[1])[0]


def _group_totals(key: np.ndarray, bound: int, weights: np.ndarray) -> np.ndarray:
    """Per row, the total weight of the rows sharing its key."""
    if bound <= max(4 * len(key), 1 << 16):
        # Small key space: a direct bincount beats sorting.
        totals = np.bincount(key, weights=weights, minlength=bound)
        return totals[key].astype(np.int64)
    _, inverse = np.unique(key, return_inverse=True)
    totals = np.bincount(inverse, weights=weights)
    return totals[inverse].astype(np.int64)


def _compress(
    classes: np.ndarray, cards: Sequence[int], radix: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct columns of ``classes`` (shape (m, u)): index of each one's first
    occurrence, and for every input column the index of its distinct class."""
    _, first, inverse = np.unique(
        _row_keys(classes, cards, radix), return_index=True, return_inverse=True
    )
    return first, inverse


def _lookup(keys: np.ndarray, sizes: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``sizes`` of ``query`` in the sorted ``keys``; 0 where a query key is absent."""
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[pos] == query, sizes[pos], 0)


# --------------------------------------------------------------------------------------
# the engine on codes


def _anonymize_codes(codes: np.ndarray, cards: list[int], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-3 on encoded QIs: the final codes (shape (m, n), 0 = NA) and the rows kept."""
    n = codes.shape[1]
    if n == 0:
        return codes.copy(), np.zeros(0, dtype=bool)
    radix = _radix(cards)
    final, class_size = _suppress(codes, cards, k, radix)
    keep = class_size >= k
    final = _restore(codes, final, keep, cards, k, radix)

    # The invariant, recounted from scratch: a failure here is a bug, never data.
    _, sizes = np.unique(_row_keys(final[:, keep], cards, radix), return_counts=True)
    if sizes.size and sizes.min() < k:
        raise RuntimeError(f"internal error: anonymize left a class of {sizes.min()} < k={k}")
    return final, keep


def _suppress(
    codes: np.ndarray, cards: list[int], k: int, radix: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Step 1, greedy local suppression: final codes and each record's final class size."""
    first, record_class = _compress(codes, cards, radix)
    classes = codes[:, first]  # (m, u): one column per equivalence class
    weights = np.bincount(record_class).astype(np.int64)

    while True:
        at_risk = weights < k
        if not at_risk.any():
            break
        step = _best_step(classes, weights, at_risk, cards, k, radix)
        if step is None:  # every at-risk class is all-NA: nothing left to suppress
            break
        q, targets = step
        classes[q, targets] = 0
        first, inverse = _compress(classes, cards, radix)
        weights = np.bincount(inverse, weights=weights, minlength=len(first)).astype(np.int64)
        classes = classes[:, first]
        record_class = inverse[record_class]

    return classes[:, record_class], weights[record_class]


def _best_step(
    classes: np.ndarray,
    weights: np.ndarray,
    at_risk: np.ndarray,
    cards: list[int],
    k: int,
    radix: np.ndarray | None,
) -> tuple[int, np.ndarray] | None:
    """Choose the next suppression: a QI and the classes (indices) to suppress it in.

    Returns ``None`` when no QI has a non-NA value in any at-risk class.
    """
    m = classes.shape[0]
    full_key = None if radix is None else radix @ classes
    # Baseline of the escalation gain: at-risk classes are below k, so min(w, k) = w.
    baseline = int((weights[at_risk] * weights[at_risk]).sum())

    best_rescue: tuple[tuple[int, int, int], int, np.ndarray] | None = None
    best_escalation: tuple[tuple[int, int, int], int, np.ndarray] | None = None
    for q in range(m):
        column = classes[q]
        changes = at_risk & (column != 0)
        if not changes.any():
            continue
        # With q suppressed in every at-risk class, an at-risk class can only meet other
        # at-risk classes or safe classes whose q is already NA: nothing else can match.
        candidates = np.flatnonzero(at_risk | (column == 0))
        if full_key is not None and radix is not None:
            key = full_key[candidates] - column[candidates] * radix[q]
            bound = int(radix[0]) * cards[0]
        else:
            others = [j for j in range(m) if j != q]
            key, bound = _dense_key(
                [classes[j, candidates] for j in others],
                [cards[j] for j in others],
                len(candidates),
            )
        cand_weights = weights[candidates]
        totals = _group_totals(key, bound, cand_weights)
        risky = at_risk[candidates]
        rescued = risky & (totals >= k)
        rescued_records = int(cand_weights[rescued].sum())
        if rescued_records > 0:
            # Suppress only where it rescues; rescued classes already NA in q cost nothing.
            targets = candidates[rescued & (column[candidates] != 0)]
            cost = int(weights[targets].sum())
            score = (rescued_records, -cost, -q)
            if best_rescue is None or score > best_rescue[0]:
                best_rescue = (score, q, targets)
        elif best_rescue is None:
            gain = int((cand_weights[risky] * np.minimum(totals[risky], k)).sum()) - baseline
            targets = np.flatnonzero(changes)
            cost = int(weights[targets].sum())
            score = (gain, -cost, -q)
            if best_escalation is None or score > best_escalation[0]:
                best_escalation = (score, q, targets)

    chosen = best_rescue if best_rescue is not None else best_escalation
    if chosen is None:
        return None
    _, q, targets = chosen
    return q, targets


def _restore(
    codes: np.ndarray,
    final: np.ndarray,
    keep: np.ndarray,
    cards: list[int],
    k: int,
    radix: np.ndarray | None,
) -> np.ndarray:
    """Step 3: give suppressed cells of kept records their value back where k still holds.

    For QI ``q``, the *movers* are kept records whose ``q`` was suppressed. Movers
    with the same current class S and original value v form a group g whose
    target is T = S with ``q = v`` (T determines S and g, so each T is fed by one
    source only). A group moves if ``|T| + |g| >= k``; per source, eligible
    groups move all together if they are all of S, else largest first while S
    keeps >= k records.
    """
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        return final
    orig = codes[:, rows]
    cur = final[:, rows]
    n_kept = rows.size
    changed = True
    while changed:
        changed = False
        for q in range(codes.shape[0]):
            movers = np.flatnonzero((cur[q] == 0) & (orig[q] != 0))
            if movers.size == 0:
                continue
            restored = cur[:, movers]
            restored[q] = orig[q, movers]
            key = _row_keys(np.concatenate([cur, restored], axis=1), cards, radix)
            key_cur, key_target = key[:n_kept], key[n_kept:]
            class_keys, class_sizes = np.unique(key_cur, return_counts=True)

            targets, first, group_of, group_size = np.unique(
                key_target, return_index=True, return_inverse=True, return_counts=True
            )
            source = key_cur[movers[first]]
            source_size = _lookup(class_keys, class_sizes, source)
            target_size = _lookup(class_keys, class_sizes, targets)

            eligible = np.flatnonzero(target_size + group_size >= k)
            if eligible.size == 0:
                continue
            # Per source: larger groups first, then by target key (deterministic).
            eligible = eligible[
                np.lexsort((targets[eligible], -group_size[eligible], source[eligible]))
            ]
            src, size = source[eligible], group_size[eligible]
            starts = np.r_[True, src[1:] != src[:-1]]
            segment = np.cumsum(starts) - 1
            cumulative = np.cumsum(size)
            moved = cumulative - (cumulative - size)[starts][segment]  # running total per source
            segment_total = np.bincount(segment, weights=size).astype(np.int64)[segment]
            src_size = source_size[eligible]
            move = (src_size - moved >= k) | (segment_total == src_size)

            chosen = np.zeros(targets.size, dtype=bool)
            chosen[eligible[move]] = True
            back = movers[chosen[group_of]]
            if back.size:
                cur[q, back] = orig[q, back]
                changed = True

    final = final.copy()
    final[:, rows] = cur
    return final


# --------------------------------------------------------------------------------------
# accounting


def _report(
    frame: pd.DataFrame,
    qis: tuple[str, ...],
    k: int,
    group_col: str | None,
    *,
    released_codes: np.ndarray,
    cards: list[int],
    cells: np.ndarray,
    removed: np.ndarray,
) -> AnonymizationReport:
    n = len(frame)
    records_suppressed = int(removed.sum())
    cells_suppressed = {q: int(cells[j].sum()) for j, q in enumerate(qis)}

    records_by_group: dict[str, int] = {}
    cells_by_group: dict[str, dict[str, int]] = {}
    if group_col is not None and n:
        group_codes, groups = pd.factorize(frame[group_col], sort=True)
        g = len(groups)
        removed_per_group = np.bincount(group_codes[removed], minlength=g)
        cells_per_group = [np.bincount(group_codes[cells[j]], minlength=g) for j in range(len(qis))]
        for i, name in enumerate(str(v) for v in groups):
            records_by_group[name] = int(removed_per_group[i])
            cells_by_group[name] = {q: int(cells_per_group[j][i]) for j, q in enumerate(qis)}

    if released_codes.shape[1]:
        _, sizes = np.unique(_row_keys(released_codes, cards, None), return_counts=True)
        classes, min_class_size = int(sizes.size), int(sizes.min())
    else:
        classes, min_class_size = 0, 0

    return AnonymizationReport(
        k=k,
        quasi_identifiers=qis,
        records_in=n,
        records_out=n - records_suppressed,
        records_suppressed=records_suppressed,
        cells_suppressed=cells_suppressed,
        records_suppressed_by_group=records_by_group,
        cells_suppressed_by_group=cells_by_group,
        classes=classes,
        min_class_size=min_class_size,
    )
