"""pac-synth's rows, drawn so that no choice of ``--rows`` bends the table's marginals.

Why not ``synth.sample(rows)``: pac-synth's aggregate-seeded sampler builds its rows one at
a time, each greedily filled with every attribute whose noisy counts still allow it, and
stops at the target. The first rows it builds are the densest (about 39 attributes a row on
the demo's 7,840 records, against 2 in its last tenth), so a target below the number of
records keeps only those: on the demo, 500 rows gave sexual exploitation 89% TRUE against
31% in the truth. Asked for more than one pass gives, it starts again from the full counts
and builds dense rows again.

What is done instead, all post-processing of the fitted model (no budget is spent, no
record is read again):

1. one **full pass**: ``synth.sample()`` without a target, which builds rows until the
   noisy attribute counts are used up;
2. cut to pac-synth's own noisy record count (``get_dp_number_of_records()``, paid for in
   the fit): a full pass gives more rows than that (9,050 for 7,840 on the demo), and the
   extra ones are its last, fragments of two or three attributes that its 2-way counts
   would not let join a record. Kept, they dilute every share (27.6% against 32.3% for
   sexual exploitation on the demo); cut, the shares match (31.9%). The rows come back in
   the order pac-synth builds them (checked: the attributes per row fall steadily through
   the pass), so the first ``n`` rows are what ``synth.sample(n)`` would build;
3. as many further full passes as ``--rows`` needs, each cut the same way;
4. a uniform draw of ``--rows`` of the pooled rows, without replacement, with a NumPy
   generator seeded from :mod:`secrets` (pac-synth's own noise is not seedable either).

The cost is the full pass whatever ``--rows`` asks for: the command takes about 30 CPU
seconds on the demo's 7,840 records and 57 fields, against about 17 for the 500 dense rows
of ``sample(500)`` (docs/synthetic.md).
"""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np

from ctdc.errors import CtdcError
from ctdc.slugs import Slug


def _too_few(records: int, epsilon: float) -> CtdcError:
    """Nothing survived pac-synth's noise threshold: an empty table is never published."""
    return CtdcError(Slug.TOO_FEW_RECORDS, f"pac-synth kept no attribute value of the {records:,} "
                     f"staged records at epsilon {epsilon:g}: at this budget its noise threshold "
                     "is above every count (a few hundred records per value at epsilon 1), so "
                     "it samples no row; nothing was published, the attempt's budget is spent",
                     fix="stage more records, or synthesize with a larger --epsilon"
                     )  # fmt: skip


def full_pass(synth: Any, header: list[str] | None = None) -> tuple[list[str], np.ndarray]:
    """One full pass of the fitted ``synth``, cut to its noisy record count (module doc), as
    a 2-D array of text; its columns in the order of ``header`` when one is given."""
    raw = synth.sample()
    names, body = list(raw[0]), np.asarray(raw[1:], dtype=object).reshape(-1, len(raw[0]))
    body = body[: max(int(synth.get_dp_number_of_records()), 0)]
    if header is not None and names != header:
        body = body[:, [names.index(h) for h in header]]
        names = header
    return names, body


def sample_rows(synth: Any, rows: int | None, *, records: int, epsilon: float,
                rng: np.random.Generator | None = None) -> list[list[str]]:  # fmt: skip
    """``rows`` rows drawn uniformly from full passes of the fitted ``synth`` (header first,
    pac-synth's raw-data shape), or one whole pass when ``rows`` is None.

    ``records`` and ``epsilon`` only name the run in the ``too-few-records`` error raised
    when a pass has no row or only empty ones (pac-synth's threshold removed every value).
    """
    header, first = full_pass(synth)
    if not (first != "").any():
        raise _too_few(records, epsilon)
    passes, have = [first], len(first)
    while rows is not None and have < rows:
        _, more = full_pass(synth, header)
        if not len(more):
            raise _too_few(records, epsilon)
        passes.append(more)
        have += len(more)
    pool = np.concatenate(passes) if len(passes) > 1 else first
    if rows is not None:
        rng = rng or np.random.default_rng(secrets.randbits(128))
        pool = pool[np.sort(rng.choice(len(pool), size=rows, replace=False))]
    return [header, *pool.tolist()]
